"""Where a measure's value comes from, per period, with its n and interval: the survey engine's rollups, the
customer outcomes of the stored transactions, comment themes, the closed loop's cases, a formula over other
measures, or values people entered and their owner approved.

A measure's `source` is a mapping (docs/scorecard-measures.md describes each kind). `measure_series` gives one
MeasuredValue per period asked for ("2026-11" or "2026-Q4", in the workspace zone); a period without data has
the value None and a note saying so, never zero. Survey metrics read the daily rollups whenever the filter is
empty or one attribute's values, so a scorecard costs the same at 10M responses as at 10K; a quarter sums its
months' counts before the estimate is taken, so its interval is the quarter's, not an average of three.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, extract, func, select
from sqlalchemy.orm import Session

from voxpop.accounts.models import Department
from voxpop.analysis.periods import period_days, period_kind, period_label, within_days
from voxpop.cases.initiatives import InitiativeError, _counts, _merged, metric_estimate, parse_target, target_from
from voxpop.cases.loop_metrics import EVERY, LoopRow, _day, loop_metrics, period_of
from voxpop.cases.models import Case, CaseEvent
from voxpop.collection.filters import ResponseFilter
from voxpop.collection.models import Answer, Response
from voxpop.core.estimates import Estimate, proportion
from voxpop.core.formula import Formula, FormulaError, evaluate, parse_formula
from voxpop.customers.models import Transaction
from voxpop.dashboard.metrics import local_months, rollup_counts
from voxpop.scorecard.measured import MeasuredValue
from voxpop.scorecard.models import Measure, MeasureValue
from voxpop.surveys.models import Survey
from voxpop.text.models import CommentAnalysis

SOURCE_KINDS = ("survey", "outcome", "theme", "loop", "formula", "manual")
SURVEY_METRICS = ("nps", "csat", "ces", "mean")
OUTCOMES = ("acquisition", "retention", "churn", "repeat_purchase", "profitability", "clv", "market_share")
LOOP_METRICS = {"first_contact_on_time": "first contact within target", "time_to_resolution":
                "median business hours to resolution", "recovery_rate": "recovery rate",
                "handoffs_on_time": "hand-offs closed on time"}
OUTCOME_WORDS = {"acquisition": "acquisition rate", "retention": "retention rate", "churn": "churn rate",
                 "repeat_purchase": "repeat purchase rate", "profitability": "mean profit per customer",
                 "clv": "mean customer lifetime value (12 months)", "market_share": "market share"}
_outcome_rows: dict[tuple, list] = {}  # customer_outcomes' rows per store and state of its transactions
REQUIRED = {"survey": ("survey", "metric", "question"), "outcome": ("outcome",), "theme": ("theme",),
            "loop": ("metric",), "formula": ("formula",)}
NOTHING = {"survey": "no responses", "outcome": "no transactions", "theme": "no analysed comments",
           "loop": "no cases", "manual": "no approved value"}


class SourceError(ValueError):
    """A measure source that cannot be read, said so the user can fix it; `field` names it ("source.question")."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


# Checking ---------------------------------------------------------------------------------------------------


def _survey_target(db_session: Session, source: dict):
    """The source's survey metric as a checked cases.initiatives.Target (the initiatives' own check)."""
    query = "&".join(f"{part}={value}" for part, value in (source.get("filter") or ()))
    try:
        return parse_target(db_session=db_session, survey=str(source.get("survey") or ""),
                            metric=str(source.get("metric") or ""), question=str(source.get("question") or ""),
                            filter_query=query)
    except InitiativeError as exc:
        raise SourceError(str(exc), field=f"source.{exc.field}") from None


