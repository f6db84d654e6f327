"""The customer-outcomes page and its JSON twin: retention, cohorts, lifetime value, and loyalty against behaviour."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

from voxpop.customers.service import outcomes_report
from voxpop.web import charts
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep
from voxpop.web.templating import render

router = APIRouter()
_reports: dict[str, tuple[tuple, dict[str, Any] | None]] = {}  # per store: (what the report was made from, report)
GROUP_LABELS = {"promoters": "Promoters (9–10)", "passives": "Passives (7–8)", "detractors": "Detractors (0–6)"}


def _drawings(report: dict[str, Any]) -> dict[str, charts.Chart]:
    retention = report["retention"]
    drawn = {}
    if retention:
        drawn["retention"] = charts.line_with_band(
            [charts.BandPoint(charts.month_label(row["period"]), row["value"], row["ci_low"], row["ci_high"],
                              f"{charts.month_label(row['period'], short=False)}: retention {row['value']:.1f}% "
                              f"(95% CI {row['ci_low']:.1f} to {row['ci_high']:.1f}%), n = {row['n']:,}",
                              partial=not row["full_period"])
             for row in retention if row["value"] is not None and row["ci_low"] is not None],
            title="Monthly retention with its 95% interval", y_title="Retention (%)")
    if "clv" in report:
        drawn["clv"] = charts.bar_chart(
            [charts.BarGroup(f"{bin_['low']:,.0f}", ((bin_["customers"], f"{bin_['customers']:,} customers with CLV "
                                                     f"{bin_['low']:,.2f} to {bin_['high']:,.2f}"),))
             for bin_ in report["clv"]["histogram"]],
            title="Histogram of customer lifetime value", y_title="Customers", x_title="Customer lifetime value",
            gap=0.08)
    if "holdout" in report:
        drawn["holdout"] = charts.bar_chart(
            [charts.BarGroup(str(bucket["frequency"]), (
                (bucket["actual"], f"actual {bucket['actual']:.2f} purchases per customer"),
                (bucket["predicted"], f"predicted {bucket['predicted']:.2f}")))
             for bucket in report["holdout"]["buckets"]],
            title="Actual and predicted holdout purchases by calibration frequency",
            y_title="Purchases per customer", x_title="Purchases before the cut-off",
            series=(("bar", "Actual"), ("bar-2", "Predicted")))
    whale = report["profitability"]["points"]
    if whale and whale[-1]["profit_share"] is not None:
        drawn["whale"] = charts.curve([(100 * point["customer_share"], 100 * point["profit_share"]) for point in whale],
                                      title="Whale curve of cumulative profit against cumulative customers",
                                      x_title="Customers, most profitable first (%)",
                                      y_title="Cumulative profit (%)", reference=100.0)
    return drawn


def _report(db, settings) -> dict[str, Any] | None:
    """The report, made again only when transactions or responses changed: fitting the models over every
    customer takes seconds, and most page views see the same data. Transactions are watched by their count and
    newest id (imports only add them; the count sees a customer deleted), responses by their newest id only:
    counting ten million of them on every view would cost as much as the cache saves."""
    with db.read_connection() as connection:
        made_from = (settings.min_base, *connection.execute(text(
            "SELECT (SELECT count(*) FROM transactions), (SELECT max(id) FROM transactions), "
            "(SELECT max(id) FROM responses)")).one())
    cached = _reports.get(str(db.url))
    if cached is None or cached[0] != made_from:
        cached = (made_from, outcomes_report(db, min_base=settings.min_base))
        _reports[str(db.url)] = cached
    return cached[1]


@router.get("/customers", include_in_schema=False)
def outcomes_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep):
    report = _report(db, settings)
    return render(request, "customers/outcomes.html", {
        "report": report, "group_labels": GROUP_LABELS,
        "charts": _drawings(report) if report else {},
        "min_base": settings.min_base,
    })


@router.get("/api/v1/customers/outcomes", tags=["staff"])
def outcomes_json(user: CurrentUser, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    """Customer outcomes from the imported transactions: monthly retention, first-purchase cohorts, the CLV
    distribution, a holdout check of the purchase model, and promoters, passives and detractors compared on
    retention, repeat purchase, revenue and CLV (with promoters − detractors and its interval)."""
    return _report(db, settings) or {"retention": [], "cohorts": [], "loyalty": None}
