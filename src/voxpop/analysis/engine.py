"""The metrics engine: Ibis expressions reduce any table to sufficient statistics per group; core computes.

One definition per metric, run unchanged on DuckDB, SQLite, PostgreSQL or Spark. The database does the
counting (promoters, passives and detractors; n, Σx and Σx²; the sums of cross-products a correlation
matrix needs); only one row per group reaches Python.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np

from voxpop.core import estimates
from voxpop.core.counts import CES2_AGREE_MIN
from voxpop.core.estimates import Estimate, NpsCuts

Metric = Literal["nps", "csat", "ces", "mean"]
Period = Literal["day", "week", "month", "quarter"]
TRUNCATE_UNITS = {"day": "D", "week": "W", "month": "M", "quarter": "Q"}
KEPT = "kept_by_the_filters"  # a group key: whether a row passes the filters, when its checks count every row


class MetricError(ValueError):
    """A request the data cannot answer; the message says what to change. A message names the parameter to change
    as the Python API spells it, in backquotes (`scale`), and `parameter` names it too, so that an interface can
    say it in its own terms (the command line as its option, --scale)."""

    def __init__(self, message: str, *, parameter: str | None = None):
        super().__init__(message)
        self.parameter = parameter


class MetricNote(UserWarning):
    """Something an analyst should know about the result, such as a scale that looks different; parameters are
    named as in a MetricError."""


@dataclass(frozen=True)
class MetricSpec:
    """What to compute and on which scale. Cut points are stated, never inferred from the data."""

    metric: Metric
    low: int
    high: int
    cuts: NpsCuts | None = None
    ces_version: str | None = None

    @classmethod
    def create(cls, metric: Metric, scale: tuple[int, int] | None = None, *, cuts: NpsCuts | None = None,
               ces_version: str | None = None) -> MetricSpec:
        """The spec with each metric's standard scale unless another is stated."""
        if metric == "nps":
            low, high = scale or (0, 10)
            if cuts is None:
                if (low, high) not in ((0, 10), (1, 10)):
                    raise MetricError(f"NPS on a {low}–{high} scale needs its cut points stated: give `cuts` (the "
                                      "highest detractor score and the lowest promoter score)", parameter="cuts")
                cuts = NpsCuts(low=low, high=high)  # 1–10 keeps the 0–10 meaning: detractors up to 6
            return cls("nps", low, high, cuts=NpsCuts(low, high, cuts.detractor_max, cuts.promoter_min))
        if metric == "csat":
            low, high = scale or (1, 5)
            return cls("csat", low, high)
        if metric == "ces":
            version = ces_version or ("1.0" if scale == (1, 5) else "2.0")
            expected = (1, 5) if version == "1.0" else (1, 7)
            if scale is not None and scale != expected:
                raise MetricError(f"CES {version} is on a {expected[0]}–{expected[1]} scale, not {scale[0]}–{scale[1]}; "
                                  "give `scale` as 1–5 for CES 1.0 or 1–7 for CES 2.0", parameter="scale")
            return cls("ces", *expected, ces_version=version)
        if metric == "mean":
            if scale is None:
                raise MetricError("A mean needs its scale stated, so that values outside it are caught: give `scale` "
                                  "(its lowest and highest point)", parameter="scale")
            return cls("mean", *scale)
        raise MetricError(f"Unknown metric {metric!r}; choose `metric` from nps, csat, ces or mean", parameter="metric")

    @property
    def top_min(self) -> int:
        """CSAT's top two boxes: the two highest points of the scale."""
        return self.high - 1


@dataclass(frozen=True)
class Row:
    """One group's estimate, as `voxpop metrics --format json` prints it."""

    keys: dict[str, Any]
    metric: str
    estimate: Estimate
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**self.keys, "metric": self.metric, **asdict(self.estimate), **self.extra}


@dataclass(frozen=True, eq=False)
class Check:
    """Something to count while the statistics are counted, so that checking an export's values costs no scan
    of its own: `counts` names, for each count, a true-or-false column the check added to the table, and `verify`
    hears how many rows had each true (over every group) before any estimate is made; it raises the error to
    give, or warns. A refused value's row is then found by a query of the check's own, run only when there is one."""

    counts: dict[str, str]
    verify: Callable[[dict[str, int]], None]