def check_source(db_session: Session, *, source: dict, measure_keys: set[str]) -> None:
    """Refuse a source that names an unknown kind, survey, question, theme, department, outcome, metric or
    measure, or a metric unsuited to its question; raises SourceError naming the field."""
    if not isinstance(source, dict):
        raise SourceError("give the measure a source mapping, such as {kind: manual}", field="source")
    kind = source.get("kind")
    if kind not in SOURCE_KINDS:
        raise SourceError(f"the source kind {kind!r} is not one voxpop reads; choose {', '.join(SOURCE_KINDS)}",
                          field="source.kind")
    if kind == "survey":
        for part in source.get("filter") or ():
            if not (isinstance(part, list | tuple) and len(part) == 2):
                raise SourceError("write each filter part as [attribute, name=value] or [answer, question:test]",
                                  field="source.filter")
        _survey_target(db_session, source)
    elif kind == "outcome":
        _check_outcome(source)
    elif kind == "theme":
        from voxpop.text.codebooks import codebook_keys

        theme = source.get("theme")
        if theme not in codebook_keys(db_session.connection()):
            raise SourceError(f"the codebook has no theme {theme!r}; give a theme's key from the codebook",
                              field="source.theme")
        survey = source.get("survey")
        if survey is not None and db_session.scalar(select(Survey.id).where(Survey.key == survey)) is None:
            raise SourceError(f"there is no survey {survey!r}; give a survey's key or leave it out for every survey",
                              field="source.survey")
    elif kind == "loop":
        if source.get("metric") not in LOOP_METRICS:
            raise SourceError(f"the loop metric {source.get('metric')!r} is not one voxpop counts; choose "
                              f"{', '.join(LOOP_METRICS)}", field="source.metric")
        name = source.get("department")
        if name is not None and _department_id(db_session, name) is None:
            raise SourceError(f"there is no department {name!r}; give a department's name as the admin page lists "
                              "it, or leave it out for every department", field="source.department")
    elif kind == "formula":
        try:
            formula = parse_formula(source.get("formula") or "")
        except FormulaError as exc:
            raise SourceError(str(exc), field="source.formula") from None
        unknown = [name for name in formula.names if name not in measure_keys]
        if unknown:
            raise SourceError(f"the formula names {unknown[0]!r}, which is no measure of this scorecard; use the "
                              "keys of its measures", field="source.formula")


def _check_outcome(source: dict) -> None:
    outcome = source.get("outcome")
    if outcome not in OUTCOMES:
        raise SourceError(f"the outcome {outcome!r} is not one voxpop computes; choose {', '.join(OUTCOMES)}",
                          field="source.outcome")
    if outcome != "market_share":
        return
    if source.get("basis") not in ("revenue", "customers"):
        raise SourceError("say whether the market share is of revenue or of customers: basis: revenue",
                          field="source.basis")
    sizes = source.get("sizes")
    if not isinstance(sizes, dict) or not sizes:
        raise SourceError("give the market's size per period, such as sizes: {2026-01: 1200000}",
                          field="source.sizes")
    for label, size in sizes.items():
        try:
            period_kind(str(label))
        except ValueError as exc:
            raise SourceError(str(exc), field=f"source.sizes.{label}") from None
        if not isinstance(size, int | float) or isinstance(size, bool) or size <= 0:
            raise SourceError(f"the market size for {label} is {size!r}; give a number above 0",
                              field=f"source.sizes.{label}")


def _department_id(db_session: Session, name: str) -> int | None:
    return db_session.scalar(select(Department.id).where(Department.name == name))


def describe_source(source: dict) -> str:
    """The source in words: 'NPS of feedback (question nps), where segment is b2b'."""
    kind = source.get("kind")
    if kind == "survey":
        target = target_from(source)
        return target.describe() if target else "a survey metric"
    if kind == "outcome":
        basis = f" (of {source.get('basis')})" if source.get("outcome") == "market_share" else ""
        return f"{OUTCOME_WORDS.get(source.get('outcome'), source.get('outcome'))}{basis} from the transactions"
    if kind == "theme":
        where = f" to {source['survey']}" if source.get("survey") else ""
        return f"share of analysed comments{where} raising the theme {source.get('theme')}"
    if kind == "loop":
        where = f" in {source['department']}" if source.get("department") else ""
        return f"{LOOP_METRICS.get(source.get('metric'), source.get('metric'))} of cases{where}"
    if kind == "formula":
        return f"formula: {source.get('formula')}"
    return "entered by people, counted once the owner approves"


# Reading ----------------------------------------------------------------------------------------------------


def _measured(period: str, estimate: Estimate, *, origin: str = "live", note: str = "") -> MeasuredValue:
    return MeasuredValue(period, estimate.value, estimate.n, estimate.ci_low, estimate.ci_high, estimate.low_base,
                         origin, note)


def _empty(period: str, kind: str) -> MeasuredValue:
    return MeasuredValue(period, None, 0 if kind not in ("manual", "formula") else None,
                         origin="manual" if kind == "manual" else "live", note=f"{NOTHING[kind]} in {period}")


