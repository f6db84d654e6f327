"""A survey's results, question by question, for the responses a filter keeps: the page and
GET /api/v1/surveys/{key}/results both show what `survey_results` returns.

The database counts: one grouped query over the answers of the kept responses gives every question's distribution
(per score, per choice); the core turns the counts into estimates, by the same functions as the dashboard
(dashboard.metrics.estimates_from_counts), so a figure here equals the dashboard's and `voxpop metrics`'s for the
same answers. Only one row per question and score or choice reaches Python.
"""

from __future__ import annotations

import shlex
from collections import defaultdict
from datetime import date

from sqlalchemy import Connection, distinct, func, select
from sqlalchemy.orm import Session

from voxpop.analysis.engine import Row
from voxpop.collection.filters import PERIODS, ResponseFilter
from voxpop.collection.models import Answer, Response
from voxpop.core.counts import COUNTS, CUTS, score_counts
from voxpop.core.estimates import proportion
from voxpop.dashboard.metrics import estimates_from_counts
from voxpop.imports.merges import merged_choice_counts, survey_merges
from voxpop.results.comments import text_results
from voxpop.results.kept import Kept, kept_responses, only_kept
from voxpop.results.questions import QuestionVariant, survey_questions
from voxpop.results.schemas import (
    HeadlinePublic,
    OptionPublic,
    OtherTextPublic,
    QuestionResultsPublic,
    ResultsPublic,
    ScoreCountPublic,
)
from voxpop.surveys.models import Survey
from voxpop.surveys.schemas import CHOICE_KINDS, SCORED_KINDS, text_in
from voxpop.text.redaction import redact

HEADLINE_LABELS = {"nps": ("NPS", ""), "csat": ("CSAT, % top two boxes", "%"), "ces1.0": ("CES 1.0, mean", ""),
                   "ces2.0": ("CES 2.0, mean", ""), "ces2.0_agree": ("CES 2.0, % agreeing (5–7)", "%"),
                   "mean": ("Mean", "")}
CLI_METRICS = {"nps": "nps", "csat": "csat", "ces": "ces", "rating": "mean"}  # `voxpop metrics --metric`
OTHER_TEXTS = 50  # texts answered outside the options, listed per question, most frequent first


class UnknownSurvey(LookupError):
    """A survey key that names no survey."""


def survey_results(connection: Connection, *, survey: str, response_filter: ResponseFilter, zone: str,
                   min_base: int, today: date, comments: int = 10) -> ResultsPublic:
    """Every question's results over the responses `response_filter` keeps; an unknown survey raises UnknownSurvey."""
    found = connection.execute(select(Survey.id, Survey.title, Survey.status, Survey.default_language)
                               .where(Survey.key == survey)).first()
    if found is None:
        raise UnknownSurvey(f"There is no survey {survey!r}; pick one from the survey list.")
    questions = survey_questions(connection, survey_id=found.id)
    kept = kept_responses(response_filter, survey_id=found.id, zone=zone)
    with Session(connection) as db_session:
        merges = survey_merges(db_session=db_session, survey_id=found.id)
    counts = answer_counts(connection, question_ids=[i for question in questions for i in question.ids],
                           kept=kept)
    sections = [_section(connection, question, counts, survey=survey, language=found.default_language,
                         response_filter=response_filter, kept=kept, min_base=min_base,
                         merges=merges.get(question.key, {}), comments=comments,
                         alike=sum(other.key == question.key and other.kind == question.kind for other in questions))
                for question in questions]
    return ResultsPublic(
        survey=survey, title=found.title, status=found.status, filter=response_filter.describe(),
        since=response_filter.since, until=response_filter.until,
        partial=response_filter.period in PERIODS and response_filter.until == today,
        responses=response_count(connection, survey_id=found.id, kept=kept),
        questions=sections)


def response_count(connection: Connection, *, survey_id: int, kept: Kept) -> int:
    """How many of the survey's responses the filter keeps."""
    return connection.execute(select(func.count()).select_from(Response).where(
        *(kept or [Response.survey_id == survey_id]))).scalar_one()


