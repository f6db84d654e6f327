"""Improvement: is closing the loop working (the loop metrics, the holdout, the Paretos), initiatives with their
Check, and alert rules on the control charts. Pages here, JSON twins under /api/v1/improvement.

Managers and admins change initiatives and alerts (HTML forms with the session's CSRF token; the JSON twins
read); analysts and viewers read everything; agents read the loop metrics of their own department only.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime, timezone
from typing import Annotated, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voxpop.accounts.models import Department, User
from voxpop.analysis.periods import DaysError, current_period, parse_day
from voxpop.cases import alerts as alert_rules
from voxpop.cases import initiatives as plans
from voxpop.cases.initiatives import METRIC_LABELS, STAGE_LABELS, STAGE_MOVES, InitiativeError, target_from
from voxpop.cases.loop_metrics import REPEAT_DAYS, RETENTION_DAYS, holdout_effect, loop_metrics, period_of
from voxpop.cases.loop_schemas import (
    AlertDetailPublic,
    AlertPublic,
    AlertSignalPublic,
    AlertsPublic,
    CheckPublic,
    ContrastPublic,
    DifferencePublic,
    EstimatePublic,
    HoldoutPublic,
    InitiativeDetailPublic,
    InitiativePublic,
    InitiativesPublic,
    LoopPublic,
    LoopRowPublic,
    MedianPublic,
    ParetoRowPublic,
    PhasePublic,
    TargetPublic,
)
from voxpop.cases.models import AlertRule, AlertSignal, Initiative, RootCause
from voxpop.cases.pareto import root_cause_pareto, theme_pareto
from voxpop.collection.filters import FilterError
from voxpop.core.wording import as_sentence
from voxpop.dashboard.views import draw_trend
from voxpop.surveys.models import Survey
from voxpop.text.codebooks import current_codebook
from voxpop.text.labels import theme_labels
from voxpop.web import charts
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep, require_role, verify_csrf
from voxpop.web.problems import problem, problem_responses
from voxpop.web.tables import csv_response
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])  # mounted under /api/v1 by the app
EDITORS = ("admin", "manager")
READERS = ("admin", "manager", "analyst", "viewer")  # agents read the loop metrics of their department only
Editor = Annotated[User, Depends(require_role(*EDITORS))]
Reader = Annotated[User, Depends(require_role(*READERS))]
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CsvFormat = Annotated[Literal["html", "csv"], Query(description="csv for the page's table as CSV.")]
DEFAULT_MONTHS = 12  # the overview starts this many months back unless `since` says otherwise
VERDICT_BADGES = {"improvement": "ok", "worse": "error", "no-change": "pending", "too-few": "pending"}
VERDICT_WORDS = {"improvement": "Improvement", "worse": "Worse", "no-change": "No change", "too-few": "Too few to tell"}


class LoopQuery:
    """The overview's query as a form sends it; `error` holds the first value that cannot be read."""

    def __init__(self, by: str, since: str | None, until: str | None, department: str, today: date):
        self.by, self.department, self.error, self.field = by, department, None, None
        months_back = today.year * 12 + today.month - DEFAULT_MONTHS  # the first of the 12 months up to today's
        self.since_text = since if since is not None else date(months_back // 12, months_back % 12 + 1, 1).isoformat()
        self.until_text = until or ""
        self.since = self.until = self.department_id = None
        try:
            self.since, self.until = parse_day(self.since_text, "since"), parse_day(self.until_text, "until")
            if self.since and self.until and self.since > self.until:
                raise DaysError(f"since ({self.since}) is after until ({self.until}); swap them", parameter="since")
        except DaysError as exc:
            self.error, self.field = as_sentence(str(exc)), exc.parameter
        if department and not self.error:
            if not department.isdigit() or not 1 <= int(department) < 2**31:
                self.error, self.field = "Department must be a department's id; pick one from the list.", "department"
            else:
                self.department_id = int(department)

    def query(self) -> list[tuple[str, str]]:
        return [("by", self.by), ("since", self.since_text), ("until", self.until_text),
                ("department", self.department)]


def loop_query(
    request: Request,
    by: Annotated[Literal["month", "quarter"], Query(description="Periods: quarter (default) or month.")] = "quarter",
    since: Annotated[str | None, Query(max_length=20, description="First day the cases were opened on, "
                                                                  "YYYY-MM-DD (default: 12 months back).")] = None,
    until: Annotated[str, Query(max_length=20, description="Last day, YYYY-MM-DD (included).")] = "",
    department: Annotated[str, Query(max_length=12, description="A department's id.")] = "",
) -> LoopQuery:
    settings = request.app.state.settings
    return LoopQuery(by, since, until, department, datetime.now(ZoneInfo(settings.timezone)).date())


LoopDep = Annotated[LoopQuery, Depends(loop_query)]


def _agent_department(user: User, query: LoopQuery) -> None:
    """Agents see their own department only, whatever the query asks."""
    if user.role == "agent":
        query.department_id = user.department_id or -1
        query.department = str(user.department_id or "")


def _contrast(contrast) -> ContrastPublic:
    return ContrastPublic(a=EstimatePublic.of(contrast.a), b=EstimatePublic.of(contrast.b),
                          difference=DifferencePublic.of(contrast.difference))


def _row_public(row) -> LoopRowPublic:
    return LoopRowPublic(department_id=row.department_id, department=row.department, period=row.period,
                         cases=row.cases, first_contact_in_target=EstimatePublic.of(row.first_contact_in_target),
                         hours_to_first_contact=MedianPublic.of(row.hours_to_first_contact),
                         hours_to_resolution=MedianPublic.of(row.hours_to_resolution),
                         resolved_at_first_contact=EstimatePublic.of(row.resolved_at_first_contact),
                         reopened=EstimatePublic.of(row.reopened), recovery=EstimatePublic.of(row.recovery),
                         retention=_contrast(row.retention), repeat_purchase=_contrast(row.repeat_purchase))


def loop_data(db, settings, query: LoopQuery, *, now: datetime | None = None) -> LoopPublic:
    """The overview's figures: the loop metrics per department and period, the holdout and the Paretos."""
    now = now or datetime.now(timezone.utc)
    zone, min_base = settings.timezone, settings.min_base
    with db.read() as db_session:
        asked = {"zone": zone, "now": now, "min_base": min_base, "period": query.by, "since": query.since,
                 "until": query.until, "department_id": query.department_id}
        rows = loop_metrics(db_session, **asked)
        totals = [] if query.department_id is not None else loop_metrics(db_session, **asked, by_department=False)
        holdout = holdout_effect(db_session, now=now, min_base=min_base, since=query.since, until=query.until,
                                 zone=zone, department_id=query.department_id)
        days = {"zone": zone, "since": query.since, "until": query.until, "department_id": query.department_id}
        causes, themes = root_cause_pareto(db_session, **days), theme_pareto(db_session, **days)
    return LoopPublic(
        by=query.by, since=query.since, until=query.until, department_id=query.department_id, min_base=min_base,
        retention_days=RETENTION_DAYS, repeat_days=REPEAT_DAYS,
        rows=[_row_public(row) for row in rows], totals=[_row_public(row) for row in totals],
        holdout=HoldoutPublic(retention=_contrast(holdout.retention), days=holdout.days,
                              per_arm_needed=holdout.per_arm_needed, detect_points=holdout.detect_points,
                              base_retention=holdout.base_retention),
        root_causes=[ParetoRowPublic(**vars(row)) for row in causes],
        themes=[ParetoRowPublic(**vars(row)) for row in themes],
    )


LOOP_COLUMNS = ["period", "department", "cases", "first_contact_in_target_pct", "first_contact_in_target_n",
                "median_hours_to_first_contact", "median_hours_to_resolution", "resolved_at_first_contact_pct",
                "reopened_pct", "recovery_pct", "recovery_n", "retention_contacted_pct", "retention_not_contacted_pct",
                "retention_difference", "retention_difference_ci_low", "retention_difference_ci_high"]


def loop_table(data: LoopPublic) -> list[list[object]]:
    """The loop rows as CSV rows."""
    rows = []
    for row in data.rows:
        difference = row.retention.difference
        rows.append([row.period, row.department, row.cases, row.first_contact_in_target.value,
                     row.first_contact_in_target.n, row.hours_to_first_contact.value, row.hours_to_resolution.value,
                     row.resolved_at_first_contact.value, row.reopened.value, row.recovery.value, row.recovery.n,
                     row.retention.a.value, row.retention.b.value, difference.difference if difference else None,
                     difference.ci_low if difference else None, difference.ci_high if difference else None])
    return rows


def table_rows(data: LoopPublic) -> list[LoopRowPublic]:
    """Each period's every-department row, then its departments, newest period first."""
    rows = sorted(data.totals + data.rows, key=lambda row: (row.department_id != -1, row.department))
    return sorted(rows, key=lambda row: row.period, reverse=True)


def pareto_chart(rows: list[ParetoRowPublic], title: str) -> charts.Chart | None:
    if not rows:
        return None
    return charts.pareto([(row.label, row.cases) for row in rows], title=title, y_title="Cases",
                         titles=[f"{row.label}: {row.cases:,} cases ({row.share:.0f}%)" for row in rows])


def _departments(db) -> list[tuple[int, str]]:
    with db.read() as db_session:
        return [(department_id, name) for department_id, name in db_session.execute(
            select(Department.id, Department.name).order_by(Department.name))]


@router.get("/improvement", include_in_schema=False)
def improvement_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, query: LoopDep,
                     format: CsvFormat = "html"):
    _agent_department(user, query)
    data = None if query.error else loop_data(db, settings, query)
    if data is not None and format == "csv":
        return csv_response("improvement", LOOP_COLUMNS, loop_table(data))
    query_text = urlencode(query.query())
    return render(request, "cases/improvement/overview.html", {
        "data": data, "query": query, "error": query.error, "field_error": {query.field: query.error} if query.error else {},
        "departments": _departments(db), "agent": user.role == "agent", "can_edit": user.role in EDITORS,
        "can_read_plans": user.role in READERS,
        "json_href": f"/api/v1/improvement?{query_text}", "csv_href": f"/improvement?{query_text}&format=csv",
        "table_rows": table_rows(data) if data else [],
        "running": period_of(current_period(datetime.now(timezone.utc), settings.timezone), query.by),
        "cause_chart": pareto_chart(data.root_causes, "Closed cases by root cause, most first") if data else None,
        "theme_chart": pareto_chart(data.themes, "Cases by theme of the customer's comment, most first") if data else None,
    }, status_code=400 if query.error else 200)


