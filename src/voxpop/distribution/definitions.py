"""A send as written (a YAML or JSON file, the send form, the API), checked field by field, and saved; contact
rules and triggers likewise. Every problem names its field path ("templates.de.subject: unexpected '}'")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.collection.answers import storable
from voxpop.customers.models import Sample
from voxpop.distribution.models import ContactRule, Send, Trigger
from voxpop.distribution.planning import EMBEDDABLE_KINDS, embedded_question
from voxpop.distribution.templates import template_problems
from voxpop.surveys.models import Survey
from voxpop.surveys.schemas import KEY, DocumentProblems, Language, format_location, read_mapping

EDITABLE = ("draft", "scheduled")
# Words the send pages use after /sends/ (and /api/v1/sends/): a send with one of these keys could not be reached.
RESERVED_KEYS = ("new", "rules", "triggers", "bounces")
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class DefinitionError(ValueError):
    """A definition with problems: each (field path, what to do)."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))
        self.problems = problems


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Audience(Strict):
    """Who is asked: a recorded sample (by name) or the contacts matching an attribute filter ({} is everyone)."""

    sample: Name | None = None
    filter: dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], list[str]] | None = None

    @model_validator(mode="after")
    def one_kind(self) -> Audience:
        if (self.sample is None) == (self.filter is None):
            raise ValueError("give either sample (a recorded sample's name) or filter (attribute: [values])")
        return self


class SendDefinition(Strict):
    key: Annotated[str, StringConstraints(pattern=KEY)]
    name: Name
    survey: Annotated[str, StringConstraints(pattern=KEY)]
    audience: Audience | None = None  # None: a trigger's send, whose audience comes from the events
    templates: dict[Language, dict[str, str]]
    default_language: Language = "en"
    embed_question: Annotated[str, StringConstraints(pattern=KEY)] | None = None
    max_reminders: int = Field(1, ge=0, le=3)
    reminder_gap_days: int = Field(3, ge=1, le=60)
    expires_after_days: int = Field(14, ge=1, le=365)
    scheduled_for: datetime | None = None

    @field_validator("key")
    @classmethod
    def not_reserved(cls, key: str) -> str:
        if key in RESERVED_KEYS:
            raise ValueError(f"{key!r} names a page of its own (/sends/{key}); choose another key")
        return key


class RuleDefinition(Strict):
    survey: Annotated[str, StringConstraints(pattern=KEY)] | None = None  # None: every survey
    max_invitations: int | None = Field(None, ge=1, le=100)
    per_days: int | None = Field(None, ge=1, le=3650)
    min_gap_days: int | None = Field(None, ge=1, le=3650)

    @model_validator(mode="after")
    def some_limit(self) -> RuleDefinition:
        if (self.max_invitations is None) != (self.per_days is None):
            raise ValueError("give max_invitations and per_days together (at most N invitations per D days)")
        if self.max_invitations is None and self.min_gap_days is None:
            raise ValueError("give a limit: max_invitations with per_days, min_gap_days, or both")
        return self


class TriggerDefinition(Strict):
    key: Annotated[str, StringConstraints(pattern=KEY)]
    send: Annotated[str, StringConstraints(pattern=KEY)]  # the send whose templates, reminders and expiry it uses
    event_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    delay_days: int = Field(0, ge=0, le=365)


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    def words(error: dict) -> str:
        if error["type"] == "extra_forbidden":
            return "is not a field here; check its spelling against docs/sends.md"
        if error["type"] == "string_pattern_mismatch":
            return "a key is lower-case letters, digits, - and _, starting with a letter"
        return error["msg"].removeprefix("Value error, ")
    return [(format_location(error["loc"]) or "definition", words(error)) for error in exc.errors()]


def unstorable(raw: object, path: str = "") -> list[tuple[str, str]]:
    """Every text in a definition the store cannot keep (a NUL byte, a lone surrogate), by its path."""
    if isinstance(raw, str):
        return [] if storable(raw) else [(path or "definition", "holds a character that cannot be stored (a NUL "
                                                                "byte or a broken one); remove it")]
    if isinstance(raw, dict):
        return [problem for key, value in raw.items()
                for problem in unstorable(key, path or "definition") + unstorable(value, f"{path}.{key}".lstrip("."))]
    if isinstance(raw, list):
        return [problem for number, value in enumerate(raw) for problem in unstorable(value, f"{path}[{number}]")]
    return []


def _validated(model, raw: dict):
    problems = unstorable(raw)
    if problems:
        raise DefinitionError(problems)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise DefinitionError(_problems(exc)) from None


def read_definition(text: str) -> dict:
    """The mapping a YAML or JSON send file holds."""
    try:
        return read_mapping(text, expected="a mapping with key, name, survey, audience and templates")
    except DocumentProblems as exc:
        raise DefinitionError(exc.problems) from None


