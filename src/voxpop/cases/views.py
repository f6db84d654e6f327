"""Working cases in the browser: the queue (/cases), the case page (/cases/{id}) with its forms, and the root
causes (/cases/root-causes); each with its JSON twin under /api/v1/cases.

Every route checks the login and role on the server, and every list, count and case goes through
cases.queues.visible, so an agent never sees another department's case: it is absent from lists and answers 404.
Forms post with the session's CSRF token; every change is made by cases.service (or contact, for e-mail), which
writes the timeline and the audit log in the same transaction."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, NamedTuple
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from voxpop.accounts.models import Department, User
from voxpop.accounts.service import audit
from voxpop.analysis.periods import DaysError, parse_day
from voxpop.cases import contact, detail, queues, service
from voxpop.cases.models import Case, CaseRule, RootCause
from voxpop.cases.schemas import (
    BulkAssignment,
    BulkAssignmentPublic,
    CaseAssignment,
    CaseContactCreate,
    CaseDetailPublic,
    CaseEmailCreate,
    CaseListPublic,
    CaseUpdate,
    RootCausePublic,
    RootCausesPublic,
)
from voxpop.cases.statuses import LABELS, PRIORITIES, STATUSES
from voxpop.core.wording import as_sentence
from voxpop.customers.models import Customer
from voxpop.store.base import utcnow
from voxpop.text.codebooks import current_codebook
from voxpop.text.labels import SENTIMENT_WORDS, theme_labels
from voxpop.text.pipeline import LANGUAGE_NAMES
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep, client_address, require_role, same_site_path, verify_csrf
from voxpop.web.problems import problem, problem_responses
from voxpop.web.tables import csv_response
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])
Worker = Annotated[User, Depends(require_role(*queues.CASE_WORKERS))]
BulkAssigner = Annotated[User, Depends(require_role(*queues.BULK_ASSIGNERS))]
CauseEditor = Annotated[User, Depends(require_role("admin", "manager"))]
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PAGE_SIZE = 50
CSRF = [Depends(verify_csrf)]
CASE_PATH = "/cases/{case_id:int}"  # digits only, so /cases/rules and /cases/root-causes are not taken for a case


class QueueParams(NamedTuple):
    """The queue's query string as sent: empty means any (or the user's default tab)."""

    scope: str
    status: tuple[str, ...]
    priority: str
    department: str
    owner: str
    rule: str
    overdue: str
    since: str
    until: str
    sort: str

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str]]) -> QueueParams:
        """The parameters from a query string's pairs (the bulk form sends the page's own query back)."""
        single = {name: value[:200] for name, value in pairs if name in cls._fields and name != "status"}
        statuses = tuple(value[:20] for name, value in pairs if name == "status")[:len(STATUSES)]
        return cls(**({name: "" for name in cls._fields} | single | {"status": statuses}))

    def query(self, user) -> queues.CaseQuery:
        """The queue query these ask for; QueueError names the parameter that cannot be read."""
        return queues.CaseQuery(
            scope=self.scope or queues.default_scope(user), statuses=tuple(dict.fromkeys(self.status)),
            priority=self.priority or None, department_id=_id(self.department, "department"),
            owner_id=user.id if self.owner == "me" else _id(self.owner, "owner"), rule=self.rule or None,
            overdue=_yes(self.overdue), opened_since=_day(self.since, "since"), opened_until=_day(self.until, "until"),
            sort=self.sort or "deadline").check()

    def pairs(self, **changes) -> list[tuple[str, str]]:
        """The query string's pairs with some changed (or added: page, format); empty values left out."""
        values = self._asdict() | changes
        return [(name, value) for name in (*self._fields, *(key for key in changes if key not in self._fields))
                for value in (values[name] if name == "status" else (values[name],)) if value]