def _span(periods: list[str]) -> tuple[date, date]:
    return min(period_days(label)[0] for label in periods), max(period_days(label)[1] for label in periods)


class SurveyReads:
    """The reads of one evaluation, kept for its measures: the rollups once per (survey, attribute), split in
    Python for measures on other questions, metrics or values of the attribute; the closed loop's metrics (every
    one of them per period and department) and hand-offs once per department and span, for every loop measure."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str | None], tuple[date, date, list[dict]]] = {}
        self._loops: dict[tuple, object] = {}
        self.reads = 0  # queries issued, for the tests and the benchmark
        self.loop_reads = 0  # loop_metrics and hand-off computations, likewise

    def loop(self, key: tuple, compute):
        """The loop computation named by `key` (its arguments), computed on the first asking."""
        if key not in self._loops:
            self._loops[key] = compute()
            self.loop_reads += 1
        return self._loops[key]

    def rows(self, db_session: Session, *, survey: str, attribute: str | None, since: date,
             until: date) -> list[dict]:
        """rollup_counts' monthly rows of the survey (per value of `attribute`) for the months since..until."""
        held = self._held.get((survey, attribute))
        if held is None or held[0] > since or held[1] < until:
            # A wider span than the one held is read once, covering both; spans are whole months.
            since_read, until_read = (since, until) if held is None else (min(since, held[0]), max(until, held[1]))
            rows = rollup_counts(db_session.connection(), period="month", survey=survey, attribute=attribute,
                                 since=since_read, until=until_read)
            self.reads += 1
            held = self._held[(survey, attribute)] = (since_read, until_read, rows)
        first, last = since.isoformat(), until.isoformat()
        return [row for row in held[2] if first <= str(row["period"])[:10] <= last]


def measure_series(db_session: Session, *, measure: Measure, periods: list[str], zone: str, min_base: int,
                   now: datetime, reads: SurveyReads | None = None) -> dict[str, MeasuredValue]:
    """The measure's value in each of `periods` (one entry each; value None where there is no data); `reads`
    shares survey and loop reads across the measures of one evaluation."""
    return _series(db_session, measure=measure, periods=list(periods), zone=zone, min_base=min_base, now=now,
                   seen=frozenset(), reads=reads or SurveyReads())


def _series(db_session, *, measure, periods, zone, min_base, now, seen, reads) -> dict[str, MeasuredValue]:
    if not periods:
        return {}
    source = measure.source or {}
    kind = source.get("kind", "manual")
    for name in REQUIRED.get(kind, ()):  # checked when applied; a source stored another way is said, not a 500
        if not source.get(name):
            raise SourceError(f"the {kind} source of {measure.key} names no {name}; give one", field=f"source.{name}")
    if kind == "survey":
        found = _survey(db_session, source, periods, zone=zone, min_base=min_base, reads=reads)
    elif kind == "outcome":
        found = _outcome(db_session, source, periods, min_base=min_base, now=now)
    elif kind == "theme":
        found = _theme(db_session, source, periods, zone=zone, min_base=min_base)
    elif kind == "loop":
        found = _loop(db_session, source, periods, zone=zone, min_base=min_base, now=now, reads=reads)
    elif kind == "formula":
        return _formula(db_session, measure, periods, zone=zone, min_base=min_base, now=now, seen=seen, reads=reads)
    elif kind == "manual":
        found = _manual(db_session, measure, periods)
    else:
        raise SourceError(f"the source kind {kind!r} is not one voxpop reads", field="source.kind")
    return {label: found.get(label) or _empty(label, kind) for label in periods}


def _rollup_where(target) -> tuple[str, list[str]] | None | bool:
    """The rollups' `where` for the target's filter: None for no filter, (attribute, values) for one attribute's
    values, False when only the answers can count it (two attributes, or an answer test)."""
    read: ResponseFilter = target.response_filter()
    if read.answers or len(read.attributes) > 1:
        return False
    return (read.attributes[0][0], list(read.attributes[0][1])) if read.attributes else None