@api.get("/improvement", response_model=LoopPublic, responses=problem_responses(401, 422))
def improvement_json(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, query: LoopDep):
    """Is closing the loop working: per department and period (month or quarter) the cases' first contact within
    target, median business hours to first contact and to resolution, resolved at first contact, reopened,
    recovery of followed-up detractors, retention and repeat purchase of contacted against not contacted
    detractors (confounded); the random holdout's causal retention difference; Paretos of root causes and themes.
    Agents get their own department's figures only."""
    _agent_department(user, query)
    if query.error:
        return problem(422, query.error, code="invalid-filter", instance=request.url.path,
                       errors=[{"field": query.field or "", "message": query.error}])
    return loop_data(db, settings, query)


# Initiatives -----------------------------------------------------------------------------------------------


def _target_public(stored: dict | None) -> TargetPublic | None:
    target = target_from(stored)
    if target is None:
        return None
    return TargetPublic(survey=target.survey, metric=target.metric, question=target.question,
                        filter=target.filter_query, words=target.describe())


def initiative_public(db_session: Session, initiative: Initiative) -> InitiativePublic:
    owner = db_session.get(User, initiative.owner_id) if initiative.owner_id else None
    department = db_session.get(Department, initiative.department_id) if initiative.department_id else None
    return InitiativePublic(
        id=initiative.id, title=initiative.title, problem=initiative.problem or "", owner_id=initiative.owner_id,
        owner=(owner.name or owner.email) if owner else None, department_id=initiative.department_id,
        department=department.name if department else None, root_causes=list(initiative.root_causes or []),
        themes=list(initiative.themes or []), target=_target_public(initiative.target), stage=initiative.stage,
        start_date=initiative.start_date, change_date=initiative.change_date, end_date=initiative.end_date,
        draft=initiative.draft, updated_at=initiative.updated_at)


