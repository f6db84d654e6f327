"""What the compare, crosstab and drivers pages count: a survey's questions as its latest version states them, and
its answers' sufficient statistics per group, counted by the database over the responses a filter keeps. Each
count is one grouped query; only a row per group reaches Python."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, case, func, literal, select
from sqlalchemy.orm import aliased

from voxpop.collection.models import Answer, AttributeSetValue, Response
from voxpop.core.counts import CES2_AGREE_MIN, CUTS
from voxpop.results.questions import QuestionVariant, survey_questions
from voxpop.results.service import UnknownSurvey
from voxpop.surveys.models import Question, Survey
from voxpop.surveys.schemas import CHOICE_KINDS, OTHER, SCORED_KINDS, text_in

OTHER_LABEL = "Other"
NPS_GROUP_ORDER = ("detractors", "passives", "promoters")


@dataclass(frozen=True)
class SurveyQuestion:
    """A question the survey's current version asks, with what the analysis pages need; `ids` are its rows in every
    version that asked it on the same kind and scale (results.questions), so unlike scales are never pooled."""

    key: str
    kind: str
    text: str
    ids: tuple[int, ...]
    variant: QuestionVariant  # as the results page knows it
    bounds: tuple[int, int] | None = None  # a scored question's scale
    ces_version: str | None = None
    options: tuple[tuple[str, str], ...] = ()  # (value, label) of a choice question, Other last

    @property
    def scored(self) -> bool:
        return self.kind in SCORED_KINDS

    @property
    def choice(self) -> bool:
        return self.kind in CHOICE_KINDS

    @property
    def listed(self) -> tuple[str, ...]:
        """The option values the question lists; any other choice an answer holds counts as Other."""
        return tuple(value for value, _ in self.options if value != OTHER)


@dataclass(frozen=True)
class SurveyCatalogue:
    survey_id: int
    key: str
    title: str
    questions: tuple[SurveyQuestion, ...]
    attributes: tuple[str, ...]  # found on the survey's responses

    def question(self, key: str) -> SurveyQuestion | None:
        return next((question for question in self.questions if question.key == key), None)

    @property
    def scored(self) -> list[SurveyQuestion]:
        return [question for question in self.questions if question.scored]

    @property
    def choices(self) -> list[SurveyQuestion]:
        return [question for question in self.questions if question.choice]


def survey_catalogue(connection: Connection, *, survey_key: str) -> SurveyCatalogue:
    """The questions the survey asks now (labels in its default language) and the attributes its responses carry;
    an unknown survey raises UnknownSurvey."""
    survey = connection.execute(select(Survey.id, Survey.title, Survey.default_language)
                                .where(Survey.key == survey_key)).first()
    if survey is None:
        raise UnknownSurvey(f"There is no survey {survey_key!r}; pick one from the survey list.")
    language = survey.default_language
    questions = []
    for variant in survey_questions(connection, survey_id=survey.id):
        if variant.retired:
            continue
        options = tuple(variant.options(language))
        if variant.kind in CHOICE_KINDS:
            other = variant.spec.get("other")
            options += ((OTHER, text_in(other, language, "en") if isinstance(other, str | dict) else OTHER_LABEL),)
        bounds = (variant.scale_min, variant.scale_max) if variant.scale_min is not None else None
        questions.append(SurveyQuestion(key=variant.key, kind=variant.kind, text=variant.text(language),
                                        ids=tuple(variant.ids), variant=variant, bounds=bounds, ces_version=variant.ces_version,
                                        options=options))
    attributes = connection.scalars(
        select(AttributeSetValue.name).distinct().order_by(AttributeSetValue.name)
        .where(AttributeSetValue.set_id.in_(select(Response.attribute_set_id).where(Response.survey_id == survey.id)))
    ).all()
    return SurveyCatalogue(survey.id, survey_key, survey.title, tuple(questions), tuple(attributes))


@dataclass(frozen=True)
class Grouping:
    """How responses split into groups: by the value of an attribute, or by the choice answered to a choice
    question (a multiple-choice response is in each group it chose)."""

    attribute: str | None = None
    question: SurveyQuestion | None = None


def _grouped(statement: Select, grouping: Grouping | None) -> tuple[Select, list[ColumnElement]]:
    """The statement (over answers joined to responses) with the grouping's joins, and its group column."""
    if grouping is None:
        return statement, []
    if grouping.attribute is not None:
        value = aliased(AttributeSetValue)
        statement = statement.outerjoin(value, and_(value.set_id == Response.attribute_set_id,
                                                    value.name == grouping.attribute))
        return statement, [value.value.label("group")]
    other_answer = aliased(Answer)
    statement = statement.join(other_answer, and_(other_answer.response_id == Answer.response_id,
                                                  other_answer.question_id.in_(grouping.question.ids),
                                                  other_answer.choice.is_not(None)))
    return statement, [collapsed_choice(other_answer, grouping.question).label("group")]