def _survey_months(db_session: Session, target, periods: list[str], *, zone: str, reads: SurveyReads,
                   attribute: str | None = None):
    """The target question's monthly counts over the periods' span: from the rollups when they can answer, else
    from the answers; rows carry "period" (the month's first day) and, with `attribute`, its value."""
    since, until = _span(periods)
    where = _rollup_where(target)
    if where is False:
        if attribute:
            raise SourceError("a measure per unit reads the rollups: give it no filter, or one attribute's values",
                              field="source.filter")
        return _counts(db_session, target, zone=zone, since=since, until=until, period="month")
    if attribute and where and where[0] != attribute:
        raise SourceError(f"the filter names {where[0]}, not the units' attribute {attribute}; filter on "
                          f"{attribute} or on nothing", field="source.filter")
    # Read per value of the filter's attribute (all its values, every question) and split here, so measures on
    # the same survey and attribute share one read.
    sliced = attribute or (where[0] if where else None)
    rows = reads.rows(db_session, survey=target.survey, attribute=sliced, since=since, until=until)
    chosen = set(where[1]) if where else None
    return [row for row in rows if row["question"] == target.question
            and (chosen is None or str(row[sliced]) in chosen)]


def _by_period(rows, kind: str, key=lambda row: ()) -> dict[tuple, dict]:
    """Rows summed per (key..., period label): a quarter sums its months, a question over versions its rows."""
    grouped: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[(*key(row), period_of(str(row["period"]), kind))].append(row)
    return {group: _merged(found) for group, found in grouped.items()}


def _survey(db_session, source, periods, *, zone, min_base, reads) -> dict[str, MeasuredValue]:
    target = target_from(source)
    kind = period_kind(periods[0])
    summed = _by_period(_survey_months(db_session, target, periods, zone=zone, reads=reads), kind)
    return {label: _measured(label, metric_estimate(target.metric, counts, min_base=min_base))
            for (label,), counts in summed.items() if counts["n"]}


def _theme(db_session, source, periods, *, zone, min_base) -> dict[str, MeasuredValue]:
    """The share of analysed comments (to the survey, when named) raising the theme, per period; Wilson."""
    from voxpop.text.metrics import effective_themes

    since, until = _span(periods)
    conditions = within_days(Response.submitted_at, since, until, zone)
    if source.get("survey"):
        conditions.append(Response.survey_id == select(Survey.id).where(Survey.key == source["survey"])
                          .scalar_subquery())
    first, last = db_session.execute(select(func.min(Response.submitted_at), func.max(Response.submitted_at))
                                     .where(*conditions)).one()
    if first is None:
        return {}
    themes = effective_themes([source["theme"]])
    analysed = (select(local_months(Response.submitted_at, zone, first, last).label("month"),
                       CommentAnalysis.answer_id, themes.c.answer_id.label("tagged"))
                .join(Answer, Answer.id == CommentAnalysis.answer_id)
                .join(Response, Response.id == Answer.response_id)
                .outerjoin(themes, themes.c.answer_id == CommentAnalysis.answer_id)
                .where(*conditions).subquery("analysed"))
    kind = period_kind(periods[0])
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for month, comments, tagged in db_session.execute(
            select(analysed.c.month, func.count(distinct(analysed.c.answer_id)), func.count(distinct(analysed.c.tagged)))
            .group_by(analysed.c.month)):
        counted = counts[period_of(str(month), kind)]
        counted[0], counted[1] = counted[0] + int(tagged), counted[1] + int(comments)
    return {label: _measured(label, proportion(successes=tagged, n=comments, min_base=min_base))
            for label, (tagged, comments) in counts.items() if comments}


def _loop_value(row: LoopRow, metric: str, label: str) -> MeasuredValue | None:
    if metric == "first_contact_on_time":
        return _measured(label, row.first_contact_in_target)
    if metric == "recovery_rate":
        return _measured(label, row.recovery)
    if metric == "time_to_resolution":
        median = row.hours_to_resolution
        if not median.n:
            return None
        return MeasuredValue(label, median.value, median.n, median.ci_low, median.ci_high, False, "live",
                             "" if median.ci_low is not None else "too few resolved cases for an interval")
    return None