def initiatives_list(db, settings) -> InitiativesPublic:
    """Every initiative, newest first, each with its Check's verdict today."""
    listed = []
    with db.read() as db_session:
        for initiative in db_session.scalars(select(Initiative).order_by(Initiative.id.desc())):
            public = initiative_public(db_session, initiative)
            target = target_from(initiative.target)
            if target is not None and initiative.change_date is not None:
                with suppress(FilterError):  # a target stored by hand that no longer reads has no verdict
                    public.verdict = plans.check(db_session, target=target, change_date=initiative.change_date,
                                                 zone=settings.timezone, min_base=settings.min_base).verdict
            listed.append(public)
    return InitiativesPublic(initiatives=listed)


@router.get("/improvement/initiatives", include_in_schema=False)
def initiatives_page(request: Request, user: Reader, db: DbDep, settings: SettingsDep, format: CsvFormat = "html"):
    listed = initiatives_list(db, settings)
    if format == "csv":
        return csv_response("initiatives", ["id", "title", "stage", "draft", "owner", "department", "target",
                                            "start_date", "change_date", "end_date", "verdict"],
                            [[item.id, item.title, item.stage, item.draft, item.owner, item.department,
                              item.target.words if item.target else None, item.start_date, item.change_date,
                              item.end_date, item.verdict] for item in listed.initiatives])
    return render(request, "cases/improvement/initiatives.html", {
        "listed": listed, "stages": STAGE_LABELS, "can_edit": user.role in EDITORS, "badges": VERDICT_BADGES,
        "verdicts": VERDICT_WORDS,
        "json_href": "/api/v1/improvement/initiatives", "csv_href": "/improvement/initiatives?format=csv",
        "timezone": settings.timezone})


