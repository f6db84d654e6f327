"""The per-customer summary the lifetime-value models read, computed by the engine that holds the transactions.

For each customer, as `lifetimes.utils.summary_data_from_transaction_data` defines it: purchases on the same
day are one purchase (their values summed); `frequency` is the number of days with a purchase after the
first, `recency` the time from the first to the last such day, `T` the time from the first day to the end of
calibration, and `monetary_value` the mean value of the repeat days (0 without any). Times are in days,
weeks (7 days) or months (365.25/12 days). With an observation end, `holdout_purchases` counts each
customer's purchase days after calibration, up to and including that end, over `holdout_duration`.

One aggregate query with a window, the same on DuckDB, SQLite, PostgreSQL and Spark: dates become whole days
since 1970 (`epoch_days`), so the arithmetic is integers until the last division.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd

from voxpop.analysis.engine import MetricError, count_if
from voxpop.analysis.sources import require_columns
from voxpop.core.clv.value import DAYS_PER_UNIT, TimeUnit

EPOCH = date(1970, 1, 1)


def customer_summary(
    transactions: ir.Table,
    *,
    calibration_end: date | None = None,
    observation_end: date | None = None,
    time_unit: TimeUnit = "week",
    customer: str = "customer",
    date_column: str = "date",
    amount: str | None = "amount",
) -> ir.Table:
    """One row per customer who bought by `calibration_end` (default: the last purchase date): customer,
    frequency, recency, T, monetary_value (with an amount column) and, given `observation_end`,
    holdout_purchases and holdout_duration."""
    if time_unit not in DAYS_PER_UNIT:
        raise MetricError(f"Choose `time_unit` from day, week or month; {time_unit!r} is not one of them",
                          parameter="time_unit")
    require_columns(transactions, [customer, date_column, *([amount] if amount else [])], "the transactions")
    days = purchase_days(transactions, customer=customer, date_column=date_column, amount=amount)
    calibration = _day_number(calibration_end) if calibration_end else _last_day(days)
    observation = _day_number(observation_end) if observation_end else calibration
    if observation < calibration:
        raise MetricError(f"The observation end {observation_end} comes before the calibration end "
                          f"{_as_date(calibration)}; give `observation_end` after it, or none",
                          parameter="observation_end")
    unit = DAYS_PER_UNIT[time_unit]
    days = days.filter(days.day <= observation)
    days = days.mutate(first=days.day.min().over(group_by="customer"))
    in_calibration = days.day <= calibration
    measures = {
        "first": days.first.min(),
        "frequency": count_if(in_calibration) - 1,
        "last": ibis.ifelse(in_calibration, days.day, ibis.null()).max(),
    }
    if amount:
        measures["repeat_value"] = ibis.ifelse(in_calibration & (days.day > days.first), days.amount, 0.0).sum()
    if observation_end:
        measures["holdout_purchases"] = count_if(~in_calibration)
    per_customer = days.group_by("customer").aggregate(**measures)
    per_customer = per_customer.filter(per_customer.first <= calibration)
    columns = {
        "customer": per_customer.customer,
        "frequency": per_customer.frequency,
        "recency": (per_customer["last"] - per_customer.first).cast("float64") / unit,
        "T": (calibration - per_customer.first).cast("float64") / unit,
    }
    if amount:
        repeat = per_customer.frequency > 0
        # The divisor is never 0, not even in the branch not taken: an engine may evaluate both.
        divisor = ibis.ifelse(repeat, per_customer.frequency, 1)
        columns["monetary_value"] = ibis.ifelse(repeat, per_customer.repeat_value.cast("float64") / divisor, 0.0)
    if observation_end:
        columns["holdout_purchases"] = per_customer.holdout_purchases
        columns["holdout_duration"] = ibis.literal((observation - calibration) / unit, "float64")
    return per_customer.select(**columns)


def purchase_days(transactions: ir.Table, *, customer: str, date_column: str, amount: str | None) -> ir.Table:
    """One row per customer and day with a purchase: customer (text), day (days since 1970), amount (summed)."""
    keyed = transactions.select(customer=transactions[customer].cast("string"),
                                day=epoch_days(transactions, date_column),
                                **({"amount": transactions[amount].cast("float64")} if amount else {}))
    keyed = keyed.filter(keyed.customer.notnull())
    if not amount:
        return keyed.distinct()
    return keyed.group_by(["customer", "day"]).aggregate(amount=keyed.amount.sum())


def epoch_days(transactions: ir.Table, date_column: str) -> ir.IntegerValue:
    """The purchase's day as whole days since 1970 (a timestamp counts by its date)."""
    moment = transactions[date_column]
    if moment.type().is_timestamp():
        moment = moment.date()
    elif not moment.type().is_date():
        raise MetricError(f"Column {date_column!r} holds {moment.type()}, not dates; read the file with "
                          "voxpop.customers.transaction_files.read_transactions, which parses them")
    return moment.epoch_days()


def _day_number(moment: date) -> int:
    """Whole days since 1970-01-01, as the engine's `epoch_days` counts them."""
    return moment.toordinal() - EPOCH.toordinal()


def _as_date(day: int) -> date:
    """The date of a day number."""
    return date.fromordinal(EPOCH.toordinal() + day)


def _last_day(days: ir.Table) -> int:
    """The latest purchase day in the data: the calibration end when none is given."""
    last = days.day.max().execute()
    if last is None or pd.isna(last):
        raise MetricError("There are no transactions to summarise; import transactions first")
    return int(last)