def queue_params(
    scope: Annotated[str, Query(max_length=12, description="mine, department or all.")] = "",
    status: Annotated[list[str], Query(max_length=5, description="new, in_progress, waiting, resolved, closed; "
                                                                 "repeat for several.")] = [],  # noqa: B006
    priority: Annotated[str, Query(max_length=10, description="urgent, high, normal or low.")] = "",
    department: Annotated[str, Query(max_length=12, description="A department's id.")] = "",
    owner: Annotated[str, Query(max_length=12, description="A user's id, or me.")] = "",
    rule: Annotated[str, Query(max_length=64, description="The key of the rule that opened the case.")] = "",
    overdue: Annotated[str, Query(max_length=5, description="yes: only open cases past a deadline.")] = "",
    since: Annotated[str, Query(max_length=10, description="Opened on or after this day (YYYY-MM-DD).")] = "",
    until: Annotated[str, Query(max_length=10, description="Opened on or before this day (YYYY-MM-DD).")] = "",
    sort: Annotated[str, Query(max_length=10, description="deadline (next due first), opened or priority.")] = "",
) -> QueueParams:
    return QueueParams(scope, tuple(value[:20] for value in status), priority, department, owner.strip(), rule.strip(),
                       overdue, since.strip(), until.strip(), sort)


Queue = Annotated[QueueParams, Depends(queue_params)]