@api.get("/improvement/initiatives", response_model=InitiativesPublic, responses=problem_responses(401, 403))
def initiatives_json(user: Reader, db: DbDep, settings: SettingsDep):
    """Every improvement initiative, newest first, with its owner, PDCA stage, target metric, dates and the
    Check's verdict today."""
    return initiatives_list(db, settings)


def _form_options(db) -> dict[str, object]:
    with db.read() as db_session:
        owners = [(user_id, name or email) for user_id, name, email in db_session.execute(
            select(User.id, User.name, User.email).where(User.is_active.is_(True), User.role != "viewer")
            .order_by(User.name, User.email))]
        causes = [(key, name) for key, name in db_session.execute(
            select(RootCause.key, RootCause.name).where(RootCause.active.is_(True)).order_by(RootCause.name))]
        themes = sorted(theme_labels(current_codebook(db_session.connection()).codebook).items(),
                        key=lambda item: item[1])
        surveys = [(key, title) for key, title in db_session.execute(select(Survey.key, Survey.title).order_by(Survey.title))]
    return {"owners": owners, "root_causes": causes, "themes": themes, "surveys": surveys,
            "departments": _departments(db), "metrics": list(METRIC_LABELS.items())}


def _errors(error: InitiativeError | None) -> dict[str, object]:
    """A form's error in the summary at the top (linked to its field) and at the field itself."""
    if error is None:
        return {"errors": [], "field_errors": {}}
    words = as_sentence(str(error))
    return {"errors": [(error.field, words)] if error.field else [words],
            "field_errors": {error.field: words} if error.field else {}}


def _blank_form() -> dict[str, object]:
    return {"title": "", "problem": "", "owner": "", "department": "", "root_causes": [], "themes": [],
            "survey": "", "metric": "nps", "question": "", "filter": "", "start_date": "", "change_date": ""}


def _initiative_form_page(request: Request, db, *, form: dict, action: str, heading: str,
                          error: InitiativeError | None = None):
    return render(request, "cases/improvement/initiative_form.html", {
        "form": form, "action": action, "heading": heading} | _form_options(db) | _errors(error),
        status_code=400 if error else 200)


def _id(value: str, field: str, words: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) < 2**31:
        raise InitiativeError(f"{words}; pick one from the list", field=field)
    return int(value)


def _day(value: str, field: str) -> date | None:
    try:
        return parse_day(value, field.replace("_", " "))
    except DaysError as exc:
        raise InitiativeError(str(exc), field=field) from None


def _initiative_fields(db_session: Session, form: dict) -> dict[str, object]:
    """The form's values checked and read, as save_initiative takes them."""
    target = None
    if form["survey"] or form["question"]:
        target = plans.parse_target(db_session=db_session, survey=form["survey"], metric=form["metric"],
                                    question=form["question"], filter_query=form["filter"])
    return {"title": form["title"], "problem": form["problem"],
            "owner_id": _id(form["owner"], "owner", "the owner must be a user"),
            "department_id": _id(form["department"], "department", "the department must be a department"),
            "root_causes": form["root_causes"], "themes": form["themes"], "target": target,
            "start_date": _day(form["start_date"], "start_date"), "change_date": _day(form["change_date"], "change_date")}


InitiativeText = Annotated[str, Form(max_length=200)]