def answer_counts(connection: Connection, *, question_ids: list[int],
                  kept: Kept) -> dict[int, dict[tuple[int | None, str | None], int]]:
    """Answers per question row, score and choice (one grouped query), of the kept responses."""
    statement = only_kept(select(Answer.question_id, Answer.score, Answer.choice, func.count())
                          .where(Answer.question_id.in_(question_ids)), kept) \
        .group_by(Answer.question_id, Answer.score, Answer.choice)
    counts: dict[int, dict[tuple[int | None, str | None], int]] = defaultdict(dict)
    for question_id, score, choice, count in connection.execute(statement):
        counts[question_id][(score, choice)] = count
    return counts


def respondents(connection: Connection, *, question_ids: list[int], kept: Kept,
                outside: list[str] | None = None) -> int:
    """Responses that answered the question (one of its rows); with `outside`, that chose something not in it."""
    statement = select(func.count(distinct(Answer.response_id))).where(Answer.question_id.in_(question_ids))
    if outside is not None:
        statement = statement.where(Answer.choice.is_not(None), Answer.choice.not_in(outside))
    return connection.execute(only_kept(statement, kept)).scalar_one()


def _pooled(question: QuestionVariant,
            counts: dict[int, dict[tuple[int | None, str | None], int]]) -> dict[tuple[int | None, str | None], int]:
    pooled: dict[tuple[int | None, str | None], int] = defaultdict(int)
    for question_id in question.ids:
        for key, count in counts.get(question_id, {}).items():
            pooled[key] += count
    return pooled


def _section(connection: Connection, question: QuestionVariant, counts, *, survey: str, language: str,
             response_filter: ResponseFilter, kept: Kept, min_base: int, merges: dict[str, str],
             comments: int, alike: int) -> QuestionResultsPublic:
    pooled = _pooled(question, counts)
    section = QuestionResultsPublic(
        key=question.key, kind=question.kind, text=question.text(language), scale_min=question.scale_min,
        scale_max=question.scale_max, ces_version=question.ces_version, versions=question.versions,
        retired=question.retired, answered=sum(pooled.values()), distribution=[], headlines=[], command=None,
        ordered=bool(question.spec.get("ordered")), options=[], other_texts=[], comments=[], analysed=0, themes=[])
    if question.kind in SCORED_KINDS:
        scores = {score: count for (score, _), count in pooled.items() if score is not None}
        section.distribution = score_distribution(question, scores)
        section.headlines = headlines(question, scores, min_base=min_base)
        # `voxpop metrics` pools a key's answers of one kind across versions: it names this section only when
        # the key was asked on one scale of that kind.
        section.command = metrics_command(survey=survey, question=question, response_filter=response_filter) \
            if alike == 1 else None
    elif question.kind in CHOICE_KINDS:
        if question.kind == "multiple_choice":
            section.answered = respondents(connection, question_ids=question.ids, kept=kept)
        section.options, section.other_texts = choice_results(
            connection, question, pooled, answered=section.answered, language=language, kept=kept,
            min_base=min_base, merges=merges)
    else:
        section.comments, section.analysed, section.themes = text_results(
            connection, question_ids=question.ids, kept=kept, min_base=min_base, limit=comments)
    return section


def score_distribution(question: QuestionVariant, scores: dict[int, int]) -> list[ScoreCountPublic]:
    """Every point of the scale with its count, in order; NPS points carry their group."""
    low, high = question.scale_min or 0, question.scale_max or max(scores, default=0)
    points = range(min([low, *scores]), max([high, *scores]) + 1)
    return [ScoreCountPublic(score=score, count=scores.get(score, 0), group=_nps_group(score)
                             if question.kind == "nps" else None) for score in points]


def _nps_group(score: int) -> str:
    return "promoters" if score >= CUTS.promoter_min else "detractors" if score <= CUTS.detractor_max else "passives"


def scored_counts(question: QuestionVariant, scores: dict[int, int]) -> dict:
    """The question's sufficient statistics from its score counts, by the rollups' own counting rules (so the
    estimates equal the dashboard's), with its kind and scale."""
    totals = [0.0] * len(COUNTS)
    for score, count in scores.items():
        for index, amount in enumerate(score_counts(score, question.scale_max, count)):
            totals[index] += amount
    return {"question": question.key, "kind": question.kind, "scale_min": question.scale_min,
            "scale_max": question.scale_max, "ces_version": question.ces_version,
            **{name: int(total) if name not in ("total", "total_squares") else total
               for name, total in zip(COUNTS, totals)}}


