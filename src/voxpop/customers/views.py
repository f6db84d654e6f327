"""The customer-outcomes page and its JSON twin, both from `service.outcomes`: retention, cohorts, profitability,
lifetime value, and loyalty against behaviour."""

from __future__ import annotations

from fastapi import APIRouter, Request

from voxpop.core.counts import NPS_GROUP_LABELS
from voxpop.customers.schemas import OutcomesPublic
from voxpop.customers.service import outcomes
from voxpop.web import charts
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep
from voxpop.web.problems import problem_responses
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter()  # mounted under /api/v1 by the app
MONEY_MEASURES = ("revenue", "clv")  # loyalty measures in money; the others are percentages


def share_of_top(points, customers: float = 0.2) -> float | None:
    """The share of the total earned by the most valuable `customers` share of customers, from the whale curve."""
    return next((point.profit_share for point in points if point.customer_share >= customers - 1e-9), None)


def money_title(name: str) -> str:
    """An axis or column title for amounts, which are in the imported transactions' currency (voxpop records none)."""
    return f"{name} (in the transactions' currency)"


def drawings(report: OutcomesPublic) -> dict[str, charts.Chart]:
    """The page's charts: retention with its band, the CLV histogram, the holdout check and the whale curve."""
    drawn: dict[str, charts.Chart] = {}
    # A month the data do not cover to its end is left out, not drawn as partial: customers who have not bought
    # again yet would count as lost, so its retention so far is low by construction, not by chance.
    months = [row for row in report.retention if row.full_period and row.value is not None and row.ci_low is not None]
    if months:
        drawn["retention"] = charts.line_with_band(
            [charts.BandPoint(charts.month_label(row.period), row.value, row.ci_low, row.ci_high,
                              charts.estimate_title(charts.month_label(row.period, short=False), "retention",
                                                    row, unit="%", digits=1))
             for row in months],
            title="Retention by month with its 95% confidence interval", y_title="Retention (%)")
    if report.clv:
        drawn["clv"] = charts.histogram(
            [(bin_.low, bin_.high, bin_.customers, f"{bin_.customers:,} customers with a lifetime value of "
                                                   f"{bin_.low:,.2f} to {bin_.high:,.2f}") for bin_ in report.clv.histogram],
            title="Customers by lifetime value", y_title="Customers",
            x_title=money_title("Lifetime value"))
    if report.holdout:
        drawn["holdout"] = charts.bar_chart(
            [charts.BarGroup(bucket.frequency, (
                (bucket.actual, f"{bucket.frequency} purchases before: {bucket.actual:.2f} purchases per customer "
                                f"after, n = {bucket.customers:,}"),
                (bucket.predicted, f"{bucket.frequency} purchases before: {bucket.predicted:.2f} predicted")))
             for bucket in report.holdout.buckets],
            title="Actual and predicted purchases per customer after the cut-off, by purchases before it",
            y_title="Purchases per customer, after the cut-off", x_title="Repeat purchases before the cut-off",
            series=(("bar", "Actual"), ("bar-2", "Predicted")))
    profit = report.profitability
    if profit and profit.points and profit.points[-1].profit_share is not None:
        earned = "profit" if profit.cost_to_serve else "net revenue"
        drawn["whale"] = charts.curve(
            [(100 * point.customer_share, 100 * point.profit_share) for point in profit.points
             if point.profit_share is not None],
            title=f"Whale curve: cumulative share of {earned} against the share of customers, most valuable first",
            x_title="Customers, most valuable first (%)", y_title=f"Cumulative share of {earned} (%)",
            reference=100.0)
    return drawn


@router.get("/customers", include_in_schema=False)
def outcomes_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep):
    report = outcomes(db, min_base=settings.min_base)
    months = max((len(row.shares) for row in report.cohorts), default=0)
    return render(request, "customers/outcomes.html", {
        "report": report, "charts": drawings(report), "group_labels": NPS_GROUP_LABELS, "month_label": charts.month_label,
        "cohort_columns": [("First purchase", ""), ("Customers", "num")] + [(str(k), "num") for k in range(months)],
        "money_measures": MONEY_MEASURES,
        "top_fifth": share_of_top(report.profitability.points) if report.profitability else None, "min_base": settings.min_base,
    })


@api.get("/customers/outcomes", tags=["staff"], response_model=OutcomesPublic,
            responses=problem_responses(401))
def outcomes_json(user: CurrentUser, db: DbDep, settings: SettingsDep) -> OutcomesPublic:
    """Customer outcomes from the imported transactions: monthly retention, first-purchase cohorts, the CLV
    distribution, a holdout check of the purchase model, profitability with its whale curve, and promoters,
    passives and detractors compared on retention, repeat purchase, revenue and CLV (with promoters − detractors
    and its interval)."""
    return outcomes(db, min_base=settings.min_base)
