"""The customer-outcomes page and its JSON twin, both from `service.outcomes`: retention, cohorts, profitability,
lifetime value, and loyalty against behaviour. Both take the response filter's days (since, until, period, read
by analysis.periods as every page reads them); transactions have no survey attributes or answers, so the rest of
the filter has no meaning here and is not offered."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, NamedTuple
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request

from voxpop.analysis.periods import PERIOD_HELP, PERIODS, SINCE_HELP, UNTIL_HELP, DaysError, days, month_touches
from voxpop.core.counts import NPS_GROUP_LABELS
from voxpop.core.wording import as_sentence
from voxpop.customers.schemas import OutcomesPublic
from voxpop.customers.service import outcomes
from voxpop.web import charts
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep
from voxpop.web.problems import problem, problem_responses
from voxpop.web.tables import csv_response
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter()  # mounted under /api/v1 by the app
MONEY_MEASURES = ("revenue", "clv")  # loyalty measures in money; the others are percentages


class Days(NamedTuple):
    """The days asked for, as sent (the form shows them back) and the workspace's zone they are counted in."""

    since: str | None
    until: str | None
    period: str | None
    zone: str

    def parse(self) -> tuple[date | None, date | None, str | None]:
        """First day, last day and preset, counted from today in the workspace's zone; raises DaysError."""
        return days(today=datetime.now(ZoneInfo(self.zone)).date(), since=self.since, until=self.until,
                    period=self.period)

    def query(self) -> list[tuple[str, str]]:
        """The days as query pairs, for the page's links."""
        return [(name, value) for name, value in (("since", self.since), ("until", self.until),
                                                  ("period", self.period)) if value]


def days_query(
    settings: SettingsDep,
    since: Annotated[str | None, Query(max_length=32, description=SINCE_HELP)] = None,
    until: Annotated[str | None, Query(max_length=32, description=UNTIL_HELP)] = None,
    period: Annotated[str | None, Query(max_length=32, description=PERIOD_HELP)] = None,
) -> Days:
    return Days(since, until, period, settings.timezone)


DaysDep = Annotated[Days, Depends(days_query)]
CsvFormat = Annotated[Literal["html", "csv"], Query(description="csv for the page's tables as CSV.")]


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


def within_days(report: OutcomesPublic, since: date | None, until: date | None) -> OutcomesPublic:
    """The report with its retention months and first-purchase cohorts narrowed to the months the days touch.
    Each month's retention and each cohort's shares stand on their own, so narrowing leaves them as they are; the
    lifetime values, profitability and loyalty are fitted on every transaction and stay whole."""
    if since is None and until is None:
        return report
    return report.model_copy(update={
        "retention": [row for row in report.retention if month_touches(row.period, since, until)],
        "cohorts": [row for row in report.cohorts if month_touches(row.cohort, since, until)]})


def days_words(since: date | None, until: date | None, period: str | None) -> str:
    """The days as the page says them: "Last quarter (2026-07-01 to 2026-09-30)", "from 2026-01-01"."""
    if period:
        return f"{PERIODS[period][0]} ({since} to {until})"
    return f"{since} to {until}" if since and until else f"from {since}" if since else f"to {until}"


def outcomes_tables(report: OutcomesPublic) -> tuple[list[str], list[list[object]]]:
    """The page's tables in one CSV, a row per figure: the table it is from, its row, the measure, the value
    with its interval and base."""
    rows: list[list[object]] = []
    for row in report.retention:
        rows.append(["retention", row.period[:7], "retention (%)", row.value, row.ci_low, row.ci_high, row.n])
    for row in report.cohorts:
        rows += [["cohorts", row.cohort[:7], f"still buying {month} months later (%)", share, None, None, row.size]
                 for month, share in enumerate(row.shares)]
    loyalty = report.loyalty
    if loyalty and loyalty.customers:
        for group, measures in loyalty.groups.items():
            rows += [["loyalty", group, name, estimate.value, estimate.ci_low, estimate.ci_high, estimate.n]
                     for name, estimate in measures.items()]
    return ["table", "row", "measure", "value", "ci_low", "ci_high", "n"], rows


@router.get("/customers", include_in_schema=False)
def outcomes_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, asked: DaysDep,
                  format: CsvFormat = "html"):
    report, error, words = outcomes(db, min_base=settings.min_base), None, ""
    try:
        since, until, period = asked.parse()
        report, words = within_days(report, since, until), days_words(since, until, period) if since or until else ""
    except DaysError as exc:
        error = (exc.parameter, as_sentence(str(exc)))
    if error is None and format == "csv":
        return csv_response("customer-outcomes", *outcomes_tables(report))
    months = max((len(row.shares) for row in report.cohorts), default=0)
    kept = asked.query()
    return render(request, "customers/outcomes.html", {
        "report": report, "charts": drawings(report), "group_labels": NPS_GROUP_LABELS, "month_label": charts.month_label,
        "cohort_columns": [("First purchase", ""), ("Customers", "num")] + [(str(k), "num") for k in range(months)],
        "money_measures": MONEY_MEASURES,
        "top_fifth": share_of_top(report.profitability.points) if report.profitability else None, "min_base": settings.min_base,
        "asked": asked, "periods": [(key, label) for key, (label, _) in PERIODS.items()], "days": words,
        "error": error, "field_error": dict([error]) if error else {}, "filtered": bool(kept),
        "json_href": "/api/v1/customers/outcomes" + (f"?{urlencode(kept)}" if kept else ""),
        "csv_href": "/customers?" + urlencode([*kept, ("format", "csv")]),
    }, status_code=400 if error else 200)


@api.get("/customers/outcomes", tags=["staff"], response_model=OutcomesPublic,
            responses=problem_responses(401, 422))
def outcomes_json(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, asked: DaysDep):
    """Customer outcomes from the imported transactions: monthly retention, first-purchase cohorts, the CLV
    distribution, a holdout check of the purchase model, profitability with its whale curve, and promoters,
    passives and detractors compared on retention, repeat purchase, revenue and CLV (with promoters − detractors
    and its interval). The days (since, until or period) narrow the retention months and the cohorts to the months
    they touch; lifetime value, profitability and loyalty are over every transaction. Transactions have no survey
    attributes or answers, so those filters are not taken here."""
    try:
        since, until, _ = asked.parse()
    except DaysError as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-filter", instance=request.url.path,
                       errors=[{"field": exc.parameter, "message": as_sentence(str(exc))}])
    return within_days(outcomes(db, min_base=settings.min_base), since, until)