def _loop(db_session, source, periods, *, zone, min_base, now, by_department=False, reads=None):
    """The loop measure per period (or per department and period): {(department_id, label): MeasuredValue};
    `reads` shares one computation per department and span across the loop measures of an evaluation."""
    metric = source.get("metric")
    department = _department_id(db_session, source["department"]) if source.get("department") else None
    if source.get("department") and department is None:
        raise SourceError(f"there is no department {source['department']!r}", field="source.department")
    since, until = _span(periods)
    kind = period_kind(periods[0])
    reads = reads or SurveyReads()
    asked = (zone, now, min_base, kind, since, until, department, by_department)
    if metric == "handoffs_on_time":
        counted = reads.loop(("handoffs", *asked), lambda: _handoffs(
            db_session, zone=zone, now=now, since=since, until=until, period=kind, department_id=department,
            by_department=by_department))
        found = {(unit, label): _measured(label, proportion(successes=on_time, n=n, min_base=min_base))
                 for (unit, label), (on_time, n) in counted.items() if n}
    else:
        rows = reads.loop(("metrics", *asked), lambda: loop_metrics(
            db_session, zone=zone, now=now, min_base=min_base, period=kind, since=since, until=until,
            department_id=department, by_department=by_department))
        found = {}
        for row in rows:
            value = _loop_value(row, metric, row.period)
            if value is not None and value.n:
                found[(row.department_id, row.period)] = value
    return found if by_department else {label: value for (_, label), value in found.items()}


def _handoffs(db_session, *, zone, now, since, until, period, department_id, by_department):
    """Cases handed off between departments (an assignment whose department differs from the one before), per
    department they went to (or EVERY) and the period they were opened in: (closed on time, decided), where
    decided means resolved, or past its resolve deadline as of `now`, and on time means resolved by it."""
    conditions = within_days(Case.opened_at, since, until, zone)
    if department_id is not None:
        conditions.append(Case.department_id == department_id)
    handed: set[int] = set()
    for case_id, details in db_session.execute(
            select(CaseEvent.case_id, CaseEvent.details).join(Case, Case.id == CaseEvent.case_id)
            .where(CaseEvent.kind.in_(("assigned", "reassigned")), *conditions)):
        details = details or {}
        if details.get("previous_department_id") is not None and \
                details.get("department_id") != details.get("previous_department_id"):
            handed.add(case_id)
    counted: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    local = ZoneInfo(zone)
    for unit, opened, resolved, due in db_session.execute(
            select(Case.department_id, Case.opened_at, Case.resolved_at, Case.resolve_due)
            .where(Case.id.in_(sorted(handed)))):
        if due is None or (resolved is None and due > now):
            continue  # no deadline, or its deadline still running: neither on time nor late yet
        label = period_label(opened.astimezone(local).date(), period)
        key = (unit if by_department else EVERY, label)
        counted[key][0] += int(resolved is not None and resolved <= due)
        counted[key][1] += 1
    return counted


def _outcome(db_session, source, periods, *, min_base, now) -> dict[str, MeasuredValue]:
    """A customer outcome per period from the stored transactions, through analysis.customer_outcomes."""
    from voxpop.analysis import sources as engine
    from voxpop.analysis.customer_outcomes import MarketSize, customer_outcomes, market_shares
    from voxpop.analysis.engine import MetricError

    _check_outcome(source)
    outcome, kind = source["outcome"], period_kind(periods[0])
    # The outcomes walk every customer's purchases: read once per state of the transactions (imports only add
    # lines, each stamped; their count sees a customer deleted), so retention, churn and acquisition share one
    # computation.
    lines, newest, imported = db_session.execute(select(func.count(), func.max(Transaction.id),
                                                        func.max(Transaction.imported_at))).one()
    if not lines:
        return {}
    made_from = (str(db_session.get_bind().url), kind, source.get("window"), min_base, lines, newest, str(imported))
    if outcome not in ("profitability", "clv", "market_share") and made_from in _outcome_rows:
        return _outcome_found(_outcome_rows[made_from], outcome, periods, kind)
    if outcome in ("profitability", "clv"):
        return _customer_value(db_session, outcome, periods, kind=kind, made_from=made_from, min_base=min_base,
                               now=now)
    connection = engine.store_connection(db_session.get_bind().url)
    try:
        table = engine.store_transactions(connection)
        sales = table.filter(table.kind == "sale")
        try:
            if outcome == "market_share":
                sizes = [MarketSize(period_days(label)[0], None, float(size))
                         for label, size in (source.get("sizes") or {}).items() if label in periods]
                rows = market_shares(sales, sizes, basis=source["basis"], period=kind, min_base=min_base)
            else:
                rows = customer_outcomes(sales, period=kind, window=source.get("window"), min_base=min_base)
                if len(_outcome_rows) >= 16:
                    _outcome_rows.clear()
                _outcome_rows[made_from] = rows
        except MetricError as exc:
            if outcome == "market_share" and str(exc).startswith("Market size"):  # a size below our own count
                raise SourceError(str(exc), field="source.sizes") from None
            return {}  # no transactions yet: every period is without data
    finally:
        connection.disconnect()
    return _outcome_found(rows, outcome, periods, kind)


