"""The response filter as query parameters of a page or its JSON twin, declared once so every route that filters
takes the same names, with the same descriptions in the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, NamedTuple
from zoneinfo import ZoneInfo

from fastapi import Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.analysis.periods import PERIOD_HELP, PERIODS, SINCE_HELP, UNTIL_HELP
from voxpop.collection.filters import NPS_GROUPS, FilterError, ResponseFilter, parse_response_filter
from voxpop.collection.models import AttributeSetValue
from voxpop.surveys.models import Survey, SurveyVersion
from voxpop.surveys.schemas import SurveyDefinition, text_in
from voxpop.web.auth import SettingsDep

MAX_CHOICES = 50  # values offered per attribute in a filter bar; more are typed as name=value


class FilterQuery(NamedTuple):
    """The filter's query values as sent, before parsing (a page shows them back in its form)."""

    since: str | None
    until: str | None
    period: str | None
    attribute: list[str]
    answer: list[str]
    zone: str

    def parse(self) -> ResponseFilter:
        """The filter, counted from today in the workspace's zone; raises FilterError with a sentence."""
        today = datetime.now(ZoneInfo(self.zone)).date()
        return parse_response_filter(today=today, since=self.since, until=self.until, period=self.period,
                                     attribute=self.attribute, answer=self.answer)


def filter_query(
    settings: SettingsDep,
    since: Annotated[str | None, Query(max_length=32, description=SINCE_HELP)] = None,
    until: Annotated[str | None, Query(max_length=32, description=UNTIL_HELP)] = None,
    period: Annotated[str | None, Query(max_length=32, description=PERIOD_HELP)] = None,
    attribute: Annotated[list[str] | None, Query(description="name=value, e.g. segment=SMB. Repeat: values of one "
                                                              "attribute are alternatives, attributes all hold.")] = None,
    answer: Annotated[list[str] | None, Query(description="question:test, the test a score (7), a range (0-6), an NPS "
                                                           "group (detractors, passives, promoters), answered, or a "
                                                           "choice's value. Repeat: tests of one question are "
                                                           "alternatives, questions all hold.")] = None,
) -> FilterQuery:
    return FilterQuery(since, until, period, attribute or [], answer or [], settings.timezone)


FilterDep = Annotated[FilterQuery, Depends(filter_query)]


class AttributeField(NamedTuple):
    name: str
    options: list[tuple[str, str]]  # (query value name=value, label)
    selected: str  # the first chosen value's query value; further ones travel as hidden fields
    more: list[str]


class FilterForm(NamedTuple):
    """What the filter bar's fields show (components.html, response_filter_fields); `answers` are the usual answer
    tests of one survey's questions (query value, label), offered in a select beside the typed test."""

    query: FilterQuery
    periods: list[tuple[str, str]]
    attributes: list[AttributeField]
    answers: list[tuple[str, str]] = []


def attribute_choices(db_session: Session) -> dict[str, list[str]]:
    """Each attribute's values in the store, for a filter bar's selects (at most MAX_CHOICES per attribute)."""
    choices: dict[str, list[str]] = {}
    for name, value in db_session.execute(select(AttributeSetValue.name, AttributeSetValue.value).distinct()
                                          .order_by(AttributeSetValue.name, AttributeSetValue.value)):
        values = choices.setdefault(name, [])
        if len(values) < MAX_CHOICES:
            values.append(value)
    return choices


def answer_choices(definition: SurveyDefinition) -> list[tuple[str, str]]:
    """The answer tests a CX lead most often wants for a survey's questions: NPS groups, satisfied and dissatisfied
    CSAT, each option of a choice question ("What did you buy?: Boots")."""
    language = definition.languages[0]
    choices: list[tuple[str, str]] = []
    for question in definition.questions:
        asked = text_in(question.text, language, language)
        short = asked if len(asked) <= 60 else asked[:57].rstrip() + "…"
        if question.kind == "nps":
            choices += [(f"{question.key}:{group}", f"NPS ({question.key}): {group}") for group in NPS_GROUPS]
        elif question.kind == "csat":
            choices += [(f"{question.key}:4-5", f"CSAT ({question.key}): satisfied (4–5)"),
                        (f"{question.key}:1-2", f"CSAT ({question.key}): dissatisfied (1–2)")]
        elif question.kind in ("single_choice", "multiple_choice"):
            choices += [(f"{question.key}:{option.value}",
                         f"{short}: {text_in(option.label, language, language) or option.value}")
                        for option in question.options or []]
    return choices


def filter_form(query: FilterQuery, db_session: Session, *, survey: str | None = None) -> FilterForm:
    """The filter bar's fields for this query: the presets, a select per attribute with its values (on one survey's
    pages, the attributes its file declares, when it declares any), and, there, a select of its usual answer tests."""
    definition = None
    if survey is not None:
        stored = db_session.scalar(select(SurveyVersion.definition).join(Survey, Survey.id == SurveyVersion.survey_id)
                                   .where(Survey.key == survey).order_by(SurveyVersion.number.desc()).limit(1))
        definition = SurveyDefinition.model_validate(stored) if stored is not None else None
    declared = set(definition.attributes) if definition is not None and definition.attributes else None
    fields = []
    for name, values in attribute_choices(db_session).items():
        chosen = [text for text in query.attribute if text.partition("=")[0].strip() == name]
        if declared is not None and name not in declared and not chosen:
            continue
        options = [(f"{name}={value}", value) for value in values]
        options += [(text, text.partition("=")[2]) for text in chosen if text not in dict(options)]
        fields.append(AttributeField(name, options, chosen[0] if chosen else "", chosen[1:]))
    known = {field.name for field in fields}
    # An attribute the store has no value for yet still shows, so the form never drops a filter silently.
    for text in query.attribute:
        name = text.partition("=")[0].strip()
        if name not in known:
            fields.append(AttributeField(name, [(text, text.partition("=")[2])], text, []))
            known.add(name)
    answers = answer_choices(definition) if definition is not None else []
    return FilterForm(query, [(key, label) for key, (label, _) in PERIODS.items()], fields, answers)


def error_field(error: FilterError, form: FilterForm) -> str:
    """The id of the filter bar's field an error is about, so the error summary links to it
    (components.response_filter_fields): an attribute's at its first select, an answer test's at the first typed
    test, else at the empty one; other fields are named as their parameter, and an error of no parameter is the
    period's."""
    offered = {value for value, _ in form.answers}
    typed = [test for test in form.query.answer if test and test not in offered]
    fields = {"attribute": "attribute-1", "answer": "answer-1" if typed else "answer-new"}
    return fields.get(error.parameter or "", error.parameter or "period")