def initiative_form(
    title: InitiativeText = "", problem: Annotated[str, Form(max_length=5000)] = "",
    owner: Annotated[str, Form(max_length=12)] = "", department: Annotated[str, Form(max_length=12)] = "",
    root_causes: Annotated[list[str], Form(max_length=100)] = [],  # noqa: B006 (FastAPI copies the default)
    themes: Annotated[list[str], Form(max_length=100)] = [],  # noqa: B006
    survey: Annotated[str, Form(max_length=64)] = "", metric: Annotated[str, Form(max_length=10)] = "nps",
    question: Annotated[str, Form(max_length=64)] = "", filter: Annotated[str, Form(max_length=2000)] = "",
    start_date: Annotated[str, Form(max_length=20)] = "", change_date: Annotated[str, Form(max_length=20)] = "",
) -> dict:
    return {"title": title, "problem": problem, "owner": owner, "department": department,
            "root_causes": [key for key in root_causes if key], "themes": [key for key in themes if key],
            "survey": survey, "metric": metric, "question": question, "filter": filter, "start_date": start_date,
            "change_date": change_date}


InitiativeForm = Annotated[dict, Depends(initiative_form)]


@router.get("/improvement/initiatives/new", include_in_schema=False)
def new_initiative_page(request: Request, user: Editor, db: DbDep):
    return _initiative_form_page(request, db, form=_blank_form() | {"owner": str(user.id)},
                                 action="/improvement/initiatives", heading="New initiative")