def _outcome_found(rows, outcome: str, periods: list[str], kind: str) -> dict[str, MeasuredValue]:
    found = {}
    for row in rows:
        label = period_of(row.keys["period"], kind)
        if row.metric == outcome and label in periods and row.estimate.n:
            partial = row.extra.get("full_period") is False
            found[label] = _measured(label, row.estimate, note="the transactions end before the period does"
                                     if partial else "")
    return found


def _customer_value(db_session, outcome, periods, *, kind, made_from, min_base, now) -> dict[str, MeasuredValue]:
    """Profitability: the mean profit per customer who bought in the period (revenue − cost to serve, Kaplan &
    Norton 1996, ch. 4). CLV: the mean realised value of the period's new customers over the 365 days from their
    first purchase (a cohort's, once its year has passed). Both a Student t interval on the customers' values."""
    from voxpop.core.estimates import mean

    held = (*made_from, outcome)
    totals = _outcome_rows.get(held)
    if totals is None:
        totals = _value_totals(db_session, outcome, kind)
        if len(_outcome_rows) >= 16:
            _outcome_rows.clear()
        _outcome_rows[held] = totals
    found = {}
    for label, (n, total, squares) in totals.items():
        if label not in periods:
            continue
        if outcome == "clv" and period_days(label)[1] + timedelta(days=365) > now.date():
            found[label] = MeasuredValue(label, None, n, note=f"the customers won in {label} have not had their 365 "
                                         "days yet")
            continue
        found[label] = _measured(label, mean(n=n, total=total, total_squares=squares, min_base=min_base))
    return found


def _value_totals(db_session, outcome: str, kind: str) -> dict[str, tuple[int, float, float]]:
    """Per period: the number of customers, the sum of their values and of the values' squares. The store sums
    each customer's lines per month (or per first-year cohort) in SQL; Python adds the months of a quarter."""
    profit = Transaction.amount - func.coalesce(Transaction.cost, 0.0)
    lines = Transaction.kind != "non_product"
    per_customer: dict[tuple[int, str], float] = defaultdict(float)
    if outcome == "profitability":
        year, month = extract("year", Transaction.day), extract("month", Transaction.day)
        for customer, year_of, month_of, value in db_session.execute(
                select(Transaction.customer_id, year, month, func.sum(profit)).where(lines)
                .group_by(Transaction.customer_id, year, month)):
            per_customer[(customer, period_label(date(int(year_of), int(month_of), 1), kind))] += value
    else:
        first = (select(Transaction.customer_id, func.min(Transaction.day).label("first_day"))
                 .where(Transaction.kind == "sale").group_by(Transaction.customer_id).subquery())
        year_end = _day(first.c.first_day, db_session.get_bind().dialect.name, 365)
        for customer, first_day, value in db_session.execute(
                select(first.c.customer_id, first.c.first_day, func.sum(profit))
                .join(Transaction, Transaction.customer_id == first.c.customer_id)
                .where(lines, Transaction.day >= first.c.first_day, Transaction.day < year_end)
                .group_by(first.c.customer_id, first.c.first_day)):
            first_day = date.fromisoformat(first_day) if isinstance(first_day, str) else first_day
            per_customer[(customer, period_label(first_day, kind))] += value
    totals: dict[str, list] = defaultdict(lambda: [0, 0.0, 0.0])
    for (_, label), value in per_customer.items():
        counted = totals[label]
        counted[0] += 1
        counted[1] += value
        counted[2] += value * value
    return {label: tuple(counted) for label, counted in totals.items()}


def _manual(db_session, measure, periods) -> dict[str, MeasuredValue]:
    """Approved values only: an entered value still awaiting approval is not counted, and the note says so."""
    found = {}
    for entered in db_session.scalars(select(MeasureValue).where(MeasureValue.measure_id == measure.id,
                                                                  MeasureValue.period.in_(periods))):
        if entered.approved_at is None:
            found[entered.period] = MeasuredValue(entered.period, None, None, origin=entered.origin,
                                                  note=f"a value for {entered.period} is awaiting approval")
        else:
            found[entered.period] = MeasuredValue(entered.period, entered.value, entered.n, origin=entered.origin,
                                                  note=entered.comment)
    return found


