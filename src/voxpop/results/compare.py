"""Is a figure different from the previous period's, or a segment's from every other response's? Every scored
question's headline and every choice option's share, on two sides, with the core's tests and Holm's adjustment:
only a difference that survives it is marked.

The families Holm adjusts over: in period mode, each question's figures (its headline and its options' shares);
in segment mode, one figure across the attribute's values, as `voxpop metrics --compare` adjusts across groups.
"""

from __future__ import annotations

import shlex
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection

from voxpop.analysis.periods import FIRST_DAY
from voxpop.collection.filters import FilterError, ResponseFilter, matching_responses
from voxpop.core import comparisons
from voxpop.core.counts import COUNTS
from voxpop.core.estimates import proportion
from voxpop.dashboard.metrics import estimates_from_counts
from voxpop.results.analysis_counts import Grouping, SurveyCatalogue, SurveyQuestion, scored_counts, value_counts
from voxpop.results.analysis_schemas import (
    ComparedPublic,
    ComparisonPublic,
    DaysPublic,
    EstimatePublic,
    MeasurePublic,
    QuestionComparisonPublic,
)
from voxpop.results.service import metrics_command
from voxpop.surveys.schemas import OTHER
from voxpop.web.charts import number

MODES = {"period": "This period against the previous one", "segment": "Each segment against the rest"}
MAX_SEGMENTS = 50  # values of one attribute compared at once; more is a filter's job
NO_VALUE = "(no value)"
# Calendar presets whose previous period is the calendar period before, in months.
CALENDAR_PRESETS = {"this-month": 1, "last-month": 1, "this-quarter": 3, "last-quarter": 3, "this-year": 12,
                    "last-year": 12}
# metric: (label, unit, digits, what its difference is counted in)
FIGURES = {
    "nps": ("NPS", "", 0, "points"),
    "csat": ("CSAT, % top two boxes", "%", 0, "percentage points"),
    "ces1.0": ("CES 1.0, mean (1–5)", "", 2, "points"),
    "ces2.0": ("CES 2.0, mean (1–7)", "", 2, "points"),
    "ces2.0_agree": ("CES 2.0, % agree", "%", 0, "percentage points"),
    "mean": ("Mean", "", 2, "points"),
    "share": ("Share", "%", 0, "percentage points"),
}


def previous_days(response_filter: ResponseFilter, *, today: date) -> tuple[DaysPublic, DaysPublic]:
    """The filter's days and the days they are compared with: the calendar period before for a month, quarter or
    year preset (as many of its days, for one that runs to today), else as many days just before."""
    since, until = response_filter.since, response_filter.until or today
    if since is None:
        raise FilterError("comparing with the previous period needs days to compare: choose a period, or a first "
                          "day", parameter="period")
    months = CALENDAR_PRESETS.get(response_filter.period or "")
    if months:
        first = _months_earlier(since, months)
        last = min(first + (until - since), since - timedelta(days=1))
        if response_filter.period.startswith("last-"):
            last = since - timedelta(days=1)
    else:
        first, last = since - (until - since) - timedelta(days=1), since - timedelta(days=1)
    if first < FIRST_DAY:
        raise FilterError(f"the previous period would start before {FIRST_DAY}; choose later days", parameter="since")
    return DaysPublic(since=since, until=until), DaysPublic(since=first, until=last)