def collapsed_choice(answer, question: SurveyQuestion) -> ColumnElement:
    """An answer's choice, with every value the question does not list counted as Other."""
    return case((answer.choice.in_(question.listed), answer.choice), else_=literal(OTHER))


def _base(responses: Select) -> Select:
    return (select().select_from(Answer).join(Response, Response.id == Answer.response_id)
            .join(Question, Question.id == Answer.question_id)
            .where(Answer.response_id.in_(responses)))


def scored_counts(connection: Connection, *, questions: list[SurveyQuestion], responses: Select,
                  grouping: Grouping | None = None) -> list[dict[str, Any]]:
    """Per scored question (and group): its kind and scale, and the rollups' counts (n, Σx, Σx², promoters,
    detractors, top two boxes, CES 2.0 agree) by the standard rules of core.counts."""
    if not questions:
        return []
    score = Answer.score
    statement, group = _grouped(_base(responses), grouping)
    variant = [Question.key.label("question"), Question.kind, Question.scale_min, Question.scale_max,
               Question.ces_version]
    statement = statement.add_columns(
        *variant, *group, func.count(score).label("n"), func.sum(score).label("total"),
        func.sum(score * score).label("total_squares"),
        func.sum(case((score >= CUTS.promoter_min, 1), else_=0)).label("promoters"),
        func.sum(case((score <= CUTS.detractor_max, 1), else_=0)).label("detractors"),
        func.sum(case((score >= Question.scale_max - 1, 1), else_=0)).label("top_two"),
        func.sum(case((score >= CES2_AGREE_MIN, 1), else_=0)).label("agree"),
    ).where(Answer.question_id.in_([i for question in questions for i in question.ids]),
            score.is_not(None)).group_by(*variant, *group)
    return [{**record, "n": int(record["n"]), "total": float(record["total"] or 0),
             "total_squares": float(record["total_squares"] or 0),
             **{name: int(record[name] or 0) for name in ("promoters", "detractors", "top_two", "agree")}}
            for record in connection.execute(statement).mappings()]


def row_values(question: SurveyQuestion, *, by: str) -> ColumnElement:
    """What a table's row is for an answer: its (collapsed) choice, its score, or its NPS group."""
    if question.choice:
        return collapsed_choice(Answer, question)
    if by == "group":
        return case((Answer.score <= CUTS.detractor_max, literal("detractors")),
                    (Answer.score < CUTS.promoter_min, literal("passives")), else_=literal("promoters"))
    return Answer.score


def value_counts(connection: Connection, *, question: SurveyQuestion, responses: Select, by: str = "score",
                 grouping: Grouping | None = None) -> tuple[dict[tuple[Any, Any], int], dict[Any, int]]:
    """How many responses gave each value of `question` (a choice, a score or an NPS group, see row_values) per
    group, and how many answered it per group: ({(value, group): responses}, {group: responses})."""
    value = row_values(question, by=by).label("value")
    answered = and_(Answer.question_id.in_(question.ids),
                    Answer.score.is_not(None) if question.scored else Answer.choice.is_not(None))
    statement, group = _grouped(_base(responses), grouping)
    counted = (statement.add_columns(value, *group, func.count(func.distinct(Answer.response_id)).label("count"))
               .where(answered).group_by(value, *group))
    statement, group = _grouped(_base(responses), grouping)
    bases = (statement.add_columns(*group, func.count(func.distinct(Answer.response_id)).label("count"))
             .where(answered))
    if group:
        bases = bases.group_by(*group)
    counts = {(row.value, row.group if group else None): int(row.count) for row in connection.execute(counted)}
    answering = {(row.group if group else None): int(row.count) for row in connection.execute(bases)}
    return counts, answering