def formula_of(measure: Measure) -> Formula:
    """The measure's parsed formula; SourceError at source.formula when it is not one."""
    try:
        return parse_formula((measure.source or {}).get("formula") or "")
    except FormulaError as exc:
        raise SourceError(str(exc), field="source.formula") from None


def unknown_name(name: str) -> SourceError:
    return SourceError(f"the formula names {name!r}, which is no measure of this scorecard", field="source.formula")


def cycle(key: str, through: Iterable[str]) -> SourceError:
    return SourceError(f"the formula of {key} depends on itself through {', '.join(sorted(through))}; break the "
                       "cycle", field="source.formula")


def formula_values(formula: Formula, inputs: Mapping[str, Mapping[str, MeasuredValue]],
                   periods: Iterable[str]) -> dict[str, MeasuredValue]:
    """The formula per period over its inputs' series: no value when an input has none or the arithmetic fails
    (a division by zero), said in the note; no interval (the inputs' errors are not independent in general)."""
    periods = list(periods)
    for name in formula.names:
        if name not in inputs:
            return {p: MeasuredValue(p, None, origin="formula", note=str(unknown_name(name))) for p in periods}
    result = {}
    for label in periods:
        values = {name: inputs[name].get(label) for name in formula.names}
        missing = [name for name, value in values.items() if value is None or value.value is None]
        if missing:
            result[label] = MeasuredValue(label, None, origin="formula", note=f"{missing[0]} has no value in {label}")
            continue
        try:
            number = float(evaluate(formula, {name: float(value.value) for name, value in values.items()}))
        except (FormulaError, ZeroDivisionError, OverflowError) as exc:  # said in this period, not a 500
            result[label] = MeasuredValue(label, None, origin="formula", note=str(exc))
            continue
        result[label] = MeasuredValue(label, number, origin="formula",
                                      low_base=any(value.low_base for value in values.values()))
    return result


def _formula(db_session, measure, periods, *, zone, min_base, now, seen, reads) -> dict[str, MeasuredValue]:
    """The formula over other measures of the scorecard, each input's series read here (for direct callers; an
    evaluation passes the series it already has to formula_values)."""
    if measure.key in seen:
        raise cycle(measure.key, seen)
    formula = formula_of(measure)
    inputs = {}
    for key in formula.names:
        other = db_session.scalar(select(Measure).where(Measure.scorecard_id == measure.scorecard_id,
                                                        Measure.key == key))
        if other is None:
            raise unknown_name(key)
        inputs[key] = _series(db_session, measure=other, periods=periods, zone=zone, min_base=min_base, now=now,
                              seen=seen | {measure.key}, reads=reads)
    return formula_values(formula, inputs, periods)


def unit_series(db_session: Session, *, measure: Measure, periods: list[str], attribute: str | None, zone: str,
                min_base: int, now: datetime, reads: SurveyReads | None = None) -> dict[str, dict[str, MeasuredValue]]:
    """Per unit, the measure's value in each period: a response attribute's values (survey measures, from the
    rollups) or departments (loop measures); SourceError when the source has no units; `reads` as for
    measure_series."""
    source = measure.source or {}
    kind = source.get("kind")
    periods = list(periods)
    units: dict[str, dict[str, MeasuredValue]] = {}
    if kind == "survey" and attribute:
        target = target_from(source)
        summed = _by_period(_survey_months(db_session, target, periods, zone=zone, reads=reads or SurveyReads(),
                                           attribute=attribute),
                            period_kind(periods[0]), key=lambda row: (row[attribute],))
        for (unit, label), counts in summed.items():
            if counts["n"]:
                units.setdefault(str(unit), {})[label] = _measured(label, metric_estimate(target.metric, counts,
                                                                                          min_base=min_base))
    elif kind == "loop":
        names = dict(db_session.execute(select(Department.id, Department.name)).all())
        found = _loop(db_session, source, periods, zone=zone, min_base=min_base, now=now, by_department=True,
                      reads=reads)
        for (department, label), value in found.items():
            units.setdefault(names.get(department, "No department"), {})[label] = value
    else:
        raise SourceError(f"a {kind} measure has no units to pool across: units come from a survey measure's "
                          "response attribute or a loop measure's departments", field="source.kind")
    return {unit: {label: found.get(label) or _empty(label, kind) for label in periods}
            for unit, found in sorted(units.items())}
