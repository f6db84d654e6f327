"""The customer-outcomes page and its JSON twin: retention, cohorts, lifetime value, and loyalty against behaviour."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from voxpop.customers import charts
from voxpop.customers.service import outcomes_report
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep, csrf_token
from voxpop.web.templating import templates

router = APIRouter()
GROUP_LABELS = {"promoters": "Promoters (9–10)", "passives": "Passives (7–8)", "detractors": "Detractors (0–6)"}


def _drawings(report: dict[str, Any]) -> dict[str, charts.Chart]:
    retention = [row for row in report["retention"] if row["full_period"]]  # a month still running is not a drop
    drawn = {"retention": charts.line_with_band([row["period"][:7] for row in retention],
                                                [row["value"] for row in retention],
                                                [row["ci_low"] for row in retention],
                                                [row["ci_high"] for row in retention])}
    if "clv" in report:
        drawn["clv"] = charts.bars([(f"{bin_['low']:,.0f}", [(bin_["customers"], "bar",
                                     f"{bin_['customers']:,} customers with CLV {bin_['low']:,.2f} to {bin_['high']:,.2f}")])
                                    for bin_ in report["clv"]["histogram"]])
    if "holdout" in report:
        drawn["holdout"] = charts.bars([(bucket["frequency"], [
            (bucket["actual"], "bar actual", f"actual {bucket['actual']:.2f} purchases per customer"),
            (bucket["predicted"], "bar predicted", f"predicted {bucket['predicted']:.2f}"),
        ]) for bucket in report["holdout"]["buckets"]])
    whale = report["profitability"]["points"]
    if whale and whale[-1]["profit_share"] is not None:
        drawn["whale"] = charts.curve([(100 * point["customer_share"], 100 * point["profit_share"]) for point in whale])
    return drawn


@router.get("/customers", include_in_schema=False)
def outcomes_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep):
    report = outcomes_report(db, min_base=settings.min_base)
    return templates.TemplateResponse(request, "outcomes.html", {
        "user": user, "csrf_token": csrf_token(request), "report": report, "group_labels": GROUP_LABELS,
        "charts": _drawings(report) if report else {}, "chart_size": (charts.WIDTH, charts.HEIGHT),
        "min_base": settings.min_base,
    })


@router.get("/api/v1/customers/outcomes", tags=["staff"])
def outcomes_json(user: CurrentUser, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    """Customer outcomes from the imported transactions: monthly retention, first-purchase cohorts, the CLV
    distribution, a holdout check of the purchase model, and promoters, passives and detractors compared on
    retention, repeat purchase, revenue and CLV (with promoters − detractors and its interval)."""
    return outcomes_report(db, min_base=settings.min_base) or {"retention": [], "cohorts": [], "loyalty": None}