@router.post("/improvement/initiatives", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def create_initiative(request: Request, user: Editor, db: DbDep, form: InitiativeForm):
    try:
        with db.write() as db_session:
            created = plans.save_initiative(db_session=db_session, actor=user, **_initiative_fields(db_session, form))
            created_id = created.id
    except InitiativeError as exc:
        return _initiative_form_page(request, db, form=form, action="/improvement/initiatives",
                                     heading="New initiative", error=exc)
    return RedirectResponse(f"/improvement/initiatives/{created_id}?saved=created", status_code=303)


def _not_found(request: Request, what: str):
    return render(request, "error.html", {"status": 404, "title": f"No such {what}",
                                          "detail": f"There is no {what} with this number; it may have been removed."},
                  status_code=404)


@router.get("/improvement/initiatives/{initiative_id}/edit", include_in_schema=False)
def edit_initiative_page(request: Request, user: Editor, db: DbDep, initiative_id: ItemId):
    with db.read() as db_session:
        initiative = db_session.get(Initiative, initiative_id)
        if initiative is None:
            return _not_found(request, "initiative")
        target = target_from(initiative.target)
        form = {"title": initiative.title, "problem": initiative.problem or "",
                "owner": str(initiative.owner_id or ""), "department": str(initiative.department_id or ""),
                "root_causes": list(initiative.root_causes or []), "themes": list(initiative.themes or []),
                "survey": target.survey if target else "", "metric": target.metric if target else "nps",
                "question": target.question if target else "", "filter": target.filter_query if target else "",
                "start_date": str(initiative.start_date or ""), "change_date": str(initiative.change_date or "")}
    return _initiative_form_page(request, db, form=form, action=f"/improvement/initiatives/{initiative_id}",
                                 heading="Edit the initiative")


@router.post("/improvement/initiatives/{initiative_id}", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def update_initiative(request: Request, user: Editor, db: DbDep, initiative_id: ItemId, form: InitiativeForm):
    try:
        with db.write() as db_session:
            initiative = db_session.get(Initiative, initiative_id)
            if initiative is None:
                return _not_found(request, "initiative")
            plans.save_initiative(db_session=db_session, actor=user, initiative=initiative,
                                  **_initiative_fields(db_session, form))
    except InitiativeError as exc:
        return _initiative_form_page(request, db, form=form, action=f"/improvement/initiatives/{initiative_id}",
                                     heading="Edit the initiative", error=exc)
    return RedirectResponse(f"/improvement/initiatives/{initiative_id}?saved=changed", status_code=303)


@router.post("/improvement/initiatives/{initiative_id}/stage", include_in_schema=False,
             dependencies=[Depends(verify_csrf)])
def move_initiative(request: Request, user: Editor, db: DbDep, settings: SettingsDep, initiative_id: ItemId,
                    to: Annotated[str, Form(max_length=10)] = ""):
    try:
        with db.write() as db_session:
            initiative = db_session.get(Initiative, initiative_id)
            if initiative is None:
                return _not_found(request, "initiative")
            plans.move_stage(db_session=db_session, initiative=initiative, to=to, actor=user,
                             today=datetime.now(ZoneInfo(settings.timezone)).date())
    except InitiativeError as exc:
        return _initiative_view(request, user, db, settings, initiative_id, error=exc)
    return RedirectResponse(f"/improvement/initiatives/{initiative_id}?saved=stage", status_code=303)


def _phase_public(phase) -> PhasePublic:
    chart = phase.chart
    scale = phase.scale
    return PhasePublic(
        name=phase.name, periods=list(phase.periods), n=list(phase.n),
        values=[estimate.value for estimate in phase.estimates],
        centre=[value * scale for value in chart.centre] if chart else None,
        lower=[value * scale for value in chart.lower] if chart else None,
        upper=[value * scale for value in chart.upper] if chart else None,
        signals=[f"{signal.rule.id} at {phase.periods[signal.points[-1]]}" for signal in phase.signals])


def initiative_detail(db, settings, initiative_id: int, *, today: date | None = None) -> InitiativeDetailPublic | None:
    """The initiative, its Check (when it has a target and a change date) and the stages it may move to."""
    with db.read() as db_session:
        initiative = db_session.get(Initiative, initiative_id)
        if initiative is None:
            return None
        public = initiative_public(db_session, initiative)
        target = target_from(initiative.target)
        result = None
        if target is not None and initiative.change_date is not None:
            with suppress(FilterError):
                result = plans.check(db_session, target=target, change_date=initiative.change_date,
                                     zone=settings.timezone, min_base=settings.min_base, today=today)
    checked = None if result is None else CheckPublic(
        change_date=result.change_date, before_days=result.before_days, after_days=result.after_days,
        before=EstimatePublic.of(result.before), after=EstimatePublic.of(result.after),
        difference=DifferencePublic.of(result.difference), verdict=result.verdict, sentence=result.sentence,
        phases=[_phase_public(phase) for phase in result.phases],
        running_month=result.running[0] if result.running else None,
        running=EstimatePublic.of(result.running[2]) if result.running else None)
    public.verdict = result.verdict if result else None
    return InitiativeDetailPublic(initiative=public, check=checked, next_stages=list(STAGE_MOVES[public.stage]))


UNITS = {"nps": ("", 0), "csat": ("%", 1), "ces": ("", 2), "mean": ("", 2)}


def check_chart(checked: CheckPublic, metric: str) -> charts.Chart | None:
    """The monthly control chart with limits per phase and a line at the change month."""
    points, label = [], METRIC_LABELS[metric]
    unit, digits = UNITS[metric]
    for phase in checked.phases:
        signalled = {text.split(" at ")[1] for text in phase.signals}
        for index, (period, n, value) in enumerate(zip(phase.periods, phase.n, phase.values)):
            if value is None:
                continue
            month = charts.month_label(period, short=False)
            limits = ((phase.centre[index], phase.lower[index], phase.upper[index]) if phase.centre
                      else (None, None, None))
            points.append(charts.ControlPoint(charts.month_label(period), value,
                                              f"{month}: {label} {charts.number(value, digits, unit)}, n = {n:,}",
                                              *limits, signalled=period in signalled))
    if checked.running is not None and checked.running.value is not None:
        month = charts.month_label(checked.running_month, short=False)
        points.append(charts.ControlPoint(
            charts.month_label(checked.running_month), checked.running.value,
            f"{month} so far: {label} {charts.number(checked.running.value, digits, unit)}, n = {checked.running.n:,}",
            partial=True))
    if len(points) < 2:
        return None
    bounds = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0)}.get(metric, (None, None))
    chart = charts.control_chart(points, title=f"{label} by month, with control limits computed before and after "
                                               "the change", y_title=label, unit=unit, floor=bounds[0],
                                 ceiling=bounds[1])
    before = len([value for value in checked.phases[0].values if value is not None])
    if 0 < before < len([point for point in points if not point.partial]):
        x = charts.STRETCH * before / len(points)
        line = charts.Shape(f"{x:.1f},{charts.PLOT_TOP} {x:.1f},{charts.PLOT_TOP + charts.PLOT_HEIGHT}", "change")
        chart = chart.__class__(**{**vars(chart), "lines": (*chart.lines, line),
                                   "legend": (*chart.legend, ("change", "The change went live"))})
    return chart


@router.get("/improvement/initiatives/{initiative_id}", include_in_schema=False)
def initiative_page(request: Request, user: Reader, db: DbDep, settings: SettingsDep, initiative_id: ItemId):
    return _initiative_view(request, user, db, settings, initiative_id)


