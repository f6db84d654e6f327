"""The dashboard's control charts, with the month that has not ended kept apart.

A month still running is a partial period: its few answers so far would move the limits and trip the run rules
(a 6-day-old month with a dozen detractors reads as a "drop"). So the chart, its limits and its signals come
from the ended months only, and the current month is added beside them as a partial point with its own
estimate (analysis.periods says which months have ended). Pure: rollup counts in, TrendPublic out.
"""

from __future__ import annotations

from typing import Any

from voxpop.analysis.engine import Row
from voxpop.analysis.periods import split_at
from voxpop.dashboard.metrics import Trend, estimates_from_counts, monthly_trends
from voxpop.dashboard.schemas import MetricPublic, TrendPointPublic, TrendPublic, TrendSignalPublic
from voxpop.web.charts import month_label
from voxpop.web.signals import signal_sentence

SHARE_CHARTS = ("p", "laney-p")  # charted as shares 0..1; their estimates are percentages
TREND_LABELS = {"nps": "NPS", "csat": "CSAT top-two-box", "ces2.0": "CES 2.0 mean", "ces1.0": "CES 1.0 mean",
                "ces2.0_agree": "CES 2.0 agree"}


def survey_trends(monthly: list[dict[str, Any]], *, current: str, min_base: int) -> dict[str, TrendPublic]:
    """Per survey, its headline metric by month (dashboard.metrics.monthly_trends chooses the question
    and the chart) computed on the ended months, with the months from `current` on as partial points."""
    ended, running = split_at(monthly, current)
    rows = {(row.keys["survey"], row.metric, row.keys["question"], str(row.keys["period"])): row
            for row in estimates_from_counts(monthly, min_base=min_base)}
    later = sorted({str(record["period"]) for record in running})
    return {survey: _public(trend, rows, later) for survey, trend in monthly_trends(ended, min_base=min_base).items()}


def _public(trend: Trend, rows: dict[tuple[str, str, str, str], Row], later: list[str]) -> TrendPublic:
    chart = trend.chart
    question = trend.question
    label = TREND_LABELS.get(trend.metric, trend.metric)
    share = chart.chart in SHARE_CHARTS
    unit = "%" if share else ""

    def estimate(period: str) -> MetricPublic | None:
        row = rows.get((trend.survey, trend.metric, question, period))
        return None if row is None else MetricPublic.of(row.metric, row.estimate, label=label, unit=unit)

    points = [
        TrendPointPublic(period=str(period), n=n, value=value, centre=centre, lower=lower, upper=upper,
                         estimate=estimate(str(period)))
        for period, n, value, centre, lower, upper in zip(trend.periods, trend.n, chart.values, chart.centre,
                                                          chart.lower, chart.upper)
    ]
    for period in later:
        own = estimate(period)
        if own is not None and own.n and own.value is not None:
            points.append(TrendPointPublic(period=period, n=own.n, value=own.value / 100 if share else own.value,
                                           centre=None, lower=None, upper=None, partial=True, estimate=own))
    signals = [
        TrendSignalPublic(rule=signal.rule.id, description=signal.rule.description, direction=signal.direction,
                     periods=[str(trend.periods[index]) for index in signal.points],
                     sentence=signal_sentence(signal.rule, signal.direction,
                                              month_label(trend.periods[signal.points[-1]], short=False), label))
        for signal in trend.signals
    ]
    return TrendPublic(metric=trend.metric, question=question, label=label, chart=chart.chart, points=points,
                       signals=signals)
