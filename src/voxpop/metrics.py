"""The Python API of the metrics engine: `voxpop.metrics.metrics(data, metric=..., score=...)`.

`data` is a path to a CSV, TSV, Parquet or XLSX export, a pandas DataFrame, or an Ibis table on any
backend. Returns one dict per group: the group keys, metric, n, value, se, ci_low, ci_high, confidence
and low_base, exactly as `voxpop metrics --format json` prints them.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from voxpop.analysis import sources
from voxpop.analysis.engine import MetricError, MetricSpec, Period, compute
from voxpop.core.estimates import NpsCuts

__all__ = ["MetricError", "MetricNote", "metrics"]


def metrics(
    data: Any,
    *,
    metric: str,
    score: str,
    scale: tuple[int, int] | None = None,
    cuts: tuple[int, int] | None = None,
    by: list[str] | None = None,
    period: Period | None = None,
    time: str | None = None,
    filters: dict[str, list[str]] | None = None,
    confidence: float = 0.95,
    min_base: int = 30,
    method: str = "adjusted-wald",
) -> list[dict[str, Any]]:
    """Compute one metric per group; raises MetricError with a message for the user on bad input."""
    if isinstance(data, str | Path):
        source = str(data)
        table = sources.read_file(Path(data))
    elif hasattr(data, "columns") and hasattr(data, "dtypes") and not hasattr(data, "execute"):
        source, table = "the DataFrame", sources.from_dataframe(data)
    else:
        source, table = "the table", data
    nps_cuts = None
    if cuts is not None:
        low, high = scale or (0, 10)
        nps_cuts = NpsCuts(low=low, high=high, detractor_max=cuts[0], promoter_min=cuts[1])
    spec = MetricSpec.create(metric, scale, cuts=nps_cuts)  # type: ignore[arg-type]
    sources.require_columns(table, [score, *(by or []), *([time] if time else []), *(filters or {})], source)
    if sources.ROW in table.columns:
        table = sources.checked_scores(table, score, spec, source)
        table = sources.blank_as_missing(table, [*(by or []), *(filters or {})])
        if metric == "nps" and scale is None and _no_zero_among_many(table, score, min_base):
            warnings.warn(MetricNote(
                f"no answer in {score!r} is 0: if the question offered 1–10, say --scale 1-10 "
                "(detractors stay 1–6, promoters 9–10)"), stacklevel=2)
    if time and period:
        table = sources.parse_times(table, time, source)
    rows = compute(table, spec, score=score, by=by, period=period, time=time, filters=filters,
                   min_base=min_base, confidence=confidence, method=method)
    return [row.as_dict() for row in rows]


class MetricNote(UserWarning):
    """Something an analyst should know about the result, such as a scale that looks different."""


def _no_zero_among_many(table, column: str, enough: int) -> bool:
    """Whether enough answers were given to expect a 0 on a 0–10 question, and none is."""
    found = table.aggregate(n=table[column].count(), lowest=table[column].min()).execute()
    return int(found["n"].iloc[0]) >= enough and found["lowest"].iloc[0] > 0
