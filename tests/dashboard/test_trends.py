"""The month that has not ended is kept out of the control limits and the run rules, and shown as partial."""

from __future__ import annotations

from datetime import datetime, timezone

from voxpop.analysis.periods import current_period, split_at
from voxpop.core.counts import score_counts
from voxpop.dashboard.trends import survey_trends


def month(period: str, scores: dict[int, int], *, question: str = "nps") -> dict:
    """One month's summed rollup counts for an NPS question, as rollup_counts(period="month") returns them."""
    totals = [0, 0.0, 0.0, 0, 0, 0, 0]
    for score, count in scores.items():
        totals = [a + b for a, b in zip(totals, score_counts(score, 10, count))]
    names = ("n", "total", "total_squares", "promoters", "detractors", "top_two", "agree")
    return {"survey": "feedback", "question": question, "kind": "nps", "scale_min": 0, "scale_max": 10,
            "ces_version": None, "period": period, **dict(zip(names, totals))}


STEADY = {10: 50, 8: 30, 3: 20}  # NPS 30 on 100 answers
# Six days into December: 12 answers so far, most of them detractors.
MONTHS = [month(f"2026-{m:02d}-01", STEADY) for m in range(6, 12)] + [month("2026-12-01", {2: 9, 10: 3})]


def test_the_current_month_is_decided_in_the_workspace_time_zone():
    late_evening = datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc)
    assert current_period(late_evening, "UTC") == "2026-11-01"
    assert current_period(late_evening, "Europe/Berlin") == "2026-12-01"
    assert current_period(late_evening, "America/New_York") == "2026-11-01"


def test_split_at_keeps_the_ended_months_apart():
    ended, running = split_at(MONTHS, "2026-12-01")
    assert [record["period"] for record in running] == ["2026-12-01"] and len(ended) == 6


def test_the_partial_month_changes_neither_the_limits_nor_the_signals():
    counted_whole = survey_trends(MONTHS, current="2027-01-01", min_base=30)["feedback"]  # as if December had ended
    assert [signal.rule for signal in counted_whole.signals] == ["nelson-1"]  # the spurious "drop"
    trend = survey_trends(MONTHS, current="2026-12-01", min_base=30)["feedback"]
    assert trend.signals == []
    whole_centre = counted_whole.points[0].centre
    assert trend.points[0].centre == 30.0 and whole_centre != trend.points[0].centre  # the limits moved
    partial = trend.points[-1]
    assert (partial.period, partial.partial, partial.n) == ("2026-12-01", True, 12)
    assert partial.centre is None and partial.lower is None and partial.upper is None
    assert partial.value == round(100 * (3 - 9) / 12, 6) and partial.estimate.ci_low < partial.value
    assert [point.partial for point in trend.points] == [False] * 6 + [True]
    assert trend.question == "nps" and trend.label == "NPS"


def test_a_signal_among_ended_months_is_said_in_plain_words():
    months = [month(f"2026-{m:02d}-01", STEADY if m != 9 else {2: 80, 10: 20}) for m in range(3, 12)]
    trend = survey_trends(months, current="2026-12-01", min_base=30)["feedback"]
    [signal] = [signal for signal in trend.signals if signal.rule == "nelson-1"]
    assert signal.periods == ["2026-09-01"] and signal.direction == "down"
    assert signal.sentence == ("September 2026 is unusually low: NPS more than 3 standard errors below its usual "
                               "level (Nelson rule 1)")


def test_the_charted_question_is_named_when_a_survey_has_two_of_a_kind():
    months = MONTHS[:-1] + [month(f"2026-{m:02d}-01", {10: 5, 2: 5}, question="a_nps") for m in (10, 11)]
    assert survey_trends(months, current="2026-12-01", min_base=30)["feedback"].question == "nps"
