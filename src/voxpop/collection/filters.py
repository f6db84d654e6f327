"""Which responses a staff page looks at: a date range or a preset period, attribute values, and answers to
another question ("detractors only", "bought boots").

One filter serves every page and its JSON twin, and it is written as URL query parameters so that a view can
be shared as a link:

    since=2026-07-01&until=2026-09-30      days in the workspace's time zone, both included
    period=last-quarter                    a preset instead of since/until (see PERIODS)
    attribute=segment=SMB                  repeat: values of one attribute are alternatives, attributes all hold
    answer=nps:detractors                  repeat: tests on one question are alternatives, questions all hold

An answer test is `question:test`, the test one of: a score `7`, a range `0-6`, an NPS group (`detractors`,
`passives`, `promoters`, by the standard cut points), `answered`, or a choice's value (`boots`).

The filter becomes SQL conditions on `responses` (an IN (...) of the responses each answer test keeps), so the
database selects the responses and every figure is counted where the data are; nothing here reads rows into
Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, Select, or_, select

from voxpop.analysis.periods import PERIODS, DaysError, days, within_days
from voxpop.collection.models import Answer, AttributeSetValue, Response
from voxpop.core.counts import CUTS
from voxpop.surveys.models import Question, Survey, SurveyVersion

MAX_TESTS = 20  # attribute values and answer tests in one filter: each is a subquery
MAX_VALUE = 200
QUESTION_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
RANGE = re.compile(r"^(-?\d{1,3})\s*[-–]\s*(-?\d{1,3})$")
# The NPS groups by the standard cut points (Reichheld 2003), as a filter names them.
NPS_GROUPS = {
    "detractors": (CUTS.low, CUTS.detractor_max),
    "passives": (CUTS.detractor_max + 1, CUTS.promoter_min - 1),
    "promoters": (CUTS.promoter_min, CUTS.high),
}


class FilterError(ValueError):
    """A filter that cannot be applied, said so the user can fix it; `parameter` names the query parameter it is
    about (since, until, period, attribute, answer, or a page's own), so each interface can point at its field."""

    def __init__(self, message: str, *, parameter: str | None = None):
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class AnswerTest:
    """Responses whose answer to `question` is in [low, high] (a score), is one of `choices`, or exists at all
    (neither given)."""

    question: str
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()
    text: str = ""  # the test as it was written, for the URL and the page

    def condition(self) -> ColumnElement[bool]:
        """The test on one answer row (a lone number also matches a choice written as that number)."""
        tests = []
        if self.low is not None:
            tests.append(Answer.score.between(self.low, self.high))
        if self.choices:
            tests.append(Answer.choice.in_(self.choices))
        return or_(*tests) if tests else or_(Answer.score.is_not(None), Answer.choice.is_not(None),
                                              Answer.text.is_not(None))


@dataclass(frozen=True)
class ResponseFilter:
    """Responses narrowed by days (`until` included, in the workspace's time zone), attribute values and answers.
    `period` is the preset `since`/`until` came from, if any."""

    since: date | None = None
    until: date | None = None
    period: str | None = None
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    answers: tuple[tuple[str, tuple[AnswerTest, ...]], ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_empty(self) -> bool:
        return not (self.since or self.until or self.attributes or self.answers)

    def query(self) -> list[tuple[str, str]]:
        """The filter as query parameters, for links that keep it."""
        pairs: list[tuple[str, str]] = []
        if self.period:
            pairs.append(("period", self.period))
        else:
            pairs += [(name, day.isoformat()) for name, day in (("since", self.since), ("until", self.until)) if day]
        pairs += [("attribute", f"{name}={value}") for name, values in self.attributes for value in values]
        pairs += [("answer", f"{question}:{test.text}") for question, tests in self.answers for test in tests]
        return pairs

    def describe(self) -> list[str]:
        """Each part of the filter in words, for a page's summary of what it shows."""
        parts = []
        if self.period:
            parts.append(f"{PERIODS[self.period][0]} ({self.since} to {self.until})")
        elif self.since and self.until:
            parts.append(f"{self.since} to {self.until}")
        elif self.since:
            parts.append(f"from {self.since}")
        elif self.until:
            parts.append(f"until {self.until}")
        parts += [f"{name} is {' or '.join(values)}" for name, values in self.attributes]
        parts += [f"{question} is {' or '.join(test.text for test in tests)}" for question, tests in self.answers]
        return parts

    def with_days(self, since: date | None, until: date | None) -> ResponseFilter:
        """The same filter over other days (a comparison's previous period)."""
        return ResponseFilter(since, until, None, self.attributes, self.answers)


def parse_response_filter(*, today: date, since: str | None = None, until: str | None = None,
                          period: str | None = None, attribute: Iterable[str] = (),
                          answer: Iterable[str] = ()) -> ResponseFilter:
    """The filter from query-string values as a form sends them (an empty field means no filter). `today` is the
    workspace's date, from which a preset period is counted."""
    try:
        first, last, period = days(today=today, since=since, until=until, period=period)
    except DaysError as exc:
        raise FilterError(str(exc), parameter=exc.parameter) from None
    attributes: dict[str, list[str]] = {}
    for text in attribute:
        if text.strip():
            name, value = parse_attribute(text)
            attributes.setdefault(name, [])
            if value not in attributes[name]:
                attributes[name].append(value)
    answers: dict[str, list[AnswerTest]] = {}
    for text in answer:
        if text.strip():
            test = _answer_test(text)
            if test not in answers.setdefault(test.question, []):
                answers[test.question].append(test)
    if sum(map(len, attributes.values())) + sum(map(len, answers.values())) > MAX_TESTS:
        raise FilterError(f"a filter may hold at most {MAX_TESTS} attribute values and answer tests; remove some",
                          parameter="attribute")
    return ResponseFilter(first, last, period, tuple((name, tuple(values)) for name, values in attributes.items()),
                          tuple((question, tuple(tests)) for question, tests in answers.items()))


def response_conditions(response_filter: ResponseFilter, *, zone: str,
                        after_response_id: int = 0) -> list[ColumnElement[bool]]:
    """The filter as conditions on `responses` (Response), to add to any query that reads responses. A query that
    reads only responses above an id (the case rules' worker reading new ones) passes it, so each answer test
    reads only their answers instead of every answer that passes."""
    conditions: list[ColumnElement[bool]] = within_days(Response.submitted_at, response_filter.since,
                                                        response_filter.until, zone)
    for name, values in response_filter.attributes:
        conditions.append(Response.attribute_set_id.in_(select(AttributeSetValue.set_id).where(
            AttributeSetValue.name == name, AttributeSetValue.value.in_(values))))
    for question, tests in response_filter.answers:
        # The question by key: a response's answers are to its own version's questions, so the key names the
        # question of whichever version the response was given on. Not correlated with the outer query: the
        # database reads the answers that pass once (SQLite and PostgreSQL both hash them), where an EXISTS per
        # response let SQLite scan every passing answer for each response (minutes on the demo workspace), and
        # a query that already reads answers (a comment's) cannot lend them to the test.
        kept = (select(Answer.response_id).join(Question, Question.id == Answer.question_id)
                .where(Question.key == question, or_(*(test.condition() for test in tests))))
        if after_response_id:
            kept = kept.where(Answer.response_id > after_response_id)
        conditions.append(Response.id.in_(kept))
    return conditions


def matching_responses(response_filter: ResponseFilter, *, zone: str, survey: str | None = None) -> Select:
    """SELECT of the ids of the responses the filter keeps (of one survey, by key), for `IN (...)` or a join."""
    statement = select(Response.id).where(*response_conditions(response_filter, zone=zone))
    if survey is not None:
        statement = statement.where(Response.survey_id == select(Survey.id).where(Survey.key == survey)
                                    .scalar_subquery())
    return statement


def unknown_questions(response_filter: ResponseFilter, *, survey_id: int, db_session) -> list[str]:
    """The answer tests' question keys that no version of the survey has, so a page can say so instead of
    showing nothing."""
    keys = {question for question, _ in response_filter.answers}
    if not keys:
        return []
    known = set(db_session.scalars(select(Question.key).join(SurveyVersion, SurveyVersion.id == Question.version_id)
                                   .where(SurveyVersion.survey_id == survey_id, Question.key.in_(keys))))
    return sorted(keys - known)


def parse_attribute(text: str) -> tuple[str, str]:
    """name=value, as an attribute filter is written."""
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise FilterError(f"an attribute filter is written name=value, e.g. channel=web, not {text!r}",
                          parameter="attribute")
    if len(value) > MAX_VALUE:
        raise FilterError(f"an attribute value is at most {MAX_VALUE} characters long", parameter="attribute")
    return name.strip(), value.strip()


def _answer_test(text: str) -> AnswerTest:
    question, colon, test = text.partition(":")
    question, test = question.strip(), test.strip()
    if not colon or not question or not test:
        raise FilterError(f"an answer filter is written question:test, e.g. nps:detractors, nps:0-6 or "
                          f"bought:boots, not {text!r}", parameter="answer")
    if not QUESTION_KEY.match(question):
        raise FilterError(f"{question!r} is not a question key (lower-case letters, digits, - and _)",
                          parameter="answer")
    if len(test) > MAX_VALUE:
        raise FilterError(f"an answer test is at most {MAX_VALUE} characters long", parameter="answer")
    if test.lower() in NPS_GROUPS:
        low, high = NPS_GROUPS[test.lower()]
        return AnswerTest(question, low, high, text=test.lower())
    if test.lower() == "answered":
        return AnswerTest(question, text="answered")
    if match := RANGE.match(test):
        low, high = int(match.group(1)), int(match.group(2))
        if low > high:
            raise FilterError(f"the range {test!r} runs backwards; write it low-high, e.g. {high}-{low}",
                              parameter="answer")
        return AnswerTest(question, low, high, text=f"{low}-{high}")
    if test.lstrip("-").isdigit() and len(test) <= 4:
        return AnswerTest(question, int(test), int(test), (test,), text=test)
    return AnswerTest(question, choices=(test,), text=test)