def _id(value: str, field: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > 10 or not 1 <= int(value) < 2**31:
        raise queues.QueueError(f"choose the {field.replace('_', ' ')} from the list; {value!r} is not one",
                                field=field)
    return int(value)


def _yes(value: str) -> bool:
    if value not in ("", "yes", "no", "1", "0", "true", "false"):
        raise queues.QueueError(f"overdue is yes or no, not {value!r}", field="overdue")
    return value in ("yes", "1", "true")


def _day(value: str, field: str) -> date | None:
    """A day of the since/until filter, within analysis.periods' FIRST_DAY..LAST_DAY (the far ends overflow once
    moved to UTC or a day on)."""
    try:
        return parse_day(value, field)
    except DaysError as exc:
        raise queues.QueueError(str(exc), field=field) from None


def _people(db_session) -> list[tuple[int, str]]:
    """Who a case can be given to: active agents, managers and admins, with their departments."""
    rows = db_session.execute(select(User.id, User.name, User.email, Department.name.label("department"))
                              .outerjoin(Department, Department.id == User.department_id)
                              .where(User.is_active.is_(True), User.role.in_(queues.CASE_WORKERS))
                              .order_by(Department.name, User.name, User.email)).all()
    return [(row.id, (row.name or row.email) + (f" ({row.department})" if row.department else "")) for row in rows]


def _departments(db_session) -> list[tuple[int, str]]:
    return [tuple(row) for row in db_session.execute(select(Department.id, Department.name).order_by(Department.name))]


def _errors(error: Exception | None, form: str = "") -> dict[str, object]:
    """A form's error for the page: in the summary at the top, linked to its field, and at the field itself."""
    if error is None:
        return {"errors": [], "field_errors": {}, "failed_form": ""}
    words = as_sentence(str(error))
    field = getattr(error, "field", None)
    if field:
        target = f"{form}-{field}" if form else field
        return {"errors": [(target, words)], "field_errors": {target: words}, "failed_form": form}
    return {"errors": [words], "field_errors": {}, "failed_form": form}


# ---- the queue -------------------------------------------------------------------------------------------------


def _queue_page(request: Request, db, settings, user, params: QueueParams, *, page: int = 1,
                error: Exception | None = None, form: dict | None = None, status_code: int = 200):
    listed, query = None, None
    try:
        query = params.query(user)
    except queues.QueueError as exc:
        error, status_code = exc, 422
    now = utcnow()
    with db.read() as db_session:
        if query is not None:
            listed = queues.list_cases(db_session=db_session, user=user, query=query, now=now, zone=settings.timezone,
                                       offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        people, departments = _people(db_session), _departments(db_session)
        rules = [(key, name) for key, name in db_session.execute(select(CaseRule.key, CaseRule.name)
                                                                  .order_by(CaseRule.name))]
    base = params.pairs()

    def href(**changes) -> str:
        pairs = params.pairs(**changes)
        return "/cases" + ("?" + urlencode(pairs) if pairs else "")

    pages = None
    if listed and listed.total > PAGE_SIZE:
        last = (listed.total - 1) // PAGE_SIZE + 1
        pages = (href(page=str(page - 1)) if page > 1 else None, href(page=str(page + 1)) if page < last else None,
                 f"Page {page} of {last}")
    return render(request, "cases/cases/queue.html", {
        "listed": listed, "params": params, "query": query, "scope": query.scope if query else params.scope,
        "scopes": list(queues.SCOPES.items()), "sorts": list(queues.SORTS.items()),
        "statuses": [(status, LABELS[status]) for status in STATUSES],
        "priorities": [(priority, priority.capitalize()) for priority in PRIORITIES],
        "people": people, "departments": departments, "rules": rules, "timezone": settings.timezone,
        "can_bulk": user.role in queues.BULK_ASSIGNERS, "back": "/cases" + ("?" + urlencode(base) if base else ""),
        "href": href, "pages": pages, "assigned": request.query_params.get("assigned", ""),
        "csv_href": href(format="csv"), "json_href": "/api/v1/cases" + ("?" + urlencode(base) if base else ""),
        "form": form or {"owner": "", "department": "", "reason": ""},
    } | _errors(error, "bulk" if form is not None else ""), status_code=status_code)


@router.get("/cases", include_in_schema=False)
def queue_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, params: Queue,
               page: Annotated[int, Query(ge=1, le=100_000)] = 1,
               format: Annotated[Literal["html", "csv"], Query()] = "html"):
    if format == "csv":
        try:
            query = params.query(user)
        except queues.QueueError:
            return _queue_page(request, db, settings, user, params)  # the page says which filter cannot be read
        with db.read() as db_session:
            listed = queues.list_cases(db_session=db_session, user=user, query=query, now=utcnow(),
                                       zone=settings.timezone, limit=None)
        return csv_response("cases", *queues.case_table(listed))
    return _queue_page(request, db, settings, user, params, page=page)


@api.get("/cases", response_model=CaseListPublic, responses=problem_responses(422))
def queue_json(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, params: Queue,
               offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
               limit: Annotated[int, Query(ge=1, le=1000)] = PAGE_SIZE):
    """The case queue: the cases of a tab (scope mine, department or all) that the filters keep, next deadline
    first, with the count per status. Agents see their department's cases only."""
    try:
        query = params.query(user)
    except queues.QueueError as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-filter", instance=request.url.path,
                       errors=[{"field": exc.field or "query", "message": as_sentence(str(exc))}])
    with db.read() as db_session:
        return queues.list_cases(db_session=db_session, user=user, query=query, now=utcnow(), zone=settings.timezone,
                                 offset=offset, limit=limit)


def _bulk(db, settings, request: Request, user, change: BulkAssignment) -> int:
    with db.write() as db_session:
        return queues.bulk_assign(db_session=db_session, user=user, case_ids=change.case_ids, owner_id=change.owner_id,
                                  department_id=change.department_id, reason=change.reason,
                                  public_url=settings.public_url, client=client_address(request, settings))