def fetch(expr: ir.Expr) -> list[dict[str, Any]]:
    """An expression's result rows as dicts of plain Python values. On DuckDB (files and DataFrames) the rows come
    from its own cursor: Ibis's execute builds a pandas DataFrame, and importing pandas takes longer than a command's
    whole work on a small export. Other backends (the store) go through Ibis's execute."""
    backend = ibis.get_backend(expr)
    if backend.name != "duckdb":
        return expr.as_table().execute().to_dict("records")
    while True:
        try:
            relation = backend._to_duckdb_relation(expr)  # what Ibis's execute runs: memtables registered, then SQL
            return [dict(zip(relation.columns, row)) for row in relation.fetchall()]
        except Exception as exc:
            read_again = _READ_AGAIN.get(id(backend))
            if read_again is None or not read_again(exc):
                raise


# Each connection's hook for the errors its queries meet, set by the file reader (`read_again_on`), by the
# connection's id: Ibis's DuckDB connections compare equal to one another, which a WeakKeyDictionary would mix up.
_READ_AGAIN: dict[int, Callable[[Exception], bool]] = {}


def read_again_on(backend, read_again: Callable[[Exception], bool]) -> None:
    """Let `read_again` hear each error a query `fetch` runs on `backend` meets: it answers True when it has
    changed how the data are read (a file's view pointed at another reader) so that the query runs again, and
    False to let the error go on; it may raise an error of its own instead. It must answer True only finitely
    often."""
    if id(backend) not in _READ_AGAIN:
        weakref.finalize(backend, _READ_AGAIN.pop, id(backend), None)  # gone with it, before its id is reused
    _READ_AGAIN[id(backend)] = read_again


def count_if(condition: ir.BooleanValue) -> ir.IntegerValue:
    """How many rows meet the condition, written the way every backend sums it (no bool casts)."""
    return condition.ifelse(1, 0).sum()


def statistics(table: ir.Table, spec: MetricSpec, *, score: str, by: list[str],
               text_keys: Sequence[str] = (), counts: dict[str, ir.BooleanValue] | None = None) -> ir.Table:
    """The sufficient statistics of `score` per group of `by` (skipped answers are not counted). The `text_keys`
    among `by` are export cells: their values are compared as text with the blanks around them stripped, and a
    blank one is a missing value. They are tidied once the rows are grouped, and the few groups added up again
    (every statistic is a sum): stripping each of a file's cells took as long as reading it. `counts` are
    conditions whose rows are counted too, per group (the checks riding along, engine.Check)."""
    value = table[score].cast("float64")
    measures: dict[str, ir.Value] = {"n": value.count()}
    if spec.metric == "nps":
        measures |= {"promoters": count_if(value >= spec.cuts.promoter_min), "detractors": count_if(value <= spec.cuts.detractor_max)}
    elif spec.metric == "csat":
        measures |= {"top": count_if(value >= spec.top_min)}
    else:
        measures |= {"total": value.sum(), "total_squares": (value * value).sum()}
        if spec.metric == "ces" and spec.ces_version == "2.0":
            measures |= {"agree": count_if(value >= CES2_AGREE_MIN)}
    measures |= {name: count_if(condition) for name, condition in (counts or {}).items()}
    grouped = table.group_by(by) if by else table
    counted = grouped.aggregate(**measures)
    if not text_keys:
        return counted
    # Only keys still text when grouped: a time parsed for its period is grouped as a time.
    keys = {name: counted[name].strip().nullif("") if name in text_keys and counted[name].type().is_string()
            else counted[name] for name in by}
    return counted.group_by(**keys).aggregate(**{name: counted[name].sum() for name in measures})


def estimate_rows(
    counted: list[dict[str, Any]], spec: MetricSpec, *, by: list[str], min_base: int, confidence: float, method: str
) -> list[Row]:
    """Turn each group's statistics into estimates (core does the arithmetic)."""
    rows: list[Row] = []
    for record in counted:
        keys = {name: _plain(record[name]) for name in by}
        n = int(record["n"] or 0)
        if spec.metric == "nps":
            promoters, detractors = int(record["promoters"] or 0), int(record["detractors"] or 0)
            estimate = estimates.nps(promoters=promoters, passives=n - promoters - detractors, detractors=detractors,
                                     min_base=min_base, confidence=confidence, method=method)
            rows.append(Row(keys, "nps", estimate, {"promoters": promoters, "passives": n - promoters - detractors,
                                                    "detractors": detractors}))
        elif spec.metric == "csat":
            rows.append(Row(keys, "csat", estimates.top_box(top=int(record["top"] or 0), n=n, min_base=min_base,
                                                           confidence=confidence)))
        else:
            total, squares = float(record["total"] or 0), float(record["total_squares"] or 0)
            mean = estimates.mean(n=n, total=total, total_squares=squares, min_base=min_base, confidence=confidence)
            if spec.metric == "ces":
                rows.append(Row(keys, f"ces{spec.ces_version}", mean))
                if spec.ces_version == "2.0":
                    agree = estimates.proportion(successes=int(record["agree"] or 0), n=n, min_base=min_base,
                                                 confidence=confidence)
                    rows.append(Row(keys, "ces2.0_agree", agree))
            else:
                rows.append(Row(keys, "mean", mean))
    return sorted(rows, key=lambda row: tuple(str(row.keys[name]) for name in by))


