"""Surveys: read definition files, create or update surveys as new versions, change their status."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from voxpop.accounts.models import User
from voxpop.store.base import utcnow
from voxpop.surveys.models import (
    SURVEY_STATUSES,
    AttributeDefinition,
    Question,
    Survey,
    SurveyVersion,
)
from voxpop.surveys.schemas import (
    DocumentProblems,
    SurveyDefinition,
    cross_check,
    format_location,
    read_mapping,
    text_in,
)


class SurveyFileError(ValueError):
    """A survey file that cannot be applied; `problems` holds (path, what is wrong) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {path}: {message}" for path, message in problems)
        super().__init__(f"{source} is not a valid survey definition:\n{lines}")


def parse_definition(text: str, *, source: str) -> SurveyDefinition:
    """Parse and validate a YAML or JSON survey definition (JSON is valid YAML)."""
    try:
        raw = read_mapping(text, expected="a mapping with key, title and questions")
    except DocumentProblems as exc:
        raise SurveyFileError(source, exc.problems) from None
    try:
        definition = SurveyDefinition.model_validate(raw)
    except ValidationError as exc:
        problems = [(format_location(error["loc"]), error["msg"].removeprefix("Value error, ")) for error in exc.errors()]
        raise SurveyFileError(source, problems) from None
    problems = cross_check(definition)
    if problems:
        raise SurveyFileError(source, problems)
    return definition


# Characters a YAML reader refuses or reads as a line break (C1 controls, U+2028/9, BOM, non-characters, lone
# surrogates); `json.dumps(ensure_ascii=False)` writes them raw, so they are written as \\u escapes instead.
_NOT_YAML_SAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def dump_definition(definition: SurveyDefinition, *, format: Literal["yaml", "json"]) -> str:
    """The definition as the text of a survey file, which `parse_definition` reads back to an equal definition."""
    content = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    if format == "json":
        text = json.dumps(content, ensure_ascii=False, indent=2)
        return _NOT_YAML_SAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text) + "\n"
    return yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=100)


def definition_of(version: SurveyVersion, *, status: str | None = None) -> SurveyDefinition:
    """The definition a version was saved with; `status` replaces the saved one, as a status change makes no version."""
    definition = SurveyDefinition.model_validate(version.definition)
    return definition if status is None else definition.model_copy(update={"status": status})


def read_definition(path: Path) -> SurveyDefinition:
    """Read a survey definition file, with clear errors for a missing or undecodable file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SurveyFileError(str(path), [("(file)", "no such file")]) from None
    except UnicodeDecodeError as exc:
        raise SurveyFileError(str(path), [("(file)", f"not UTF-8 text (byte {exc.start}); save it as UTF-8")]) from None
    return parse_definition(text, source=str(path))


@dataclass(frozen=True)
class ApplyResult:
    survey: Survey
    version: SurveyVersion
    created: bool
    new_version: bool


def fingerprint(definition: SurveyDefinition) -> str:
    """A hash of what the questions mean; status changes alone do not make a new version."""
    content = definition.model_dump(mode="json", exclude={"status"}, by_alias=True)
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def apply(*, db_session: Session, definition: SurveyDefinition) -> ApplyResult:
    """Create the survey, or update it; changed questions become a new version, old answers keep theirs."""
    survey = get_by_key(db_session=db_session, key=definition.key)
    created = survey is None
    language = definition.languages[0]
    if survey is None:
        survey = Survey(key=definition.key)
        db_session.add(survey)
    survey.title = text_in(definition.title, language, language)
    survey.status = definition.status
    survey.default_language = language
    survey.languages = list(definition.languages)
    survey.updated_at = utcnow()
    for name in definition.attributes:
        if db_session.scalar(select(AttributeDefinition.id).where(AttributeDefinition.name == name)) is None:
            db_session.add(AttributeDefinition(name=name, label=name.replace("_", " ").capitalize()))
    db_session.flush()

    current = survey.current_version
    digest = fingerprint(definition)
    if current is not None and current.fingerprint == digest:
        return ApplyResult(survey, current, created, False)  # versions never change once written
    version = SurveyVersion(
        survey_id=survey.id,
        number=(current.number + 1) if current else 1,
        definition=definition.model_dump(mode="json", by_alias=True, exclude_none=True),
        fingerprint=digest,
    )
    for position, question in enumerate(definition.questions):
        low, high = question.bounds or (None, None)
        version.questions.append(
            Question(
                key=question.key,
                position=position,
                kind=question.kind,
                required=question.required,
                scale_min=low,
                scale_max=high,
                ces_version=question.ces_version,
                spec=question.model_dump(mode="json", by_alias=True, exclude_none=True),
            )
        )
    db_session.add(version)
    db_session.flush()
    db_session.refresh(survey, ["versions"])
    return ApplyResult(survey, version, created, True)


def get_by_key(*, db_session: Session, key: str) -> Survey | None:
    """The survey with this key, if any."""
    return db_session.scalar(select(Survey).where(Survey.key == key))


def set_status(*, db_session: Session, survey: Survey, status: str) -> None:
    """Open, close or return a survey to draft."""
    if status not in SURVEY_STATUSES:
        raise ValueError(f"unknown status {status!r}; choose draft, live or closed")
    survey.status = status
    survey.updated_at = utcnow()


def set_owner(*, db_session: Session, survey: Survey, owner: User | None) -> None:
    """Make a staff member the survey's owner, or leave it without one."""
    survey.owner_id = owner.id if owner is not None else None
    survey.updated_at = utcnow()


def survey_owners(*, db_session: Session | Connection) -> list[tuple[str, str]]:
    """(e-mail, name) of every active staff member, who may own a survey; the name is the e-mail when unset."""
    shown = func.coalesce(func.nullif(User.name, ""), User.email)
    return [(email, name or email) for email, name in db_session.execute(
        select(User.email, User.name).where(User.is_active).order_by(func.lower(shown)))]