@router.post("/cases/assign", include_in_schema=False, dependencies=CSRF)
def bulk_assign(request: Request, user: BulkAssigner, db: DbDep, settings: SettingsDep,
                case: Annotated[list[str], Form(max_length=500)] = [],  # noqa: B006 (max_length: how many ticked)
                owner: Annotated[str, Form(max_length=12)] = "",
                department: Annotated[str, Form(max_length=12)] = "",
                reason: Annotated[str, Form(max_length=1000)] = "",
                back: Annotated[str, Form(max_length=2000)] = "/cases"):
    """Give the ticked cases to an owner or department: all of them, or none."""
    back = same_site_path(back, "/cases")
    params = QueueParams.from_pairs(parse_qsl(back.partition("?")[2]))
    form = {"owner": owner, "department": department, "reason": reason}
    try:
        ids = [_id(value, "cases") for value in case]
        if not ids:
            raise service.CaseError("tick the cases to assign", field="cases")
        assigned = _bulk(db, settings, request, user, BulkAssignment.model_construct(
            case_ids=ids, owner_id=_id(owner, "owner"), department_id=_id(department, "department"), reason=reason))
    except (service.CaseError, queues.QueueError) as exc:
        return _queue_page(request, db, settings, user, params, error=exc, form=form, status_code=400)
    target = back if back.startswith("/cases") else "/cases"
    return RedirectResponse(target + ("&" if "?" in target else "?") + f"assigned={assigned}", status_code=303)


@api.post("/cases/assign", response_model=BulkAssignmentPublic, dependencies=CSRF,
          responses=problem_responses(403, 422))
def bulk_assign_json(request: Request, user: BulkAssigner, db: DbDep, settings: SettingsDep, change: BulkAssignment):
    """Give many cases to an owner or department (managers and admins; send the CSRF token in X-CSRF-Token): all of
    them, or none. Taking a case from its owner needs a reason."""
    try:
        return BulkAssignmentPublic(assigned=_bulk(db, settings, request, user, change))
    except service.CaseError as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-assignment", instance=request.url.path,
                       errors=[{"field": exc.field or "case_ids", "message": as_sentence(str(exc))}])


# ---- root causes -----------------------------------------------------------------------------------------------


def root_causes(db_session) -> RootCausesPublic:
    """Every root cause, active first, with how many closed cases name it."""
    counts = dict(db_session.execute(select(Case.root_cause_id, func.count()).where(Case.status == "closed")
                                     .group_by(Case.root_cause_id)).all())
    causes = db_session.scalars(select(RootCause).order_by(RootCause.active.desc(), RootCause.name)).all()
    return RootCausesPublic(root_causes=[RootCausePublic(id=cause.id, key=cause.key, name=cause.name, theme=cause.theme,
                                                         active=cause.active, cases=counts.get(cause.id, 0))
                                         for cause in causes])


def codebook_themes(db_session) -> dict[str, str]:
    """The current codebook's themes, key to label: what a root cause may point to."""
    return theme_labels(current_codebook(db_session.connection()).codebook)


def _cause_theme(db_session, theme: str) -> str | None:
    theme = theme.strip()
    if theme and theme not in codebook_themes(db_session):
        raise service.CaseError(f"the codebook has no theme {theme!r}; choose one from the list or none", field="theme")
    return theme or None


def _causes_page(request: Request, db, user, *, error: Exception | None = None, form: str = "",
                 values: dict | None = None, status_code: int = 200):
    with db.read() as db_session:
        listed = root_causes(db_session)
        themes = codebook_themes(db_session)
    return render(request, "cases/cases/root_causes.html", {
        "listed": listed, "themes": sorted(themes.items(), key=lambda pair: pair[1]), "theme_labels": themes, "can_edit": user.role in ("admin", "manager"), "saved": request.query_params.get("saved", ""),
        "values": values or {"key": "", "name": "", "theme": ""}, "json_href": "/api/v1/cases/root-causes",
    } | _errors(error, form), status_code=status_code)


@router.get("/cases/root-causes", include_in_schema=False)
def causes_page(request: Request, user: CurrentUser, db: DbDep,
                format: Annotated[Literal["html", "csv"], Query()] = "html"):
    if format == "csv":
        with db.read() as db_session:
            listed = root_causes(db_session)
        return csv_response("root-causes", ["key", "name", "theme", "active", "cases"],
                            [[cause.key, cause.name, cause.theme, cause.active, cause.cases]
                             for cause in listed.root_causes])
    return _causes_page(request, db, user)