def _plain(value: Any) -> Any:
    """Group keys as JSON-friendly values (dates as ISO text; NaN, NaT and None as None)."""
    if value is None or (isinstance(value, float) or hasattr(value, "isoformat")) and value != value:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if hasattr(value, "hour") and not (value.hour or value.minute) else value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def utc_offsets(zone: str, first: datetime, last: datetime) -> list[tuple[datetime, int]]:
    """[(from_utc, offset_seconds), ...] for `zone` between two UTC instants: the DST transitions that
    a UTC timestamp needs to become local wall time."""
    tz = ZoneInfo(zone)
    first, last = first.replace(tzinfo=timezone.utc), last.replace(tzinfo=timezone.utc)
    spans = [(first, int(first.astimezone(tz).utcoffset().total_seconds()))]
    step = first
    while step < last:
        nxt = min(step + timedelta(hours=6), last)
        offset = int(nxt.astimezone(tz).utcoffset().total_seconds())
        if offset != spans[-1][1]:
            low, high = step, nxt  # bisect to the minute of the change
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if int(middle.astimezone(tz).utcoffset().total_seconds()) == offset:
                    high = middle
                else:
                    low = middle
            spans.append((high.replace(second=0, microsecond=0), offset))
        step = nxt
    return spans


def local_period(utc_time: ir.TimestampValue, period: Period, *, zone: str, first: datetime, last: datetime) -> ir.Value:
    """The start of the day, week (Monday), month or quarter, in `zone`, of a UTC timestamp column."""
    spans = utc_offsets(zone, first, last)
    if len(spans) == 1:
        shift = ibis.literal(spans[0][1])
    else:
        naive = lambda moment: ibis.timestamp(moment.replace(tzinfo=None))  # noqa: E731
        shift = ibis.cases(*[(utc_time >= naive(start), offset) for start, offset in reversed(spans[1:])],
                           else_=spans[0][1])
    return _plus_seconds(utc_time, shift).truncate(TRUNCATE_UNITS[period]).date()


def _sqlite_datetime(moment, modifier): ...


_sqlite_datetime.__annotations__ = {"moment": dt.Timestamp(), "modifier": dt.String(), "return": dt.Timestamp()}
_sqlite_datetime = ibis.udf.scalar.builtin(name="datetime")(_sqlite_datetime)


def _plus_seconds(moment: ir.TimestampValue, seconds: ir.IntegerValue) -> ir.TimestampValue:
    # SQLite before 3.42 cannot add intervals in Ibis; its own datetime(t, '+N seconds') does the same.
    if ibis.get_backend(moment).name == "sqlite":
        return _sqlite_datetime(moment, seconds.cast("string").concat(" seconds"))
    return moment + seconds.as_interval("s")