def check_send(db_session: Session, raw: dict, *, editing: Send | None = None) -> tuple[SendDefinition, dict, int]:
    """The definition checked against the workspace: (definition, audience as stored, survey id)."""
    if unstorable(raw):
        raise DefinitionError(unstorable(raw))
    try:
        definition = SendDefinition.model_validate(raw)
    except ValidationError as exc:
        # the templates are checked too, so one round names every problem of the form
        problems = _problems(exc)
        if isinstance(raw.get("templates"), dict) and not any(path.startswith("templates") for path, _ in problems):
            problems += [(".".join(("templates", *place)), message)
                         for place, message in template_problems(raw["templates"])]
        raise DefinitionError(problems) from None
    problems: list[tuple[str, str]] = []
    survey = db_session.scalar(select(Survey).where(Survey.key == definition.survey))
    if survey is None:
        problems.append(("survey", f"there is no survey {definition.survey!r}"))
    taken = db_session.scalar(select(Send.id).where(Send.key == definition.key))
    if taken is not None and (editing is None or taken != editing.id):
        problems.append(("key", f"a send {definition.key!r} exists already; choose another key"))
    problems.extend((".".join(("templates", *place)), message)
                    for place, message in template_problems(definition.templates))
    if definition.templates and definition.default_language not in definition.templates:
        problems.append(("default_language", f"there is no {definition.default_language} template; the default "
                                             f"language must have one"))
    if survey is not None and definition.embed_question:
        question = embedded_question(db_session, survey=survey, key=definition.embed_question)
        if question is None:
            problems.append(("embed_question", f"the survey {survey.key} has no nps or csat question "
                                               f"{definition.embed_question!r} (only {'/'.join(EMBEDDABLE_KINDS)} "
                                               f"questions can be answered in the e-mail)"))
    audience: dict = {"trigger": True}
    if definition.audience is not None and definition.audience.sample is not None:
        sample_id = db_session.scalar(select(Sample.id).where(Sample.name == definition.audience.sample))
        if sample_id is None:
            problems.append(("audience.sample", f"there is no sample {definition.audience.sample!r}; draw it on the "
                                                f"contacts page first"))
        audience = {"sample_id": sample_id, "sample": definition.audience.sample}
    elif definition.audience is not None:
        audience = {"filter": definition.audience.filter}
    if definition.scheduled_for is not None and definition.scheduled_for.tzinfo is None:
        problems.append(("scheduled_for", "give the time with its zone, e.g. 2026-12-08T09:00:00+01:00"))
    if problems:
        raise DefinitionError(problems)
    return definition, audience, survey.id


def save_send(db_session: Session, raw: dict, *, actor_id: int | None, now: datetime, editing: Send | None = None,
              ) -> Send:
    """Create a send (or change a draft or scheduled one) from its definition."""
    if editing is not None and editing.status not in EDITABLE:
        raise DefinitionError([("status", f"the send is {editing.status}; only a draft or scheduled send can change")])
    definition, audience, survey_id = check_send(db_session, raw, editing=editing)
    send = editing or Send(created_by=actor_id, created_at=now, status="draft")
    send.key, send.name, send.survey_id, send.audience = definition.key, definition.name, survey_id, audience
    send.templates = {language: dict(template) for language, template in definition.templates.items()}
    send.default_language, send.embed_question = definition.default_language, definition.embed_question
    send.max_reminders, send.reminder_gap_days = definition.max_reminders, definition.reminder_gap_days
    send.expires_after_days, send.scheduled_for = definition.expires_after_days, definition.scheduled_for
    if "trigger" in audience:
        send.status = "sending"  # a trigger's send is in use as long as a trigger points at it
    elif send.scheduled_for is not None:
        send.status = "scheduled"
    elif send.status == "scheduled":
        send.status = "draft"
    if editing is None:
        db_session.add(send)
    db_session.flush()
    return send


def as_definition(db_session: Session, send: Send) -> dict:
    """The send as a definition (for the edit form, the JSON twin and `voxpop send show`)."""
    survey_key = db_session.scalar(select(Survey.key).where(Survey.id == send.survey_id))
    audience = send.audience or {}
    written: dict | None = None
    if "sample_id" in audience:
        written = {"sample": audience.get("sample") or db_session.scalar(
            select(Sample.name).where(Sample.id == audience["sample_id"]))}
    elif "filter" in audience:
        written = {"filter": audience["filter"]}
    return {"key": send.key, "name": send.name, "survey": survey_key, "audience": written,
            "templates": send.templates, "default_language": send.default_language,
            "embed_question": send.embed_question, "max_reminders": send.max_reminders,
            "reminder_gap_days": send.reminder_gap_days, "expires_after_days": send.expires_after_days,
            "scheduled_for": send.scheduled_for.isoformat() if send.scheduled_for else None}


def save_rule(db_session: Session, raw: dict, *, now: datetime) -> ContactRule:
    """Add a contact-frequency rule."""
    definition = _validated(RuleDefinition, raw)
    survey_id = None
    if definition.survey:
        survey_id = db_session.scalar(select(Survey.id).where(Survey.key == definition.survey))
        if survey_id is None:
            raise DefinitionError([("survey", f"there is no survey {definition.survey!r}")])
    rule = ContactRule(survey_id=survey_id, max_invitations=definition.max_invitations, per_days=definition.per_days,
                       min_gap_days=definition.min_gap_days, active=True, created_at=now)
    db_session.add(rule)
    db_session.flush()
    return rule


def save_trigger(db_session: Session, raw: dict, *, now: datetime) -> Trigger:
    """Add a trigger: invite with a send's templates `delay_days` after each event of a name."""
    definition = _validated(TriggerDefinition, raw)
    problems = []
    send = db_session.scalar(select(Send).where(Send.key == definition.send))
    if send is None:
        problems.append(("send", f"there is no send {definition.send!r}; create one without an audience first"))
    elif "trigger" not in (send.audience or {}):
        problems.append(("send", f"the send {send.key!r} has an audience; a trigger needs a send without one"))
    if db_session.scalar(select(Trigger.id).where(Trigger.key == definition.key)) is not None:
        problems.append(("key", f"a trigger {definition.key!r} exists already"))
    if problems:
        raise DefinitionError(problems)
    trigger = Trigger(key=definition.key, survey_id=send.survey_id, event_name=" ".join(definition.event_name.split()),
                      delay_days=definition.delay_days, send_id=send.id, active=True, created_at=now)
    db_session.add(trigger)
    db_session.flush()
    return trigger