@api.get("/cases/root-causes", response_model=RootCausesPublic)
def causes_json(user: CurrentUser, db: DbDep):
    """The root causes a case can be closed with, and how many closed cases name each."""
    with db.read() as db_session:
        return root_causes(db_session)


def _cause_key(key: str) -> str:
    key = key.strip().lower()
    if not key or not all(ch.isalnum() or ch in "-_" for ch in key) or len(key) > 64:
        raise service.CaseError("the key is up to 64 letters, digits, - or _, e.g. late-delivery", field="key")
    return key


def _cause_name(name: str) -> str:
    if not name.strip():
        raise service.CaseError("give the root cause a name people will recognise", field="name")
    return name.strip()[:200]


@router.post("/cases/root-causes", include_in_schema=False, dependencies=CSRF)
def add_cause(request: Request, user: CauseEditor, db: DbDep, settings: SettingsDep,
              key: Annotated[str, Form(max_length=64)] = "", name: Annotated[str, Form(max_length=200)] = "",
              theme: Annotated[str, Form(max_length=200)] = ""):
    """Add a root cause to the list cases are closed with."""
    values = {"key": key, "name": name, "theme": theme}
    try:
        with db.write() as db_session:
            cause = RootCause(key=_cause_key(key), name=_cause_name(name), theme=_cause_theme(db_session, theme),
                              active=True)
            db_session.add(cause)
            db_session.flush()
            audit(db_session=db_session, actor=user, action="root_cause.create", target=cause.key,
                  client=client_address(request, settings), name=cause.name, theme=cause.theme)
    except service.CaseError as exc:
        return _causes_page(request, db, user, error=exc, form="new", values=values, status_code=400)
    except IntegrityError:
        exc = service.CaseError(f"there already is a root cause with key {key.strip().lower()}; choose another",
                                field="key")
        return _causes_page(request, db, user, error=exc, form="new", values=values, status_code=400)
    return RedirectResponse("/cases/root-causes?saved=added", status_code=303)


@router.post("/cases/root-causes/{cause_id:int}", include_in_schema=False, dependencies=CSRF)
def change_cause(request: Request, user: CauseEditor, db: DbDep, settings: SettingsDep,
                 cause_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                 name: Annotated[str, Form(max_length=200)] = "", theme: Annotated[str, Form(max_length=200)] = "",
                 active: Annotated[str, Form(max_length=5)] = "yes"):
    """Rename a root cause, point it to a theme, or (de)activate it; closed cases keep theirs either way."""
    try:
        with db.write() as db_session:
            cause = db_session.get(RootCause, cause_id)
            if cause is None:
                raise HTTPException(404)
            before = {"name": cause.name, "theme": cause.theme, "active": cause.active}
            cause.name, cause.theme = _cause_name(name), _cause_theme(db_session, theme)
            cause.active = active == "yes"
            after = {"name": cause.name, "theme": cause.theme, "active": cause.active}
            audit(db_session=db_session, actor=user, action="root_cause.update", target=cause.key,
                  client=client_address(request, settings), before=before, after=after)
    except service.CaseError as exc:
        return _causes_page(request, db, user, error=exc, form=f"cause-{cause_id}", status_code=400)
    return RedirectResponse("/cases/root-causes?saved=changed", status_code=303)


# ---- one case --------------------------------------------------------------------------------------------------


def _detail(db, user, case_id: int, settings) -> CaseDetailPublic:
    with db.read() as db_session:
        return detail.case_detail(db_session=db_session, user=user, case_id=case_id, now=utcnow(),
                                  zone=settings.timezone)