def headlines(question: QuestionVariant, scores: dict[int, int], *, min_base: int) -> list[HeadlinePublic]:
    """The question's headline figures with their intervals (NPS; CSAT top two boxes; CES mean and % agreeing;
    a rating's mean)."""
    rows: list[Row] = estimates_from_counts([scored_counts(question, scores)], min_base=min_base)
    notes = {"nps": "−100 to 100", "csat": f"answers {question.scale_max - 1}–{question.scale_max}",
             "ces2.0_agree": "answers 5–7", "ces2.0": "1–7, higher is easier", "ces1.0": "1–5, lower is easier",
             "mean": f"on {question.scale_min}–{question.scale_max}"}
    return [HeadlinePublic(metric=row.metric, label=HEADLINE_LABELS[row.metric][0], unit=HEADLINE_LABELS[row.metric][1],
                           note=notes[row.metric], estimate=row.estimate)
            for row in sorted(rows, key=lambda row: row.metric.endswith("agree"), reverse=True)]


def metrics_command(*, survey: str, question: QuestionVariant, response_filter: ResponseFilter) -> str:
    """The `voxpop metrics` command that prints this question's headline figures, for the same responses: days
    as dates (a preset period moves with today), attribute values as --filter, answer tests as --answer."""
    words = ["voxpop", "metrics", "--survey", survey, "--question", question.key, "--metric", CLI_METRICS[question.kind]]
    for name, day in (("--since", response_filter.since), ("--until", response_filter.until)):
        if day is not None:
            words += [name, day.isoformat()]
    words += [word for name, values in response_filter.attributes for value in values
              for word in ("--filter", f"{name}={value}")]
    words += [word for key, tests in response_filter.answers for test in tests
              for word in ("--answer", f"{key}:{test.text}")]
    return shlex.join([*words, "--format", "json"])


def choice_results(connection: Connection, question: QuestionVariant, pooled, *, answered: int, language: str,
                   kept: Kept, min_base: int,
                   merges: dict[str, str]) -> tuple[list[OptionPublic], list[OtherTextPublic]]:
    """Each option's share of those who answered, in the defined order when the options form a scale (else most
    chosen first), then Other: every answer outside the options, with its texts listed. A misspelt option merged
    into another (imports.merges) counts as that one."""
    chosen: dict[str, int] = defaultdict(int)
    for (_, choice), count in pooled.items():
        if choice is not None:
            chosen[choice] += count
    chosen = merged_choice_counts(chosen, merges)
    listed = question.options(language)
    values = [value for value, _ in listed]

    def option(value: str, label: str, count: int, is_listed: bool = True) -> OptionPublic:
        return OptionPublic(value=value, label=label, count=count, listed=is_listed,
                            share=proportion(successes=count, n=answered, min_base=min_base))

    options = [option(value, label, chosen.get(value, 0)) for value, label in listed]
    if not question.spec.get("ordered"):
        options.sort(key=lambda row: -row.count)  # stable: ties keep the defined order
    unlisted = {choice: count for choice, count in chosen.items() if choice not in values}
    if not unlisted:
        return options, []
    other = question.spec.get("other")
    label = text_in(other, language, "en") if other and other is not True else "Other"
    outside = (sum(unlisted.values()) if question.kind == "single_choice"
               else respondents(connection, question_ids=question.ids, kept=kept,
                                outside=[*values, *(answered_as for answered_as, counted_as in merges.items()
                                                    if counted_as in values)]))
    options.append(option("other", label, outside, False))
    return options, other_texts(connection, question, unlisted, kept=kept)


def other_texts(connection: Connection, question: QuestionVariant, unlisted: dict[str, int], *,
                kept: Kept) -> list[OtherTextPublic]:
    """What respondents answered outside the options, most frequent first: the text typed beside an Other option,
    or (as imports store it) the unlisted choice itself; personal data redacted."""
    statement = only_kept(select(Answer.text, func.count()).where(Answer.question_id.in_(question.ids),
                                                                  Answer.text.is_not(None)), kept) \
        .group_by(Answer.text).order_by(func.count().desc(), Answer.text).limit(OTHER_TEXTS)
    typed = dict(connection.execute(statement).all())
    texts: dict[str, int] = defaultdict(int)
    for text, count in [*typed.items(), *((choice, count) for choice, count in unlisted.items() if choice != "other")]:
        texts[redact(text).text] += count
    ranked = sorted(texts.items(), key=lambda item: (-item[1], item[0]))[:OTHER_TEXTS]
    return [OtherTextPublic(text=text, count=count) for text, count in ranked]