def compute(
    table: ir.Table,
    spec: MetricSpec,
    *,
    score: str,
    by: list[str] | None = None,
    period: Period | None = None,
    time: str | None = None,
    zone: str | None = None,
    filters: dict[str, list[str]] | None = None,
    min_base: int = 30,
    confidence: float = 0.95,
    method: str = "adjusted-wald",
    text_keys: bool = False,
    checks: Sequence[Check] = (),
) -> list[Row]:
    """Estimates of one metric per group of `by` columns and, optionally, per `period` of `time`.

    `zone` says the time column holds UTC instants to be bucketed in that time zone (the store); without
    it the times are taken as the wall-clock times they already are (most export files). `text_keys` says the
    `by` columns hold an export's cells: values equal once stripped are one group, and a blank one is missing.
    `checks` are counted in the same query, over every row (the filters' verdict is then one more group key, so
    the rows they leave out are checked too), and verified before any estimate."""
    by = list(by or [])
    kept = [table[name].cast("string").isin([str(value) for value in values]) for name, values in (filters or {}).items()]
    kept_as_key = bool(kept and checks)
    if kept_as_key:
        table = table.mutate(**{KEPT: ibis.and_(*kept).fill_null(False)})
    elif kept:
        table = table.filter(kept)
    groups = list(by)
    if period is not None:
        if time is None:
            raise MetricError("Grouping by `period` needs the time of each answer: name its column with `time`",
                              parameter="time")
        if zone and zone != "UTC":
            bounds = table.aggregate(first=table[time].min(), last=table[time].max()).execute()
            first, last = bounds["first"].iloc[0], bounds["last"].iloc[0]
            if first is None or first != first:
                return []
            bucket = local_period(table[time], period, zone=zone, first=naive_utc(first), last=naive_utc(last))
        else:
            bucket = table[time].truncate(TRUNCATE_UNITS[period]).date()
        table = table.mutate(period=bucket)
        groups.append("period")
    counts = {f"check_{i}_{name}": table[column] for i, check in enumerate(checks)
              for name, column in check.counts.items()}
    counted = fetch(statistics(table, spec, score=score, by=[*groups, *([KEPT] if kept_as_key else [])],
                               text_keys=by if text_keys else (), counts=counts))
    for i, check in enumerate(checks):
        check.verify({name: sum(int(row[f"check_{i}_{name}"] or 0) for row in counted) for name in check.counts})
    if kept_as_key:
        counted = [row for row in counted if row[KEPT]]
    return estimate_rows(counted, spec, by=groups, min_base=min_base, confidence=confidence, method=method)


def naive_utc(moment) -> datetime:
    """A timestamp as a naive UTC datetime (how the engine compares with the store's times)."""
    moment = moment.to_pydatetime() if hasattr(moment, "to_pydatetime") else moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


@dataclass(frozen=True, eq=False)
class CrossProducts:
    """n, Σ(x_j − c_j) and Σ(x_i − c_i)(x_j − c_j) over the rows where every column has a value, about the
    origins c: what core.drivers needs, and the columns' means over those same rows."""

    columns: tuple[str, ...]
    origins: tuple[float, ...]
    n: int
    sums: np.ndarray  # (k,)
    cross_products: np.ndarray  # (k, k), symmetric

    @property
    def means(self) -> dict[str, float]:
        return {name: float(origin + total / self.n) for name, origin, total in zip(self.columns, self.origins, self.sums)}


def cross_products(table: ir.Table, columns: Sequence[str], *, origins: Sequence[float],
                   checks: Sequence[Check] = ()) -> CrossProducts:
    """The listwise moments of `columns` in one aggregate query, each column shifted by its origin (a value
    near its mean, such as the scale's midpoint) so that Σx² does not swamp the variance in rounding. `checks`
    are counted in the same query over every row (a value refused makes its row incomplete, so the moments are
    summed over the complete rows rather than the rows filtered first), and verified before anything is returned."""
    columns = tuple(columns)
    if len(origins) != len(columns) or not columns:
        raise ValueError(f"give one origin per column: {len(columns)} columns, {len(origins)} origins")
    condition = ibis.and_(*[table[name].notnull() for name in columns])
    rows = table if checks else table.filter(condition)
    where = condition if checks else None
    shifted = [rows[name].cast("float64") - float(origin) for name, origin in zip(columns, origins)]
    measures: dict[str, ir.Value] = {"n": count_if(condition) if checks else shifted[0].count()}
    measures |= {f"sum_{j}": value.sum(where=where) for j, value in enumerate(shifted)}
    measures |= {f"product_{i}_{j}": (shifted[i] * shifted[j]).sum(where=where)
                 for i in range(len(columns)) for j in range(i, len(columns))}
    measures |= {f"check_{k}_{name}": count_if(rows[column]) for k, check in enumerate(checks)
                 for name, column in check.counts.items()}
    record = fetch(rows.aggregate(**measures))[0]
    for k, check in enumerate(checks):
        check.verify({name: int(record[f"check_{k}_{name}"] or 0) for name in check.counts})
    # With no complete row the sums are NULL (None, or NaN from the store's pandas): sums over nothing, so 0.
    total = {name: 0.0 if value is None or value != value else float(value)
             for name, value in record.items() if name != "n"}
    sums = np.array([total[f"sum_{j}"] for j in range(len(columns))])
    products = np.empty((len(columns), len(columns)))
    for i in range(len(columns)):
        for j in range(i, len(columns)):
            products[i, j] = products[j, i] = total[f"product_{i}_{j}"]
    return CrossProducts(columns=columns, origins=tuple(float(origin) for origin in origins),
                         n=int(record["n"] or 0), sums=sums, cross_products=products)
