"""Core customer outcomes counted by the engine that holds the transactions: retention, churn, acquisition and
repeat purchase per period, the cohort table, customer profitability and market share.

A customer is *active* at an instant when they bought within the `window` before it: `window` days, or with no
window, within the period that ends there. Per period, S counts the customers active at its start, E those active
at its end, N those whose first purchase ever falls in it, and `won_back` those active at the end who had lapsed
before it (neither in S nor new). Purchases on the same day are one purchase. A contractual definition (a contract
that ends) belongs to the sBG model in voxpop.core.clv.sbg, fitted on cohorts of subscribers.

Dates become whole days since 1970 and periods whole numbers (months since year 0, weeks since the Monday
before 1970-01-01), so every step is integer arithmetic, grouping and lag/lead windows per customer: the same
on DuckDB, SQLite, PostgreSQL and Spark. Only counts per group and period come back into Python.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import ibis
import ibis.expr.types as ir

from voxpop.analysis.customer_summary import epoch_days
from voxpop.analysis.engine import MetricError, Row, count_if
from voxpop.analysis.sources import blank_as_missing, require_columns
from voxpop.core import outcomes
from voxpop.core.outcomes import (
    CohortRow,
    MarketBasis,
    ProfitBlock,
    ProfitDistribution,
    WhaleCurve,
)

Period = Literal["week", "month", "quarter", "year"]
LONGEST_DAYS = {"week": 7, "month": 31, "quarter": 92, "year": 366}
EPOCH = date(1970, 1, 1)
COUNTS = ("buyers", "repeat_buyers", "new", "spell_starts", "spell_ends")


def with_period(table: ir.Table, *, day: str, period: Period, name: str) -> ir.Table:
    """The table with a column `name`: the period of the day number in column `day`, a whole number that counts
    periods (months since year 0, weeks since the Monday before 1970-01-01).

    Months come from Hinnant's civil-from-days algorithm ("chrono-Compatible Low-Level Date Algorithms"): integer
    arithmetic only, so every backend gives the same month. One column per step: as one expression its terms
    repeat each other, and the SQL grows so deep that SQLite's parser overflows."""
    if period == "week":
        return table.mutate(**{name: (table[day] + 3) // 7})  # 1970-01-01 was a Thursday
    steps = table.mutate(_shifted=table[day] + 719468)  # days since 0000-03-01: leap days come last in a year
    steps = steps.mutate(_era=steps._shifted // 146097)
    steps = steps.mutate(_day_of_era=steps._shifted - steps._era * 146097)
    steps = steps.mutate(_year_of_era=(steps._day_of_era - steps._day_of_era // 1460 + steps._day_of_era // 36524
                                       - steps._day_of_era // 146096) // 365)
    steps = steps.mutate(_from_march=(5 * (steps._day_of_era - (365 * steps._year_of_era + steps._year_of_era // 4
                                                                 - steps._year_of_era // 100)) + 2) // 153)
    # March is month 2 (0-based) of its year; January and February, 10 and 11 months on, belong to the next year:
    # either way year × 12 + month − 1 = year_from_march × 12 + from_march + 2.
    months = (steps._era * 400 + steps._year_of_era) * 12 + steps._from_march + 2
    counted = {"month": months, "quarter": months // 3, "year": months // 12}[period]
    return steps.mutate(**{name: counted}).drop("_shifted", "_era", "_day_of_era", "_year_of_era", "_from_march")


def period_of(moment: date, period: Period) -> int:
    """The period of a Python date, numbered as with_period numbers it."""
    if period == "week":
        return ((moment - EPOCH).days + 3) // 7
    months = moment.year * 12 + moment.month - 1
    return {"month": months, "quarter": months // 3, "year": months // 12}[period]


def period_start(index: int, period: Period) -> date:
    """The first day of the period numbered `index`."""
    if period == "week":
        return EPOCH + timedelta(days=7 * index - 3)
    months = {"month": index, "quarter": 3 * index, "year": 12 * index}[period]
    return date(months // 12, months % 12 + 1, 1)


def check_request(period: str, window: int | None) -> None:
    """Refuse a period or window that the definitions cannot use, saying what to give instead."""
    if period not in LONGEST_DAYS:
        raise MetricError(f"Choose `period` from week, month, quarter or year; {period!r} is not one of them",
                          parameter="period")
    if window is not None and window < 1:
        raise MetricError(f"The activity window is {window} days; give `window` as 1 day or more (365, say), "
                          "or none for one period", parameter="window")
    if window is not None and window < LONGEST_DAYS[period]:
        raise MetricError(f"A window of {window} days is shorter than a {period} ({LONGEST_DAYS[period]} days at most): "
                          "a customer who first bought early in the period would not be active at its end. Give "
                          f"`window` as {LONGEST_DAYS[period]} days or more, or a shorter `period`", parameter="window")


def customer_periods(transactions: ir.Table, *, period: Period, window: int | None, by: Sequence[str] = (),
                     customer: str = "customer", date_column: str = "date") -> ir.Table:
    """One row per group, customer and period with a purchase: `period`, `purchase_days`, `first` (the customer's
    first period in the group), and the period boundaries at which these purchases make them active, `active_from`
    to `active_to` (boundary b is the start of period b), with the previous row's `active_to` and the next row's
    `active_from`."""
    check_request(period, window)
    keyed = _keyed(transactions, by=by, customer=customer, date_column=date_column).distinct()
    keyed = with_period(keyed, day="day", period=period, name="period")
    per_period = keyed.group_by([*by, "customer", "period"]).aggregate(
        first_day=keyed.day.min(), last_day=keyed.day.max(), purchase_days=keyed.day.count())
    # A purchase on day d makes its customer active at every boundary in (d, d + window]: from the next period's
    # start to the start of the period holding d + window. Without a window, at the next period's start only.
    per_period = per_period.mutate(active_from=per_period.period + 1)
    if window is None:
        per_period = per_period.mutate(active_to=per_period.period + 1)
    else:
        reach = per_period.mutate(reach=per_period.last_day + ibis.literal(window, "int64"))
        per_period = with_period(reach, day="reach", period=period, name="active_to").drop("reach")
    ordered = ibis.window(group_by=[*by, "customer"], order_by="period")
    return per_period.mutate(
        first=per_period.period.min().over(ibis.window(group_by=[*by, "customer"])),
        previous_to=per_period.active_to.lag().over(ordered),
        next_from=per_period.active_from.lead().over(ordered),
    )


def period_statistics(transactions: ir.Table, *, period: Period = "month", window: int | None = None,
                      by: Sequence[str] = (), customer: str = "customer", date_column: str = "date") -> ir.Table:
    """The counts behind every per-period outcome, in one query: per group and period `index`, the customers
    who bought (`buyers`), bought on two days or more (`repeat_buyers`), first bought (`new`), began a spell of
    activity at the end of the period (`spell_starts`) or ended one at its start (`spell_ends`), and the first
    and last day of purchase.

    `active_to` rises with the period, so a customer's active boundaries form runs ("spells"): a spell starts at a
    row whose `active_from` is past the previous row's `active_to` + 1, and ends at a row whose `active_to` + 1
    is before the next row's `active_from`. Ends are counted where they fall, hence the union of two counts."""
    rows = customer_periods(transactions, period=period, window=window, by=by, customer=customer,
                            date_column=date_column)
    begins = rows.previous_to.isnull() | (rows.active_from > rows.previous_to + 1)
    zero, no_day = ibis.literal(0, "int64"), ibis.null("int64")
    bought = rows.group_by([*by, "period"]).aggregate(
        buyers=rows.customer.count().cast("int64"), repeat_buyers=count_if(rows.purchase_days >= 2).cast("int64"),
        new=count_if(rows.period == rows.first).cast("int64"), spell_starts=count_if(begins).cast("int64"),
        first_day=rows.first_day.min().cast("int64"), last_day=rows.last_day.max().cast("int64"))
    bought = bought.select(*by, index=bought.period.cast("int64"), buyers="buyers", repeat_buyers="repeat_buyers",
                           new="new", spell_starts="spell_starts", spell_ends=zero, first_day="first_day",
                           last_day="last_day")
    ending = rows.filter(rows.next_from.isnull() | (rows.next_from > rows.active_to + 1))
    ends = ending.group_by([*by, "active_to"]).aggregate(spell_ends=ending.customer.count().cast("int64"))
    ends = ends.select(*by, index=ends.active_to.cast("int64"), buyers=zero, repeat_buyers=zero, new=zero,
                       spell_starts=zero, spell_ends="spell_ends", first_day=no_day, last_day=no_day)
    return bought.union(ends)


def customer_outcomes(transactions: ir.Table, *, period: Period = "month", window: int | None = None,
                      by: Sequence[str] = (), customer: str = "customer", date_column: str = "date",
                      min_base: int = 30, confidence: float = 0.95) -> list[Row]:
    """Retention, churn, acquisition and repeat purchase per group of `by` and per period, from each group's first
    period to the data's last, as rows in `voxpop metrics`' shape; each row also carries its counts, the churn
    definition, `full_window` (the window before the period's start lies inside the data, so S misses no one)
    and `full_period` (the data reach the period's last day)."""
    by = list(by)
    counted = period_statistics(transactions, period=period, window=window, by=by, customer=customer,
                                date_column=date_column).execute()
    if counted.first_day.isna().all():
        raise MetricError("There are no transactions with a customer to count; import transactions first")
    first_day, last_day = _as_date(int(counted.first_day.min())), _as_date(int(counted.last_day.max()))
    last = period_of(last_day, period)
    definition = outcomes.no_purchase(window_days=window, period=period)
    counts: dict[tuple, dict[int, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for record in counted.to_dict("records"):
        group = tuple(_key(record[name]) for name in by)
        counts[group][int(record["index"])].update({name: int(record[name]) for name in COUNTS})
    rows: list[Row] = []
    for group, periods in sorted(counts.items(), key=lambda item: tuple(str(key) for key in item[0])):
        active = 0
        for index in range(min(index for index, found in periods.items() if found["buyers"]), last + 1):
            found = periods.get(index, Counter())
            start = active  # active at the boundary that opens this period
            active = active + found["spell_starts"] - found["spell_ends"]
            new, won_back = found["new"], found["spell_starts"] - found["new"]
            opens = period_start(index, period)
            window_start = (period_start(index - 1, period) if window is None else opens - timedelta(days=window))
            keys = {**dict(zip(by, group)), "period": opens.isoformat()}
            flags = {"full_window": window_start >= first_day,
                     "full_period": period_start(index + 1, period) - timedelta(days=1) <= last_day}
            retention = outcomes.retention_rate(start=start, end=active, new=new, won_back=won_back,
                                                min_base=min_base, confidence=confidence)
            churn = outcomes.churn_rate(retention, definition=definition)
            flows = {"start": start, "end": active, "new": new, "won_back": won_back,
                     "retained": active - new - won_back}
            buyers, repeat = found["buyers"], found["repeat_buyers"]
            rows += [
                Row(keys, "retention", retention, {**flows, "definition": definition, **flags}),
                Row(keys, "churn", churn.estimate, {**flows, "definition": churn.definition, **flags}),
                Row(keys, "acquisition", outcomes.acquisition_rate(new=new, end=active, min_base=min_base,
                                                                   confidence=confidence),
                    {"new": new, "end": active, **flags}),
                Row(keys, "repeat_purchase", outcomes.repeat_purchase_rate(
                    repeat_customers=repeat, customers=buyers, min_base=min_base, confidence=confidence),
                    {"buyers": buyers, "repeat_buyers": repeat, **flags}),
            ]
    return rows


def cohort_counts(transactions: ir.Table, *, period: Period = "month", customer: str = "customer",
                  date_column: str = "date") -> ir.Table:
    """Distinct customers per first-purchase period (`cohort`) and periods since it (`since`) who bought then."""
    rows = customer_periods(transactions, period=period, window=None, customer=customer, date_column=date_column)
    cells = rows.mutate(cohort=rows.first, since=rows.period - rows.first)
    return cells.group_by(["cohort", "since"]).aggregate(customers=cells.customer.count())


def cohort_table(transactions: ir.Table, *, period: Period = "month", customer: str = "customer",
                 date_column: str = "date", min_base: int = 30, confidence: float = 0.95) -> tuple[CohortRow, ...]:
    """The cohort retention table, cohorts named by their period's first day (ISO), each observed up to the
    data's last period; filter the table first for one segment's heat map."""
    counted = cohort_counts(transactions, period=period, customer=customer, date_column=date_column).execute()
    if counted.empty:
        raise MetricError("There are no transactions with a customer to count; import transactions first")
    last = int((counted.cohort + counted.since).max())
    active: dict[str, list[int]] = {}
    for cohort, since, customers in zip(counted.cohort, counted.since, counted.customers):
        cells = active.setdefault(period_start(int(cohort), period).isoformat(), [0] * (last - int(cohort) + 1))
        cells[int(since)] = int(customers)
    return outcomes.cohort_retention(active, min_base=min_base, confidence=confidence)


def customer_profits(transactions: ir.Table, *, customer: str = "customer", amount: str = "amount",
                     cost: str | None = None) -> ir.Table:
    """One row per customer: revenue (Σ amount), cost to serve (Σ cost, 0 without a cost column) and profit,
    revenue − cost to serve (Kaplan & Norton 1996, ch. 4, customer profitability)."""
    require_columns(transactions, [customer, amount, *([cost] if cost else [])], "the transactions")
    keyed = transactions.select(customer=transactions[customer].cast("string"),
                                revenue=transactions[amount].cast("float64"),
                                cost=transactions[cost].cast("float64") if cost else ibis.literal(0.0, "float64"))
    keyed = keyed.filter(keyed.customer.notnull())
    per_customer = keyed.group_by("customer").aggregate(revenue=keyed.revenue.sum(), cost=keyed.cost.sum())
    return per_customer.mutate(profit=per_customer.revenue - per_customer.cost)


def profit_blocks(transactions: ir.Table, *, blocks: int = 100, customer: str = "customer", amount: str = "amount",
                  cost: str | None = None) -> ir.Table:
    """Customers ranked by profit (highest first) in about `blocks` runs of equal size, cut where profit changes
    sign: per run `rank` (its first), customers, profit, lowest, highest and squares (Σ profit²)."""
    profits = customer_profits(transactions, customer=customer, amount=amount, cost=cost)
    ranked = profits.mutate(rank=ibis.row_number().over(order_by=[profits.profit.desc(), profits.customer]),
                            customers=profits.customer.count().over(ibis.window()),
                            sign=ibis.cases((profits.profit > 0, 1), (profits.profit < 0, -1), else_=0))
    ranked = ranked.mutate(block=(ranked["rank"] * blocks) // ranked.customers)
    return ranked.group_by(["sign", "block"]).aggregate(
        rank=ranked["rank"].min(), customers=ranked.customer.count(), profit=ranked.profit.sum(),
        lowest=ranked.profit.min(), highest=ranked.profit.max(), squares=(ranked.profit * ranked.profit).sum())


@dataclass(frozen=True)
class Profitability:
    """Customer profitability: the distribution of profit per customer and the whale curve; without a cost
    column, profit is revenue (`cost_to_serve` False) and the curve has no unprofitable tail."""

    distribution: ProfitDistribution
    whale: WhaleCurve
    cost_to_serve: bool


def profitability(transactions: ir.Table, *, blocks: int = 100, customer: str = "customer", amount: str = "amount",
                  cost: str | None = None, min_base: int = 30, confidence: float = 0.95) -> Profitability:
    """Profit per customer (revenue − cost to serve) summarised and drawn as a whale curve through ≤ 2 × `blocks`
    points; the engine ranks the customers, so only the blocks reach Python."""
    counted = profit_blocks(transactions, blocks=blocks, customer=customer, amount=amount, cost=cost).execute()
    if counted.empty:
        raise MetricError("There are no transactions with a customer to count; import transactions first")
    counted = counted.sort_values("rank")
    ranked = [ProfitBlock(customers=int(row.customers), profit=float(row.profit), lowest=float(row.lowest),
                          highest=float(row.highest)) for row in counted.itertuples()]
    distribution = outcomes.profit_distribution(ranked, total_squares=float(counted.squares.sum()),
                                                min_base=min_base, confidence=confidence)
    return Profitability(distribution=distribution, whale=outcomes.whale_curve(ranked), cost_to_serve=cost is not None)


@dataclass(frozen=True)
class MarketSize:
    """The whole market in one period (its first day) and segment (None for all): revenue or customers."""

    period: date
    segment: str | None
    size: float


def market_shares(transactions: ir.Table, sizes: Sequence[MarketSize], *, basis: MarketBasis,
                  period: Period = "month", by: str | None = None, customer: str = "customer",
                  date_column: str = "date", amount: str = "amount", min_base: int = 30,
                  confidence: float = 0.95) -> list[Row]:
    """Our share of each market size entered, per period and (with `by`) segment: of revenue, or of customers."""
    if by is None and any(size.segment is not None for size in sizes):
        raise MetricError("The market sizes name segments; name the column that holds the segment with `by`",
                          parameter="by")
    check_request(period, None)
    keyed = _keyed(transactions, by=[by] if by else [], customer=customer, date_column=date_column,
                   revenue=transactions[amount].cast("float64") if basis == "revenue" else ibis.literal(0.0))
    keyed = with_period(keyed, day="day", period=period, name="period")
    totals = keyed.group_by([*([by] if by else []), "period"]).aggregate(
        customers=keyed.customer.nunique(), revenue=keyed.revenue.sum()).execute()
    ours = {(_key(record[by]) if by else None, int(record["period"])): record for record in totals.to_dict("records")}
    result = []
    for size in sorted(sizes, key=lambda size: (size.period, str(size.segment))):
        index = period_of(size.period, period)
        found = ours.get((size.segment, index), {"customers": 0, "revenue": 0.0})
        customers = int(found["customers"])
        mine = float(found["revenue"]) if basis == "revenue" else customers
        where = f"{period_start(index, period)}" + (f", segment {size.segment!r}" if by else "")
        try:
            share = outcomes.market_share(basis=basis, ours=mine, market=size.size, customers=customers,
                                          min_base=min_base, confidence=confidence)
        except ValueError as exc:
            raise MetricError(f"Market size for {where}: {exc}") from None
        keys = {**({by: size.segment} if by else {}), "period": period_start(index, period).isoformat()}
        result.append(Row(keys, "market_share", share.estimate, {"basis": basis, "ours": mine, "market": size.size}))
    return result


def _keyed(transactions: ir.Table, *, by: Sequence[str], customer: str, date_column: str,
           **extra: ir.Value) -> ir.Table:
    """The `by` columns (text, blank as missing), customer (text), day (days since 1970) and `extra` columns of
    the transactions that name a customer."""
    require_columns(transactions, [customer, date_column, *by], "the transactions")
    keyed = transactions.select(*by, customer=transactions[customer].cast("string"),
                                day=epoch_days(transactions, date_column), **extra)
    keyed = blank_as_missing(keyed, list(by)) if by else keyed
    return keyed.filter(keyed.customer.notnull())


def _key(value):
    """A group key from pandas as a plain value (missing as None)."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _as_date(day: int) -> date:
    """The date of a day number."""
    return EPOCH + timedelta(days=day)
