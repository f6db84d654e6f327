"""Customers and their transactions in the store: importing transaction files idempotently, all-or-nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, insert, select, text

from voxpop.analysis.engine import MetricError
from voxpop.analysis.sources import ROW
from voxpop.core.clv import bgnbd, gamma_gamma
from voxpop.core.wording import counted
from voxpop.customers.models import Customer, Transaction
from voxpop.customers.schemas import OutcomesPublic
from voxpop.customers.transaction_files import Transactions
from voxpop.store.base import utcnow
from voxpop.store.database import conflict_insert

BATCH = 5000
MIN_SPEND_BUYERS = 2  # Gamma-Gamma is fitted on at least two repeat buyers' mean spends (core.clv.gamma_gamma)
LINE = ("customer", "date", "amount", "quantity", "invoice", "product", "kind", "cost")


@dataclass
class TransactionImport:
    rows: int = 0
    new: int = 0
    present: int = 0
    without_customer: int = 0
    new_customers: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def sentence(self) -> str:
        kinds = ", ".join(f"{count:,} {kind.replace('_', '-')}" for kind, count in sorted(self.by_kind.items()))
        return (f"{counted(self.rows, 'line')} read ({kinds}): added {counted(self.new, 'new transaction')}, "
                f"{self.present:,} already present; {counted(self.new_customers, 'new customer')}; "
                f"{counted(self.without_customer, 'line')} without a customer "
                f"{'was' if self.without_customer == 1 else 'were'} left out")


def import_transactions(db, transactions: Transactions, *,
                        progress: Callable[[int], None] | None = None) -> TransactionImport:
    """Store every line of a checked transaction file in one transaction. Each line is keyed by a hash of what
    it says (the k-th identical line of a file by hash#k), so importing the file again adds nothing."""
    summary = TransactionImport(without_customer=transactions.without_customer)
    table = transactions.table
    columns = [name for name in LINE if name in table.columns]
    repeats: dict[str, int] = {}
    with db.write_connection() as connection:
        # One Arrow table (columnar: ~40 bytes a line), cut into batches; Ibis 12's batch reader needs a DuckDB
        # cursor method DuckDB 2 no longer has.
        for batch in table.order_by(ROW).select(*columns).to_pyarrow().to_batches(max_chunksize=BATCH):
            lines = batch.to_pylist()
            customers, created = customer_ids(connection, dict.fromkeys(str(line["customer"]) for line in lines))
            summary.new_customers += created
            rows = []
            for line in lines:
                key = hashlib.sha256("\x1f".join(str(line.get(name)) for name in LINE).encode()).hexdigest()[:40]
                seen = repeats[key] = repeats.get(key, 0) + 1
                kind = line.get("kind") or "sale"
                summary.by_kind[kind] = summary.by_kind.get(kind, 0) + 1
                rows.append({"customer_id": customers[str(line["customer"])], "source_key": f"{key}#{seen}",
                             "day": line["date"], "amount": float(line["amount"]), "quantity": line.get("quantity"),
                             "cost": line.get("cost"), "kind": kind, "invoice": line.get("invoice"), "product": line.get("product"),
                             "imported_at": utcnow()})
            added = len(connection.execute(_insert_new(connection.dialect.name), rows).all())
            summary.rows += len(rows)
            summary.new += added
            summary.present += len(rows) - added
            if progress is not None:
                progress(summary.rows)
    return summary


def _insert_new(dialect: str):
    statement = conflict_insert(dialect, Transaction.__table__)
    # RETURNING counts what went in: executemany's rowcount is not reliable across drivers.
    return statement.on_conflict_do_nothing(index_elements=["source_key"]).returning(Transaction.__table__.c.id)


def customer_ids(connection: Connection, emails: dict[str, str | None]) -> tuple[dict[str, int], int]:
    """The customers by external id, created when new with their e-mail (when given); and how many were new."""
    table = Customer.__table__
    known: dict[str, int] = {}
    ordered = sorted(emails)
    for start in range(0, len(ordered), 500):
        known |= dict(connection.execute(select(table.c.external_id, table.c.id)
                                         .where(table.c.external_id.in_(ordered[start:start + 500]))).all())
    new = [{"external_id": ref, "email": emails[ref], "attributes": {}, "created_at": utcnow()} for ref in ordered
           if ref not in known]
    if new:
        known |= dict(connection.execute(insert(table).returning(table.c.external_id, table.c.id), new).all())
    return known, len(new)


@dataclass(frozen=True)
class LifetimeValueModels:
    """The lifetime-value models of a customer summary: BG/NBD (how often, and whether still a customer) on
    everyone; Gamma-Gamma (how much) on the repeat buyers, when there are enough, else None and why."""

    purchases: bgnbd.BgNbd
    spend: gamma_gamma.GammaGamma | None
    independence: gamma_gamma.Independence | None  # None also when too few repeat buyers differ to check it
    spend_unavailable: str | None = None


def fit_lifetime_value(summary: pd.DataFrame) -> LifetimeValueModels:
    """Fit the CLV models on a summary from `analysis.customer_summary` (executed); the CLI and the customers page
    both fit here. MetricError, saying what to do, when no customer bought again."""
    if not (summary.frequency > 0).any():
        raise MetricError(f"None of the {len(summary):,} customers bought more than once, so how often customers buy "
                          "cannot be modelled yet; import more transactions, or fit on a longer span of them")
    purchases = bgnbd.fit(summary.frequency, summary.recency, summary["T"])
    repeat = summary[(summary.frequency > 0) & (summary.monetary_value > 0)]
    if len(repeat) < MIN_SPEND_BUYERS:
        return LifetimeValueModels(purchases, None, None, (
            f"Spend per purchase (Gamma-Gamma) needs at least {MIN_SPEND_BUYERS} customers who bought again and spent "
            f"money, and the data have {len(repeat)}; lifetime value needs it, so import more transactions"))
    spend = gamma_gamma.fit(repeat.frequency, repeat.monetary_value)
    try:
        independence = gamma_gamma.independence(repeat.frequency, repeat.monetary_value)
    except ValueError:  # fewer than three repeat buyers, or all alike: nothing to check it on
        independence = None
    return LifetimeValueModels(purchases, spend, independence)


def outcomes_report(db, *, min_base: int, confidence: float = 0.95, months: int = 12,
                    monthly_discount_rate: float = 0.01) -> dict[str, Any] | None:
    """The customer-outcomes page's data from the stored transactions (sales): monthly retention, the cohort
    table, the CLV distribution, a calibration/holdout check (fitted on the first two thirds of the time span)
    and loyalty against behaviour. None when no transactions were imported yet."""
    from voxpop.analysis import sources
    from voxpop.analysis.customer_outcomes import cohort_table, customer_outcomes
    from voxpop.analysis.customer_summary import customer_summary
    from voxpop.analysis.loyalty import as_json, compare_loyalty
    from voxpop.core.clv.value import customer_lifetime_value

    connection = sources.store_connection(db.url)
    try:
        table = sources.store_transactions(connection)
        sales = table.filter(table.kind == "sale")
        span = sales.aggregate(first=sales.date.min(), last=sales.date.max(), lines=sales.count()).execute().iloc[0]
        if not span["lines"]:
            return None
        first, last = pd.Timestamp(span["first"]).date(), pd.Timestamp(span["last"]).date()
        retention = [row.as_dict() for row in customer_outcomes(sales, period="month", min_base=min_base,
                                                                 confidence=confidence)
                     if row.metric == "retention"]
        cohorts = cohort_table(sales, period="month", min_base=min_base, confidence=confidence)
        report: dict[str, Any] = {"first_day": first.isoformat(), "last_day": last.isoformat(),
                                  "retention": retention,
                                  "cohorts": [{"cohort": str(row.cohort), "size": row.size,
                                               "shares": [None if share.value is None else round(share.value, 1)
                                                          for share in row.shares]} for row in cohorts]}
        summary = customer_summary(sales, time_unit="week").execute()
        clv = None
        try:
            models = fit_lifetime_value(summary)
        except ValueError as exc:  # no repeat buyer, or a model without an optimum: said, not hidden
            report["clv_unavailable"] = str(exc)
        else:
            purchases, spend = models.purchases, models.spend
            if spend is None:
                report["clv_unavailable"] = models.spend_unavailable
            else:
                values = customer_lifetime_value(purchases, spend, summary.frequency, summary.recency, summary["T"],
                                                 summary.monetary_value, months=months,
                                                 monthly_discount_rate=monthly_discount_rate, time_unit="week")
                clv = pd.Series(values, index=summary.customer.astype(str))
                report["clv"] = _distribution(values) | {
                    "months": months, "monthly_discount_rate": monthly_discount_rate, "r": purchases.r,
                    "alpha": purchases.alpha, "a": purchases.a, "b": purchases.b, "p": spend.p, "q": spend.q,
                    "gamma": spend.gamma}
            if holdout_check := _holdout(sales, first, last):
                report["holdout"] = holdout_check
        report["loyalty"] = as_json(compare_loyalty(connection, clv=clv, min_base=min_base, confidence=confidence))
        report["profitability"] = _profitability(table, min_base=min_base, confidence=confidence)
        return report
    finally:
        connection.disconnect()


def _holdout(sales, first: date, last: date) -> dict[str, Any] | None:
    """BG/NBD fitted on the first two thirds of the time span and checked on the rest; None when nobody bought
    again before the cut-off, so there is no model to check."""
    from voxpop.analysis.customer_summary import customer_summary
    from voxpop.core.clv import holdout

    calibration_end = first + (last - first) * 2 // 3
    split = customer_summary(sales, calibration_end=calibration_end, observation_end=last, time_unit="week").execute()
    try:
        fitted = bgnbd.fit(split.frequency, split.recency, split["T"])
    except ValueError:
        return None
    checked = holdout.compare(fitted, split.frequency, split.recency, split["T"], split.holdout_purchases,
                              split.holdout_duration.iloc[0])
    return {"calibration_end": calibration_end.isoformat(), "actual": checked.actual_total,
            "predicted": checked.predicted_total, "total_error": checked.total_error,
            "buckets": [asdict(bucket) for bucket in checked.buckets]}


def _profitability(table, *, min_base: int, confidence: float) -> dict[str, Any]:
    """Profit per customer (revenue less cost to serve where costs were imported; cancellations net, postage and
    fees left out) and the whale curve."""
    from voxpop.analysis.customer_outcomes import profitability

    lines = table.filter(table.kind != "non_product")
    costed = bool(lines.filter(lines.cost.notnull()).count().execute())
    lines = lines.mutate(cost=lines.cost.fill_null(0.0))
    found = profitability(lines, cost="cost" if costed else None, min_base=min_base, confidence=confidence)
    whale = found.whale
    return {"cost_to_serve": found.cost_to_serve, "customers": whale.customers, "total_profit": whale.total_profit,
            "mean": asdict(found.distribution.mean), "unprofitable": asdict(found.distribution.unprofitable),
            "peak": asdict(whale.peak), "points": [asdict(point) for point in whale.points]}


def _distribution(values) -> dict[str, Any]:
    """Quantiles and a 20-bin histogram of per-customer CLV up to its 99th percentile (the last bin holds the
    top 1% too): a few large customers would otherwise squeeze everyone else into one bar."""
    values = np.asarray(values, dtype=float)
    top = float(np.quantile(values, 0.99)) if values.size else 0.0
    counts, edges = np.histogram(np.minimum(values, top), bins=20)
    return {"customers": int(values.size), "total": float(values.sum()), "mean": float(values.mean()),
            "quantiles": {str(q): float(np.quantile(values, q)) for q in (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)},
            "histogram": [{"low": float(low), "high": float(high), "customers": int(count)}
                          for low, high, count in zip(edges[:-1], edges[1:], counts)]}


_reports: dict[str, tuple[tuple, OutcomesPublic]] = {}  # per store: (what the report was made from, report)


def outcomes(db, *, min_base: int) -> OutcomesPublic:
    """The page's data, made again only when transactions or responses changed: fitting the models over every
    customer takes seconds, and most page views see the same data. Transactions are watched by their count and
    newest id (imports only add them; the count sees a customer deleted), responses by their newest id only:
    counting ten million of them on every view would cost as much as the cache saves."""
    with db.read_connection() as connection:
        made_from = (min_base, *connection.execute(text(
            "SELECT (SELECT count(*) FROM transactions), (SELECT max(id) FROM transactions), "
            "(SELECT max(id) FROM responses)")).one())
    cached = _reports.get(str(db.url))
    if cached is None or cached[0] != made_from:
        report = outcomes_report(db, min_base=min_base)
        made = (OutcomesPublic.model_validate(report) if report
                else OutcomesPublic(retention=[], cohorts=[], loyalty=None))
        cached = _reports[str(db.url)] = (made_from, made)
    return cached[1]