def _initiative_view(request: Request, user: User, db, settings, initiative_id: int,
                     error: InitiativeError | None = None):
    detail = initiative_detail(db, settings, initiative_id)
    if detail is None:
        return _not_found(request, "initiative")
    metric = detail.initiative.target.metric if detail.initiative.target else "nps"
    with db.read() as db_session:
        cause_names = dict(db_session.execute(select(RootCause.key, RootCause.name)).all())
        themes = theme_labels(current_codebook(db_session.connection()).codebook)
    return render(request, "cases/improvement/initiative.html", {
        "detail": detail, "item": detail.initiative, "check": detail.check, "stages": STAGE_LABELS,
        "chart": check_chart(detail.check, metric) if detail.check else None, "digits": UNITS[metric][1],
        "unit": UNITS[metric][0], "cause_names": cause_names, "theme_names": themes,
        "can_edit": user.role in EDITORS, "saved": request.query_params.get("saved"),
        "badge": VERDICT_BADGES.get(detail.check.verdict) if detail.check else None, "verdicts": VERDICT_WORDS,
        "json_href": f"/api/v1/improvement/initiatives/{initiative_id}", "timezone": settings.timezone,
    } | _errors(error), status_code=400 if error else 200)


@api.get("/improvement/initiatives/{initiative_id}", response_model=InitiativeDetailPublic,
         responses=problem_responses(401, 403, 404))
def initiative_json(request: Request, user: Reader, db: DbDep, settings: SettingsDep, initiative_id: ItemId):
    """One initiative with its Check: the target metric before against after the change date (the core's
    comparison and its interval), the verdict in words, and the monthly chart's two phases."""
    detail = initiative_detail(db, settings, initiative_id)
    if detail is None:
        return problem(404, "There is no initiative with this number.", code="no-such-initiative",
                       instance=request.url.path)
    return detail


# Alerts ----------------------------------------------------------------------------------------------------


def alert_public(db_session: Session, alert: AlertRule) -> AlertPublic:
    owner = db_session.get(User, alert.owner_id) if alert.owner_id else None
    signals = db_session.scalar(select(func.count()).select_from(AlertSignal).where(AlertSignal.alert_id == alert.id))
    return AlertPublic(id=alert.id, name=alert.name, owner_id=alert.owner_id,
                       owner=(owner.name or owner.email) if owner else None, target=_target_public(alert.target),
                       active=alert.active, signals=signals or 0)


def alerts_list(db) -> AlertsPublic:
    with db.read() as db_session:
        return AlertsPublic(alerts=[alert_public(db_session, alert)
                                    for alert in db_session.scalars(select(AlertRule).order_by(AlertRule.name))])


@router.get("/improvement/alerts", include_in_schema=False)
def alerts_page(request: Request, user: Reader, db: DbDep, format: CsvFormat = "html"):
    listed = alerts_list(db)
    if format == "csv":
        return csv_response("alerts", ["id", "name", "owner", "target", "active", "signals"],
                            [[alert.id, alert.name, alert.owner, alert.target.words if alert.target else None,
                              alert.active, alert.signals] for alert in listed.alerts])
    return render(request, "cases/improvement/alerts.html", {
        "listed": listed, "can_edit": user.role in EDITORS, "saved": request.query_params.get("saved"),
        "json_href": "/api/v1/improvement/alerts", "csv_href": "/improvement/alerts?format=csv"})


@api.get("/improvement/alerts", response_model=AlertsPublic, responses=problem_responses(401, 403))
def alerts_json(user: Reader, db: DbDep):
    """Every alert rule: the metric it watches, its owner, whether it is paused, and how many signals it found."""
    return alerts_list(db)


def _alert_form_page(request: Request, db, *, form: dict, error: InitiativeError | None = None):
    options = _form_options(db)
    options["metrics"] = [(key, label) for key, label in METRIC_LABELS.items() if key in alert_rules.ALERT_METRICS]
    return render(request, "cases/improvement/alert_form.html", {"form": form} | options | _errors(error),
                  status_code=400 if error else 200)


@router.get("/improvement/alerts/new", include_in_schema=False)
def new_alert_page(request: Request, user: Editor, db: DbDep):
    return _alert_form_page(request, db, form={"name": "", "owner": str(user.id), "survey": "", "metric": "nps",
                                               "question": "", "filter": ""})


