"""The Python API of the metrics engine: metrics, control charts and key drivers over any data.

`data` is a path to a CSV, TSV, Parquet or XLSX export, a pandas DataFrame, or an Ibis table on any
backend. Each function returns what its command prints with `--format json`:
- `metrics(data, metric=..., score=...)`: one dict per group: the group keys, metric, n, value, se, ci_low,
  ci_high, confidence and low_base;
- `spc(data, metric=..., score=..., period=..., time=...)`: a control chart per group, `{"metric", "chart",
  "rules", "rows", "signals"}`;
- `drivers(data, outcome=..., drivers=[...])`: relative weights and the importance × performance table,
  `{"outcome", "n", "r_squared", "rows", ...}`.
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import ibis.expr.types as ir
import numpy as np

from voxpop.analysis import sources, warehouse
from voxpop.analysis.control import CHARTS, charted_metric, draw
from voxpop.analysis.engine import (
    Check,
    MetricError,
    MetricNote,
    MetricSpec,
    Period,
    Row,
    compute,
    cross_products,
    fetch,
)
from voxpop.core import drivers as key_drivers
from voxpop.core import spc as control
from voxpop.core.estimates import NpsCuts

__all__ = ["MetricError", "MetricNote", "control_charts", "drivers", "metrics", "spc"]

RULES = {"nelson": control.nelson_signals, "western-electric": control.western_electric_signals}
Counted = TypeVar("Counted")


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
    rows = _scored_and_counted(
        data, lambda table, spec, checks: compute(
            table, spec, score=score, by=by, period=period, time=time, filters=filters, min_base=min_base,
            confidence=confidence, method=method, text_keys=True, checks=checks),
        metric=metric, score=score, scale=scale, cuts=cuts, by=by, period=period, time=time, filters=filters,
        min_base=min_base)
    return [row.as_dict() for row in rows]


def spc(
    data: Any,
    *,
    metric: str,
    score: str,
    period: Period,
    time: str,
    scale: tuple[int, int] | None = None,
    cuts: tuple[int, int] | None = None,
    chart: str = "auto",
    rules: str = "nelson",
    by: list[str] | None = None,
    filters: dict[str, list[str]] | None = None,
    min_base: int = 30,
) -> dict[str, Any]:
    """A control chart of one metric per `period` of `time` (one chart per group of `by`), with the signals
    of the run rules; raises MetricError with a message for the user on bad input."""
    if period not in ("day", "week", "month", "quarter"):
        raise MetricError(f"A control chart needs a `period` of day, week, month or quarter, not {period!r}",
                          parameter="period")
    return _scored_and_counted(
        data, lambda table, spec, checks: control_charts(
            table, spec, score=score, period=period, time=time, by=by, filters=filters, chart=chart, rules=rules,
            min_base=min_base, text_keys=True, checks=checks),
        metric=metric, score=score, scale=scale, cuts=cuts, by=by, period=period, time=time, filters=filters,
        min_base=min_base)


def control_charts(
    table: ir.Table,
    spec: MetricSpec,
    *,
    score: str,
    period: Period,
    time: str,
    zone: str | None = None,
    by: list[str] | None = None,
    filters: dict[str, list[str]] | None = None,
    chart: str = "auto",
    rules: str = "nelson",
    min_base: int = 30,
    text_keys: bool = False,
    checks: list[Check] | None = None,
) -> dict[str, Any]:
    """`spc` on a table whose scores are already numbers (the store's answers, with `zone`): the engine
    counts each period's statistics, core.spc draws the chart and reads it with the rules. `text_keys` and
    `checks` as `engine.compute` takes them."""
    if chart not in CHARTS:
        raise MetricError(f"Choose `chart` from {', '.join(CHARTS[:-1])} or {CHARTS[-1]}; {chart!r} is not one of them",
                          parameter="chart")
    if rules not in RULES:
        raise MetricError(f"Choose `rules` from nelson or western-electric; {rules!r} is not one of them",
                          parameter="rules")
    by = list(by or [])
    charted = charted_metric(spec)
    estimates = [row for row in compute(table, spec, score=score, by=by, period=period, time=time, zone=zone,
                                        filters=filters, min_base=min_base, text_keys=text_keys,
                                        checks=checks or ())
                 if row.metric == charted]
    rows, signals, names = [], [], []
    for group, points in _series(estimates, by=by, period=period, time=time).items():
        keys = dict(zip(by, group))
        drawn, percent = draw(points, chart=chart)
        name = "xmr" if drawn.chart == "individuals" else drawn.chart
        if name == "xmr":
            _note_thin_periods(points, keys, min_base)
        charted_rows = [
            {**keys, "period": row.keys["period"], "chart": name, "n": row.estimate.n, "value": value * percent,
             "centre": centre * percent, "lower": lower * percent, "upper": upper * percent,
             "low_base": row.estimate.low_base, "signals": []}
            for row, value, centre, lower, upper in zip(points, drawn.values, drawn.centre, drawn.lower, drawn.upper)
        ]
        for signal in RULES[rules](chart=drawn):
            said = {"rule": signal.rule.id, "description": signal.rule.description, "direction": signal.direction}
            charted_rows[signal.points[-1]]["signals"].append(said)
            signals.append({**keys, **said, "periods": [charted_rows[i]["period"] for i in signal.points]})
        rows += charted_rows
        names.append(name)
    return {"metric": charted, "chart": names[0] if len(set(names)) == 1 else "mixed", "rules": rules,
            "rows": rows, "signals": signals}


def drivers(
    data: Any,
    *,
    outcome: str,
    drivers: list[str],
    scale: tuple[int, int] | None = None,
    outcome_scale: tuple[int, int] | None = None,
    bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int | None = None,
) -> dict[str, Any]:
    """Johnson's relative weights of `drivers` on `outcome` from the engine's sums of cross-products, and
    each driver's mean over the same complete rows as its performance. `bootstrap` resamples (if any) need
    the raw rows: only then are the complete rows of these columns read into memory."""
    table, source = _table(data)
    names = [outcome, *drivers]
    if not drivers or len(set(names)) != len(names):
        raise MetricError("Name one or more `drivers`, each once, none of them the outcome", parameter="drivers")
    sources.require_columns(table, names, source)
    scales = {outcome: outcome_scale, **{name: scale for name in drivers}}
    checks: list[Check] = []
    if sources.ROW in table.columns:  # a file: every column checked in the query that sums the cross-products
        table = sources.checked_columns(
            table, {name: None if scales[name] is None else MetricSpec.create("mean", scales[name]) for name in names},
            source, scale_parameters={name: "outcome_scale" if name == outcome else "scale" for name in names},
            checks=checks)
    else:  # a typed table where the data live (--connect), or the store's: each column checked there
        for name in names:
            if scales[name] is None:
                table = warehouse.checked_numbers(table, name, source)
            else:
                table = warehouse.checked_scores(table, name, MetricSpec.create("mean", scales[name]), source,
                                                 scale_parameter="outcome_scale" if name == outcome else "scale")
    moments = cross_products(table, names, origins=_origins(table, names, scales), checks=checks)
    if moments.n < 3:
        raise MetricError(f"{source} has {moments.n} rows where {outcome!r} and every driver have a value; "
                          "key-driver analysis needs at least 3 (and some hundreds to be useful)")
    correlations = key_drivers.correlation_from_moments(n=moments.n, sums=moments.sums,
                                                        cross_products=moments.cross_products, variables=names)
    weights = key_drivers.relative_weights(correlations=correlations, outcome=outcome, predictors=drivers)
    quadrants = key_drivers.importance_performance(weights=weights, performance=moments.means)
    intervals = None
    if bootstrap:
        seed = secrets.randbelow(2**31) if seed is None else seed
        complete = table.filter([table[name].notnull() for name in names]).select(*names)
        raw_rows = complete.execute().to_numpy(dtype=float)
        # Engines return unordered rows (PostgreSQL's hash aggregate differs run to run), and resampling indices
        # depends on the order: sorted rows make a seed give the same interval from any store or file.
        raw_rows = raw_rows[np.lexsort(raw_rows.T[::-1])] if len(raw_rows) else raw_rows
        intervals = key_drivers.relative_weights_bootstrap(
            raw_rows, variables=names, outcome=outcome, predictors=drivers, n_resamples=bootstrap,
            confidence=confidence, seed=seed)
    rows = []
    for quadrant in quadrants:
        i = drivers.index(quadrant.driver)
        rows.append({
            "driver": quadrant.driver, "raw_weight": weights.raw[i], "rescaled": weights.rescaled[i],
            "ci_low": intervals.rescaled_low[i] if intervals else None,
            "ci_high": intervals.rescaled_high[i] if intervals else None,
            "raw_ci_low": intervals.raw_low[i] if intervals else None,
            "raw_ci_high": intervals.raw_high[i] if intervals else None,
            "performance": quadrant.performance, "quadrant": str(quadrant.quadrant),
        })
    return {"outcome": outcome, "n": weights.n, "r_squared": weights.r_squared,
            "confidence": confidence if intervals else None, "resamples": intervals.n_resamples if intervals else 0,
            "seed": seed if intervals else None, "rows": rows}


def _table(data: Any) -> tuple[ir.Table, str]:
    """The data as an Ibis table, and how messages name it."""
    # A file is read by the engine's queries themselves (lazy): each goes through engine.fetch.
    if isinstance(data, str | Path):
        return sources.read_file(Path(data), lazy=True), str(data)
    if isinstance(data, sources.Export):  # the command line's file, with its cache and what to say
        return sources.read_file(data.path, cache=data.cache, tell=data.tell, verbose=data.verbose,
                                 lazy=True), str(data.path)
    if hasattr(data, "columns") and hasattr(data, "dtypes") and not hasattr(data, "execute"):
        return sources.from_dataframe(data), "the DataFrame"
    return data, "the table"


def _scored_and_counted(data: Any, count: Callable[[ir.Table, MetricSpec, list[Check]], Counted],
                        **scoring: Any) -> Counted:
    """`count` (the engine's counting, with the checks riding along) on the data read once and scored by `_scored`
    with `scoring`. When the times were judged from the file's head and the count finds values the head did not
    hold, the same table is scored again with the times judged from the whole column, and counted again."""
    table, source = _table(data)
    try:
        checks: list[Check] = []
        return count(*_scored(table, source, checks=checks, **scoring), checks)
    except sources.JudgedFromTheHead:
        checks = []
        return count(*_scored(table, source, checks=checks, whole_times=True, **scoring), checks)


def _scored(table: ir.Table, source: str, *, metric: str, score: str, scale: tuple[int, int] | None,
            cuts: tuple[int, int] | None,
            by: list[str] | None, period: Period | None, time: str | None, filters: dict[str, list[str]] | None,
            min_base: int, checks: list[Check], whole_times: bool = False) -> tuple[ir.Table, MetricSpec]:
    """The table with checked scores, blank group values as missing and parsed times, and the metric's spec. A
    file's scores and times are checked in the engine's counting query: their checks go into `checks`, which
    `engine.compute` counts (no scan of their own). `whole_times` as `sources.parse_times` takes `whole`."""
    nps_cuts = None
    if cuts is not None:
        low, high = scale or (0, 10)
        nps_cuts = NpsCuts(low=low, high=high, detractor_max=cuts[0], promoter_min=cuts[1])
    spec = MetricSpec.create(metric, scale, cuts=nps_cuts)  # type: ignore[arg-type]
    sources.require_columns(table, [score, *(by or []), *([time] if time else []), *(filters or {})], source)
    answers: dict[str, Any] = {}
    zero_note = metric == "nps" and scale is None
    a_file = sources.ROW in table.columns
    if a_file:
        table = sources.checked_scores(table, score, spec, source, checks=checks)
    else:  # a typed table where the data live (--connect): checked there, with one aggregate
        table = warehouse.checked_scores(table, score, spec, source, summary=answers if zero_note else None)
        if time and period:
            table = warehouse.typed_times(table, time, source)
    # Values filtered on as text, blank as missing: as in a file. The group keys are tidied the same way after
    # grouping (compute's text_keys). A key is grouped as text (an integer column with NULLs is "1", not 1.0).
    table = sources.blank_as_missing(table, list(filters or {}))
    table = table.mutate(**{name: table[name].cast("string") for name in by or [] if name not in (filters or {})})
    if zero_note and not a_file:
        _note_no_zero(score, n=answers["n"], zeros=0 if answers["lowest"] > 0 else 1, min_base=min_base)
    if time and period:
        table = sources.parse_times(table, time, source, checks=checks, whole=whole_times)
    if zero_note and a_file:
        # Counted with the statistics, as the checks are; verified after them (the times' check may ask for a
        # second run, which must not say the note twice).
        answered, zero = f"answered_{secrets.token_hex(6)}", f"zero_{secrets.token_hex(6)}"
        table = table.mutate(**{answered: table[score].notnull(), zero: table[score] == 0})
        checks.append(Check(counts={answered: answered, zero: zero}, verify=lambda counts: _note_no_zero(
            score, n=counts[answered], zeros=counts[zero], min_base=min_base)))
    return table, spec


def _note_no_zero(score: str, *, n: int, zeros: int, min_base: int) -> None:
    """Enough answers to expect a 0 on a 0–10 question, and none is."""
    if n >= min_base and not zeros:
        warnings.warn(MetricNote(
            f"No answer in {score!r} is 0: if the question offered 1–10, give `scale` as 1–10 "
            "(detractors stay 1–6, promoters 9–10)"), stacklevel=4)


def _series(estimates: list[Row], *, by: list[str], period: str, time: str) -> dict[tuple, list[Row]]:
    """Each group's periods with answers, in time order; a group needs two of them to have a chart."""
    untimed = sum(row.estimate.n for row in estimates if row.keys["period"] is None)
    if untimed:
        warnings.warn(MetricNote(f"{untimed:,} answers have no time in {time!r} and are left out of the chart"),
                      stacklevel=3)
    series: dict[tuple, list[Row]] = {}
    for row in estimates:
        if row.keys["period"] is not None and row.estimate.n:
            series.setdefault(tuple(row.keys[name] for name in by), []).append(row)
    charted = {group: points for group, points in series.items() if len(points) >= 2}
    if not charted:
        found = max((len(points) for points in series.values()), default=0)
        raise MetricError(f"A control chart needs answers in at least 2 periods, and the data has {found} "
                          f"{period}{'s' if found != 1 else ''} with answers; choose a shorter `period`",
                          parameter="period")
    for group in series.keys() - charted.keys():
        named = ", ".join(f"{name}={value}" for name, value in zip(by, group))
        warnings.warn(MetricNote(f"{named} has answers in only one {period}, so it has no chart"), stacklevel=3)
    return charted


def _note_thin_periods(points: list[Row], keys: dict[str, Any], min_base: int) -> None:
    thin = sum(row.estimate.low_base for row in points)
    if thin:
        named = "".join(f" for {key}={value}" for key, value in keys.items())
        warnings.warn(MetricNote(
            f"an XmR chart's limits do not depend on each period's n, and {thin} of the {len(points)} periods{named} "
            f"{'has' if thin == 1 else 'have'} fewer than {min_base} answers: their points swing more than the "
            "limits allow, so read signals on them with care (a longer `period` gives fuller periods)"), stacklevel=4)


def _origins(table: ir.Table, names: list[str], scales: dict[str, tuple[int, int] | None]) -> list[float]:
    """A provisional origin near each column's mean: its scale's midpoint, else its mean over complete rows (of a
    file, over the complete rows of its head: any origin gives the same moments, and a near one keeps them exact,
    so the whole file need not be read for it)."""
    origins = {name: (scale[0] + scale[1]) / 2 for name, scale in scales.items() if scale is not None}
    unscaled = [name for name in names if name not in origins]
    if unscaled:
        rows = table.limit(sources.HEAD_ROWS) if sources.ROW in table.columns else table
        complete = rows.filter([rows[name].notnull() for name in names])
        means = fetch(complete.aggregate(**{f"mean_{i}": complete[name].cast("float64").mean()
                                            for i, name in enumerate(unscaled)}))[0]  # no pandas on a file
        for i, name in enumerate(unscaled):
            mean = means[f"mean_{i}"]
            # No complete row leaves the mean NULL; any origin will do, since the caller then refuses n = 0.
            origins[name] = 0.0 if mean is None or mean != mean else float(mean)
    return [origins[name] for name in names]