def _case_page(request: Request, db, settings, user, case_id: int, *, error: Exception | None = None,
               form: str = "", values: dict | None = None, status_code: int = 200):
    try:
        shown = _detail(db, user, case_id, settings)
    except detail.CaseNotFound:
        raise HTTPException(404) from None
    can_work = user.role in queues.CASE_WORKERS
    draft, refusal, languages = None, None, contact.LANGUAGES
    with db.read() as db_session:
        people, departments = _people(db_session), _departments(db_session)
        causes = [(cause.id, cause.name) for cause in db_session.scalars(
            select(RootCause).where(RootCause.active.is_(True)).order_by(RootCause.name))]
        item = db_session.get(Case, case_id)
        if can_work:
            customer = db_session.get(Customer, item.customer_id) if item.customer_id else None
            refusal = contact.contact_refusal(item, customer)
            if refusal is None:
                template = request.query_params.get("template", "apology")
                template = template if template in contact.TEMPLATES else "apology"
                draft = contact.draft(db_session=db_session, case=item, template=template,
                                      language=request.query_params.get("language"),
                                      agent_name=user.name or user.email)
    values = values or {}
    return render(request, "cases/cases/case.html", {
        "shown": shown, "item": shown.case, "timezone": settings.timezone, "can_work": can_work,
        "people": people, "departments": departments, "causes": causes, "draft": draft, "refusal": refusal,
        "templates": contact.template_options(), "languages": list(languages.items()),
        "sentiment_words": SENTIMENT_WORDS, "language_names": LANGUAGE_NAMES, "values": values,
        "saved": request.query_params.get("saved", ""), "json_href": f"/api/v1/cases/{case_id}",
    } | _errors(error, form), status_code=status_code)


@router.get(CASE_PATH, include_in_schema=False)
def case_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, case_id: CaseId):
    return _case_page(request, db, settings, user, case_id)


@api.get("/cases/{case_id:int}", response_model=CaseDetailPublic, responses=problem_responses(404))
def case_json(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, case_id: CaseId):
    """One case: the customer, the response that opened it, deadlines in business hours, the statuses it may move
    to, and its timeline."""
    try:
        return _detail(db, user, case_id, settings)
    except detail.CaseNotFound as exc:
        return problem(404, str(exc), code="no-such-case", instance=request.url.path)


def _change(db, user, case_id: int, change) -> None:
    """Make one change to a case the user may see, in one transaction; CaseNotFound or CaseError if it cannot."""
    with db.write() as db_session:
        item = queues.visible_case(db_session=db_session, user=user, case_id=case_id, for_update=True)
        if item is None:
            raise detail.CaseNotFound(f"There is no case {case_id}; the queue lists the cases you can open.")
        change(db_session, item)


def _form_change(request: Request, db, settings, user, case_id: int, change, *, form: str, values: dict,
                 saved: str):
    try:
        _change(db, user, case_id, change)
    except detail.CaseNotFound:
        raise HTTPException(404) from None
    except service.CaseError as exc:
        status = 422 if exc.field == "status" else 400
        return _case_page(request, db, settings, user, case_id, error=exc, form=form, values=values,
                          status_code=status)
    return RedirectResponse(f"/cases/{case_id}?saved={saved}#timeline", status_code=303)


def _json_change(request: Request, db, settings, user, case_id: int, change):
    try:
        _change(db, user, case_id, change)
    except detail.CaseNotFound as exc:
        return problem(404, str(exc), code="no-such-case", instance=request.url.path)
    except service.CaseError as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-change", instance=request.url.path,
                       errors=[{"field": exc.field or "body", "message": as_sentence(str(exc))}])
    return _detail(db, user, case_id, settings)


def _status_change(request: Request, settings, user, update: CaseUpdate):
    def change(db_session, item):
        service.change_status(db_session=db_session, case=item, to=update.status, actor=user,
                              note=(update.note or "").strip() or None, root_cause_id=update.root_cause_id,
                              action_taken=update.action_taken, issue_resolved=update.issue_resolved,
                              client=client_address(request, settings), zone=settings.timezone)
    return change