@router.post("/improvement/alerts", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def create_alert(request: Request, user: Editor, db: DbDep,
                 name: Annotated[str, Form(max_length=200)] = "", owner: Annotated[str, Form(max_length=12)] = "",
                 survey: Annotated[str, Form(max_length=64)] = "", metric: Annotated[str, Form(max_length=10)] = "nps",
                 question: Annotated[str, Form(max_length=64)] = "", filter: Annotated[str, Form(max_length=2000)] = ""):
    form = {"name": name, "owner": owner, "survey": survey, "metric": metric, "question": question, "filter": filter}
    try:
        with db.write() as db_session:
            target = plans.parse_target(db_session=db_session, survey=survey, metric=metric, question=question,
                                        filter_query=filter, metrics=alert_rules.ALERT_METRICS)
            created = alert_rules.save_alert(db_session=db_session, actor=user, name=name, target=target,
                                             owner_id=_id(owner, "owner", "the owner must be a user"))
            created_id = created.id
    except InitiativeError as exc:
        return _alert_form_page(request, db, form=form, error=exc)
    return RedirectResponse(f"/improvement/alerts/{created_id}?saved=created", status_code=303)


def alert_detail(db, settings, alert_id: int, *, now: datetime | None = None) -> AlertDetailPublic | None:
    """The alert, the signals it found, and the chart it watches as it stands now."""
    with db.read() as db_session:
        alert = db_session.get(AlertRule, alert_id)
        if alert is None:
            return None
        target = target_from(alert.target)
        try:
            trend = (alert_rules.alert_trend(db_session, target, now=now or datetime.now(timezone.utc),
                                             zone=settings.timezone, min_base=settings.min_base) if target else None)
        except FilterError:  # a target stored by hand whose filter no longer reads: no chart
            trend = None
        signals = [AlertSignalPublic(period=signal.period, rule=signal.rule, message=signal.message,
                                     found_at=signal.found_at, initiative_id=signal.initiative_id)
                   for signal in db_session.scalars(select(AlertSignal).where(AlertSignal.alert_id == alert_id)
                                                    .order_by(AlertSignal.period.desc(), AlertSignal.rule))]
        return AlertDetailPublic(alert=alert_public(db_session, alert), signals=signals, trend=trend)


@router.get("/improvement/alerts/{alert_id}", include_in_schema=False)
def alert_page(request: Request, user: Reader, db: DbDep, settings: SettingsDep, alert_id: ItemId):
    detail = alert_detail(db, settings, alert_id)
    if detail is None:
        return _not_found(request, "alert")
    return render(request, "cases/improvement/alert.html", {
        "detail": detail, "alert": detail.alert, "can_edit": user.role in EDITORS,
        "drawing": draw_trend(detail.trend, detail.alert.target.survey) if detail.trend else None,
        "saved": request.query_params.get("saved"), "json_href": f"/api/v1/improvement/alerts/{alert_id}",
        "timezone": settings.timezone})


@api.get("/improvement/alerts/{alert_id}", response_model=AlertDetailPublic, responses=problem_responses(401, 403, 404))
def alert_json(request: Request, user: Reader, db: DbDep, settings: SettingsDep, alert_id: ItemId):
    """One alert rule with the signals it found (each told once, unless it had ended before the alert was made) and
    the monthly control chart it watches."""
    detail = alert_detail(db, settings, alert_id)
    if detail is None:
        return problem(404, "There is no alert with this number.", code="no-such-alert", instance=request.url.path)
    return detail


@router.post("/improvement/alerts/{alert_id}/active", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def pause_alert(request: Request, user: Editor, db: DbDep, alert_id: ItemId,
                active: Annotated[Literal["yes", "no"], Form()] = "no"):
    with db.write() as db_session:
        alert = db_session.get(AlertRule, alert_id)
        if alert is None:
            return _not_found(request, "alert")
        alert_rules.set_active(db_session=db_session, alert=alert, active=active == "yes", actor=user)
    return RedirectResponse(f"/improvement/alerts/{alert_id}?saved={'resumed' if active == 'yes' else 'paused'}",
                            status_code=303)


@router.post("/improvement/alerts/{alert_id}/signals/{period}/{rule}/initiative", include_in_schema=False,
             dependencies=[Depends(verify_csrf)])
def initiative_from_signal(request: Request, user: Editor, db: DbDep, alert_id: ItemId,
                           period: Annotated[str, Path(max_length=20)], rule: Annotated[str, Path(max_length=40)]):
    with db.write() as db_session:
        alert = db_session.get(AlertRule, alert_id)
        signal = db_session.get(AlertSignal, (alert_id, period, rule)) if alert else None
        if signal is None:
            return _not_found(request, "signal")
        try:
            initiative = alert_rules.draft_from_signal(db_session=db_session, alert=alert, signal=signal, actor=user)
        except InitiativeError:  # the alert's target no longer reads (its survey was removed): open without it
            initiative = plans.save_initiative(db_session=db_session, actor=user, title=alert.name, draft=True,
                                               problem=signal.message)
            signal.initiative_id = initiative.id
        initiative_id = initiative.id
    return RedirectResponse(f"/improvement/initiatives/{initiative_id}?saved=drafted", status_code=303)