def _months_earlier(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _difference(metric: str, a: dict[str, Any], b: dict[str, Any], confidence: float) -> comparisons.Difference | None:
    """The core's test of one figure on two sides' counts (exact counts, as the database gives them)."""
    if metric == "nps":
        sides = [(side["promoters"], side["n"] - side["promoters"] - side["detractors"], side["detractors"])
                 for side in (a, b)]
        return comparisons.nps_difference(a=sides[0], b=sides[1], confidence=confidence)
    if metric in ("csat", "ces2.0_agree", "share"):
        name = {"csat": "top_two", "ces2.0_agree": "agree", "share": "count"}[metric]
        return comparisons.proportion_difference(a=(a[name], a["n"]), b=(b[name], b["n"]), confidence=confidence)
    if a["n"] < 2 or b["n"] < 2:
        return None
    return comparisons.mean_difference(a=(a["n"], a["total"], a["total_squares"]),
                                       b=(b["n"], b["total"], b["total_squares"]), confidence=confidence)


def _summed(records: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: sum(record[name] for record in records) for name in names}


@dataclass
class _Tested:
    """A compared figure waiting for Holm's adjustment within its family."""

    row: ComparedPublic
    subject: str
    figure: str


class _Comparison:
    """Collects the compared figures, then adjusts each family and words the survivors."""

    def __init__(self, *, confidence: float, min_base: int, sides: tuple[str, str]):
        self.confidence, self.min_base, self.sides = confidence, min_base, sides
        self.families: dict[tuple, list[_Tested]] = defaultdict(list)

    def compare(self, family: tuple, metric: str, subject: str, a: dict[str, Any], b: dict[str, Any],
                estimates: tuple, segment: str | None = None) -> ComparedPublic:
        estimate_a, estimate_b = estimates
        row = ComparedPublic(segment=segment, a=EstimatePublic.of(estimate_a), b=EstimatePublic.of(estimate_b))
        if estimate_a.low_base or estimate_b.low_base:
            return row
        difference = _difference(metric, a, b, self.confidence)
        if difference is None:
            return row
        row.difference, row.ci_low, row.ci_high = difference.difference, difference.ci_low, difference.ci_high
        row.p_value, row.test = difference.p_value, difference.test
        self.families[family].append(_Tested(row, subject, metric))
        return row

    def adjust(self) -> list[str]:
        """Holm within each family; the sentences of the differences that survive, in the page's order."""
        findings = []
        for tested in self.families.values():
            for item, p_holm in zip(tested, comparisons.holm([item.row.p_value for item in tested])):
                item.row.p_holm = p_holm
                item.row.significant = p_holm < 1 - self.confidence
                if item.row.significant:
                    item.row.sentence = self._sentence(item)
                    findings.append(item.row.sentence)
        return findings

    def _sentence(self, item: _Tested) -> str:
        row = item.row
        _, unit, digits, counted = FIGURES[item.figure]
        here, there = self.sides
        here = here.format(segment=row.segment if row.segment is not None else NO_VALUE)
        level = f"{round(100 * self.confidence)}%"
        return (f"{item.subject} is {number(abs(row.difference), digits)} {counted} "
                f"{'higher' if row.difference > 0 else 'lower'} {here} than {there}: "
                f"{number(row.a.value, digits, unit)} against {number(row.b.value, digits, unit)} ({level} CI of the "
                f"difference {number(row.ci_low, digits)} to {number(row.ci_high, digits)}; p = {row.p_holm:.3g} "
                "after Holm's adjustment).")


def _headline(record: dict[str, Any], *, min_base: int, confidence: float) -> dict[str, Any]:
    """The question's figures from one side's counts: {metric: Estimate}."""
    return {row.metric: row.estimate for row in estimates_from_counts([record], min_base=min_base,
                                                                       confidence=confidence)}


def _scored_measure(metric: str, question: SurveyQuestion) -> MeasurePublic:
    label, unit, digits, _ = FIGURES[metric]
    if metric == "mean":
        low, high = question.bounds
        label = f"Mean ({low}–{high})"
    return MeasurePublic(metric=metric, label=label, unit=unit, digits=digits, rows=[])


def _subject(question: SurveyQuestion, measure: MeasurePublic) -> str:
    if measure.metric == "share":
        return f"The share answering “{measure.label}” to “{question.text}”"
    return f"{measure.label} of “{question.text}”"


def compare_periods(connection: Connection, *, catalogue: SurveyCatalogue, response_filter: ResponseFilter,
                    zone: str, today: date, min_base: int, confidence: float) -> ComparisonPublic:
    """Each figure over the filter's days against the previous period's, the rest of the filter the same."""
    current, previous = previous_days(response_filter, today=today)
    sides = [matching_responses(days_filter, zone=zone, survey=catalogue.key) for days_filter in (
        response_filter.with_days(current.since, current.until),
        response_filter.with_days(previous.since, previous.until))]
    comparison = _Comparison(confidence=confidence, min_base=min_base, sides=(
        f"from {current.since} to {current.until}", f"from {previous.since} to {previous.until}"))
    empty = {"n": 0, "total": 0.0, "total_squares": 0.0, "promoters": 0, "detractors": 0, "top_two": 0, "agree": 0}
    records = [{record["question"]: record for record in scored_counts(connection, questions=catalogue.scored,
                                                                        responses=side)} for side in sides]
    compared = []
    for question in catalogue.questions:
        measures = []
        if question.scored:
            counted = [side.get(question.key) for side in records]
            variant = next((record for record in counted if record), None)
            if variant is None:
                continue
            sides_counted = [record or {**{name: variant[name] for name in variant if name not in COUNTS}, **empty}
                             for record in counted]
            figures = [_headline(record, min_base=min_base, confidence=confidence) for record in sides_counted]
            for metric in figures[0]:
                measure = _scored_measure(metric, question)
                measure.rows.append(comparison.compare((question.key,), metric, _subject(question, measure),
                                                       *sides_counted, (figures[0][metric], figures[1][metric])))
                measures.append(measure)
        elif question.choice:
            counted = [value_counts(connection, question=question, responses=side) for side in sides]
            for value, label in question.options:
                counts = [{"count": counts.get((value, None), 0), "n": bases.get(None, 0)} for counts, bases in counted]
                if value == OTHER and not any(side["count"] for side in counts):
                    continue  # an Other nobody chose on either side
                measure = MeasurePublic(metric="share", label=label, option=value, unit="%", rows=[])
                estimates = tuple(proportion(successes=side["count"], n=side["n"], min_base=min_base,
                                             confidence=confidence) for side in counts)
                measure.rows.append(comparison.compare((question.key,), "share", _subject(question, measure),
                                                       *counts, estimates))
                measures.append(measure)
        if measures:
            commands = [metrics_command(survey=catalogue.key, question=question.variant,
                                        response_filter=response_filter.with_days(days.since, days.until))
                        for days in (current, previous)] if question.scored else []
            compared.append(QuestionComparisonPublic(question=question.key, text=question.text, kind=question.kind,
                                                     measures=measures, commands=commands))
    findings = comparison.adjust()
    return ComparisonPublic(survey=catalogue.key, title=catalogue.title, mode="period", confidence=confidence,
                            min_base=min_base, filter=response_filter.describe(), current=current, previous=previous,
                            questions=compared, findings=findings)


def compare_segments(connection: Connection, *, catalogue: SurveyCatalogue, response_filter: ResponseFilter,
                     zone: str, segment_by: str, min_base: int, confidence: float) -> ComparisonPublic:
    """Each figure of each value of the attribute `segment_by` against every other response's."""
    if segment_by not in catalogue.attributes:
        known = ", ".join(catalogue.attributes) or "none: this survey's responses carry no attributes"
        raise FilterError(f"segment_by must be one of this survey's attributes ({known}), not {segment_by!r}",
                          parameter="segment_by")
    responses = matching_responses(response_filter, zone=zone, survey=catalogue.key)
    grouping = Grouping(attribute=segment_by)
    comparison = _Comparison(confidence=confidence, min_base=min_base,
                             sides=(f"where {segment_by} is {{segment}}", "in the other responses"))
    by_question: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in scored_counts(connection, questions=catalogue.scored, responses=responses, grouping=grouping):
        by_question[record["question"]].append(record)
    compared = []
    for question in catalogue.questions:
        measures = []
        if question.scored and by_question.get(question.key):
            groups = by_question[question.key]
            _check_segments(segment_by, [record["group"] for record in groups])
            sides = [(record, {**record, **_summed([other for other in groups if other is not record], COUNTS)})
                     for record in groups]
            figures = [tuple(_headline(side, min_base=min_base, confidence=confidence) for side in pair)
                       for pair in sides]
            for metric in figures[0][0]:
                measure = _scored_measure(metric, question)
                for (a, b), (figures_a, figures_b) in zip(sides, figures):
                    measure.rows.append(comparison.compare((question.key, metric), metric, _subject(question, measure),
                                                           a, b, (figures_a[metric], figures_b[metric]),
                                                           segment=a["group"]))
                measure.rows.sort(key=_segment_order)
                measures.append(measure)
        elif question.choice:
            counts, bases = value_counts(connection, question=question, responses=responses, grouping=grouping)
            _check_segments(segment_by, list(bases))
            total = sum(bases.values())
            for value, label in question.options:
                chosen = {group: counts.get((value, group), 0) for group in bases}
                if value == OTHER and not any(chosen.values()):
                    continue
                measure = MeasurePublic(metric="share", label=label, option=value, unit="%", rows=[])
                everyone = sum(chosen.values())
                for group, base in sorted(bases.items(), key=lambda item: _segment_key(item[0])):
                    a = {"count": chosen[group], "n": base}
                    b = {"count": everyone - chosen[group], "n": total - base}
                    estimates = tuple(proportion(successes=side["count"], n=side["n"], min_base=min_base,
                                                 confidence=confidence) for side in (a, b))
                    measure.rows.append(comparison.compare((question.key, value), "share",
                                                           _subject(question, measure), a, b, estimates,
                                                           segment=group))
                measures.append(measure)
        if measures:
            commands = [_compared_command(catalogue.key, question, response_filter, segment_by)] if question.scored else []
            compared.append(QuestionComparisonPublic(question=question.key, text=question.text, kind=question.kind,
                                                     measures=measures, commands=commands))
    findings = comparison.adjust()
    return ComparisonPublic(survey=catalogue.key, title=catalogue.title, mode="segment", confidence=confidence,
                            min_base=min_base, filter=response_filter.describe(), segment_by=segment_by,
                            questions=compared, findings=findings)


def _compared_command(survey: str, question: SurveyQuestion, response_filter: ResponseFilter, segment_by: str) -> str:
    """`voxpop metrics` for the question's segments against the rest, which prints the same p-values."""
    words = shlex.split(metrics_command(survey=survey, question=question.variant, response_filter=response_filter))
    return shlex.join([*words[:-2], "--by", segment_by, "--compare", *words[-2:]])  # before its --format json


def _check_segments(segment_by: str, values: list[Any]) -> None:
    if len(values) > MAX_SEGMENTS:
        raise FilterError(f"{segment_by} has {len(values)} values here, more than the {MAX_SEGMENTS} a comparison "
                          f"shows; filter to some of them (attribute={segment_by}=...) or compare another attribute",
                          parameter="segment_by")


def _segment_key(value: Any) -> tuple[bool, str]:
    return value is None, str(value)


def _segment_order(row: ComparedPublic) -> tuple[bool, str]:
    return _segment_key(row.segment)