def _cause_id(value: str) -> int | None:
    try:
        return _id(value, "root_cause")
    except queues.QueueError as exc:
        raise service.CaseError("choose the root cause from the list", field=exc.field) from None


@router.post(CASE_PATH + "/status", include_in_schema=False, dependencies=CSRF)
def status_form(request: Request, user: Worker, db: DbDep, settings: SettingsDep, case_id: CaseId,
                to: Annotated[str, Form(max_length=20)] = "", note: Annotated[str, Form(max_length=5000)] = "",
                root_cause: Annotated[str, Form(max_length=12)] = "",
                action_taken: Annotated[str, Form(max_length=5000)] = "",
                issue_resolved: Annotated[str, Form(max_length=5)] = ""):
    """Move the case to another status; closing asks for the root cause, the action taken and whether the issue
    was resolved."""
    form = "close" if to == "closed" else "status"
    values = {"note": note, "root_cause": root_cause, "action_taken": action_taken, "issue_resolved": issue_resolved}

    def change(db_session, item):
        if to not in STATUSES:
            raise service.CaseError(f"there is no status {to!r}; choose one of the buttons", field="status")
        if issue_resolved not in ("", "yes", "no"):
            raise service.CaseError("answer yes or no: was the customer's issue resolved", field="issue_resolved")
        update = CaseUpdate.model_construct(status=to, note=note, root_cause_id=_cause_id(root_cause),
                                            action_taken=action_taken,
                                            issue_resolved=None if not issue_resolved else issue_resolved == "yes")
        _status_change(request, settings, user, update)(db_session, item)

    return _form_change(request, db, settings, user, case_id, change, form=form, values=values,
                        saved="closed" if to == "closed" else "status")


@api.post("/cases/{case_id:int}/status", response_model=CaseDetailPublic, dependencies=CSRF,
          responses=problem_responses(404, 422))
def status_json(request: Request, user: Worker, db: DbDep, settings: SettingsDep, case_id: CaseId,
                update: CaseUpdate):
    """Move the case to another status (send the CSRF token in X-CSRF-Token). Only the moves the workflow allows
    are made; closing needs root_cause_id, action_taken and issue_resolved."""
    return _json_change(request, db, settings, user, case_id, _status_change(request, settings, user, update))


def _assignment(request: Request, settings, user, change: CaseAssignment):
    def assign(db_session, item):
        if change.owner_id is None and change.department_id is None:
            raise service.CaseError("choose an owner or a department to give the case to", field="owner")
        owner = db_session.get(User, change.owner_id) if change.owner_id is not None else None
        department = change.department_id if change.department_id is not None else (
            owner.department_id if owner is not None and owner.department_id is not None else item.department_id)
        service.assign(db_session=db_session, case=item, owner_id=change.owner_id, department_id=department,
                       actor=user, reason=change.reason, public_url=settings.public_url,
                       client=client_address(request, settings))
    return assign


@router.post(CASE_PATH + "/assign", include_in_schema=False, dependencies=CSRF)
def assign_form(request: Request, user: Worker, db: DbDep, settings: SettingsDep, case_id: CaseId,
                owner: Annotated[str, Form(max_length=12)] = "", department: Annotated[str, Form(max_length=12)] = "",
                reason: Annotated[str, Form(max_length=1000)] = ""):
    """Give the case to someone else or another department; taking it from its owner asks for a reason."""
    values = {"owner": owner, "department": department, "reason": reason}

    def change(db_session, item):
        try:
            assignment = CaseAssignment.model_construct(owner_id=_id(owner, "owner"),
                                                        department_id=_id(department, "department"), reason=reason)
        except queues.QueueError as exc:
            raise service.CaseError(str(exc), field=exc.field) from None
        _assignment(request, settings, user, assignment)(db_session, item)

    return _form_change(request, db, settings, user, case_id, change, form="assign", values=values, saved="assigned")


@api.post("/cases/{case_id:int}/assign", response_model=CaseDetailPublic, dependencies=CSRF,
          responses=problem_responses(404, 422))
def assign_json(request: Request, user: Worker, db: DbDep, settings: SettingsDep, case_id: CaseId,
                change: CaseAssignment):
    """Give the case to an owner or department (send the CSRF token in X-CSRF-Token); taking it from its owner needs
    a reason."""
    return _json_change(request, db, settings, user, case_id, _assignment(request, settings, user, change))


def _record(request: Request, settings, user, entry: CaseContactCreate):
    def record(db_session, item):
        words = entry.note.strip()
        if not words:
            raise service.CaseError("write what was said or agreed", field="note")
        if entry.kind == "note":
            service.add_event(db_session=db_session, case=item, kind="note", actor=user, note=words)
            item.updated_at = utcnow()
            audit(db_session=db_session, actor=user, action="case.note", target=f"case:{item.id}",
                  client=client_address(request, settings))
        else:
            service.log_contact(db_session=db_session, case=item, kind=entry.kind, note=words, actor=user,
                                client=client_address(request, settings))
    return record


@router.post(CASE_PATH + "/events", include_in_schema=False, dependencies=CSRF)
def record_form(request: Request, user: Worker, db: DbDep, settings: SettingsDep, case_id: CaseId,
                kind: Annotated[str, Form(max_length=10)] = "", note: Annotated[str, Form(max_length=5000)] = ""):
    """Log a call or meeting with the customer, or add a note to the timeline."""
    form = "note" if kind == "note" else "contact"
    values = {"kind": kind, "note": note}

    def change(db_session, item):
        if kind not in ("call", "meeting", "note"):
            raise service.CaseError("choose a call or a meeting", field="kind")
        _record(request, settings, user, CaseContactCreate.model_construct(kind=kind, note=note))(db_session, item)

    return _form_change(request, db, settings, user, case_id, change, form=form, values=values, saved=form)


@api.post("/cases/{case_id:int}/events", response_model=CaseDetailPublic, dependencies=CSRF,
          responses=problem_responses(404, 422))
def record_json(request: Request, user: Worker, db: DbDep, settings: SettingsDep, case_id: CaseId,
                entry: CaseContactCreate):
    """Log a call or meeting with the customer, or add a note (send the CSRF token in X-CSRF-Token)."""
    return _json_change(request, db, settings, user, case_id, _record(request, settings, user, entry))


def _email(request: Request, settings, user, mail: CaseEmailCreate):
    def send(db_session, item):
        contact.send_email(db_session=db_session, case=item, subject=mail.subject, body=mail.body, actor=user,
                           client=client_address(request, settings))
    return send


@router.post(CASE_PATH + "/email", include_in_schema=False, dependencies=CSRF)
def email_form(request: Request, user: Worker, db: DbDep, settings: SettingsDep, case_id: CaseId,
               subject: Annotated[str, Form(max_length=300)] = "", body: Annotated[str, Form(max_length=20000)] = ""):
    """Send the agent's e-mail to the customer (through the outbox) and keep it on the timeline."""
    values = {"subject": subject, "body": body}
    return _form_change(request, db, settings, user, case_id,
                        _email(request, settings, user, CaseEmailCreate.model_construct(subject=subject, body=body)),
                        form="email", values=values, saved="email")


@api.post("/cases/{case_id:int}/emails", response_model=CaseDetailPublic, dependencies=CSRF,
          responses=problem_responses(404, 422))
def email_json(request: Request, user: Worker, db: DbDep, settings: SettingsDep, case_id: CaseId,
               mail: CaseEmailCreate):
    """E-mail the customer from the case (send the CSRF token in X-CSRF-Token); refused when the customer has no
    address or did not agree to be contacted."""
    return _json_change(request, db, settings, user, case_id, _email(request, settings, user, mail))
