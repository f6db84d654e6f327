"""Admins manage staff accounts and departments in the browser; staff set a new password with a reset link.

Writes are HTML forms only (with the session's CSRF token); the JSON twins read. Every change is written to the
audit log with the state before and after, never a password or a link's token.
"""

from __future__ import annotations

from typing import Annotated, Literal, NamedTuple
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import IntegrityError

from voxpop.accounts import resets, service, sessions, two_factor
from voxpop.accounts.account_views import session_public
from voxpop.accounts.models import ROLES, User
from voxpop.accounts.schemas import DepartmentPublic, DepartmentsPublic, SessionsPublic, UserPublic, UsersPublic
from voxpop.web.auth import DbDep, SettingsDep, client_address, csrf_token, require_role, session_key, verify_csrf
from voxpop.web.problems import problem, problem_responses
from voxpop.web.tables import csv_response
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])
Admin = Annotated[User, Depends(require_role("admin"))]
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DepartmentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
STATES = {"active": "Active: can log in", "deactivated": "Deactivated: cannot log in"}
# A link with a token must not be kept by the browser or a proxy: it is shown once, and only to its admin.
NO_STORE = {"Cache-Control": "no-store"}


class UserFilters(NamedTuple):
    """The list's filters as the query string sends them: empty means any."""

    q: str
    role: str
    department: str
    active: str

    def applied(self) -> dict[str, object]:
        """The filters as list_users takes them; AccountError names the one that cannot be applied."""
        if self.role:
            service.check_role(self.role)
        if self.active and self.active not in STATES:
            raise service.AccountError(f"active must be active or deactivated, not {self.active!r}", field="active")
        return {"search": self.q, "role": self.role or None,
                "department_id": _department_id(self.department),
                "active": None if not self.active else self.active == "active"}


def user_filters(
    q: Annotated[str, Query(max_length=200, description="Words the name or e-mail contains.")] = "",
    role: Annotated[str, Query(max_length=20, description="admin, manager, analyst, agent or viewer.")] = "",
    department: Annotated[str, Query(max_length=12, description="A department's id.")] = "",
    active: Annotated[str, Query(max_length=12, description="active or deactivated.")] = "",
) -> UserFilters:
    return UserFilters(q.strip(), role, department, active)


Filters = Annotated[UserFilters, Depends(user_filters)]
CsvFormat = Annotated[Literal["html", "csv"], Query(description="csv for the page's table as CSV.")]


def _department_id(value: str) -> int | None:
    """A department field's value: empty for none, else a department's id."""
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) < 2**31:
        raise service.AccountError(f"department must be a department's id, not {value!r}; pick one from the list",
                                   field="department")
    return int(value)


def user_public(user: User) -> UserPublic:
    return UserPublic(id=user.id, email=user.email, name=user.name, role=user.role, department_id=user.department_id,
                      department=user.department.name if user.department else None, is_active=user.is_active,
                      has_password=user.password_hash != service.NO_PASSWORD, last_login_at=user.last_login_at,
                      created_at=user.created_at)


def users_list(db, filters: UserFilters) -> UsersPublic:
    """The staff users that match the filters; AccountError when a filter cannot be applied."""
    applied = filters.applied()
    with db.read() as db_session:
        return UsersPublic(users=[user_public(user) for user in service.list_users(db_session=db_session, **applied)])


def departments_list(db) -> DepartmentsPublic:
    """Every department, with how many users belong to it."""
    with db.read() as db_session:
        return DepartmentsPublic(departments=[DepartmentPublic(id=department.id, name=department.name, users=users)
                                              for department, users in service.list_departments(db_session=db_session)])


def _error_context(error: service.AccountError | None) -> dict[str, object]:
    """A form's error for the page: in the summary at the top (linked to its field), and at the field itself."""
    if error is None:
        return {"errors": [], "field_errors": {}}
    if error.field:
        return {"errors": [(error.field, error.sentence)], "field_errors": {error.field: error.sentence}}
    return {"errors": [error.sentence], "field_errors": {}}


def _department_options(db) -> list[tuple[int, str]]:
    return [(department.id, department.name) for department in departments_list(db).departments]


def _users_page(request: Request, db, settings, filters: UserFilters):
    listed, error = UsersPublic(users=[]), None
    try:
        listed = users_list(db, filters)
    except service.AccountError as exc:
        error = exc
    return render(request, "accounts/users.html", {
        "listed": listed, "filters": filters, "filtered": any(filters), "json_href": "/api/v1/users" + (
            f"?{request.url.query}" if request.url.query else ""),
        "roles": _role_options(), "departments": _department_options(db), "states": list(STATES.items()),
        "timezone": settings.timezone, "filter_error": error.sentence if error else None,
        "csv_href": "/users?" + urlencode([*((name, value) for name, value in filters._asdict().items() if value),
                                           ("format", "csv")]),
    }, status_code=400 if error else 200)


def _role_options() -> list[tuple[str, str]]:
    return [(role, role.capitalize()) for role in ROLES]


def _new_user_page(request: Request, db, *, form: dict | None = None, error: service.AccountError | None = None):
    return render(request, "accounts/user_new.html", {
        "roles": _role_options(), "departments": _department_options(db), "min_password": service.MIN_PASSWORD_LENGTH,
        "form": form or {"email": "", "name": "", "role": "agent", "department": ""},
    } | _error_context(error), status_code=400 if error else 200)


@router.get("/users", include_in_schema=False)
def users_page(request: Request, user: Admin, db: DbDep, settings: SettingsDep, filters: Filters,
               format: CsvFormat = "html"):
    if format == "csv":
        try:
            listed = users_list(db, filters)
        except service.AccountError:
            return _users_page(request, db, settings, filters)  # the page says which filter cannot be applied
        return csv_response("users", ["name", "email", "role", "department", "active", "has_password",
                                      "last_login_at", "created_at"],
                            [[person.name, person.email, person.role, person.department, person.is_active,
                              person.has_password, person.last_login_at.isoformat() if person.last_login_at else None,
                              person.created_at.isoformat()] for person in listed.users])
    return _users_page(request, db, settings, filters)


@api.get("/users", response_model=UsersPublic, responses=problem_responses(422))
def users_json(request: Request, user: Admin, db: DbDep, filters: Filters):
    """Staff users by name (admins only): filter by words in the name or e-mail, role, department and state."""
    try:
        return users_list(db, filters)
    except service.AccountError as exc:
        return problem(422, exc.sentence, code="invalid-filter", instance=request.url.path)


def _reset_link_page(request: Request, *, token: str, person: User, created: bool):
    return render(request, "accounts/reset_link.html", {
        "link": f"{request.base_url}reset/{token}", "person": person, "created": created,
        "hours": int(resets.VALID_FOR.total_seconds() // 3600)}, headers=NO_STORE)


@router.get("/users/new", include_in_schema=False)
def new_user_page(request: Request, user: Admin, db: DbDep):
    return _new_user_page(request, db)


@router.post("/users", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def create_user(
    request: Request, user: Admin, db: DbDep, settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    department: Annotated[str, Form(max_length=12)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
):
    """Create a user with the password the admin sets, or, without one, show a reset link for them to set it."""
    form = {"email": email, "name": name, "role": role, "department": department}
    try:
        with db.write() as db_session:
            created = service.create_user(
                db_session=db_session, email=email, password=password or None, role=role,
                name=service.check_name(name), department_id=_department_id(department))
            service.audit(db_session=db_session, actor=user, action="user.create", target=created.email,
                          client=client_address(request, settings), via="browser",
                          after=service.user_state(created) | {"password": "set" if password else "by reset link"})
            token = None if password else resets.create_reset(db_session=db_session, user=created, created_by=user)
            if token:
                service.audit(db_session=db_session, actor=user, action="user.reset_link", target=created.email,
                              client=client_address(request, settings))
    except service.AccountError as exc:
        return _new_user_page(request, db, form=form, error=exc)
    except IntegrityError:  # another admin created the same e-mail a moment before
        exc = service.AccountError(f"a user with e-mail {email.strip().lower()} already exists", field="email")
        return _new_user_page(request, db, form=form, error=exc)
    if token:
        return _reset_link_page(request, token=token, person=created, created=True)
    return RedirectResponse(f"/users/{created.id}?saved=created", status_code=303)


def _user_page(request: Request, db, settings, user_id: int, *, form: dict | None = None,
               error: service.AccountError | None = None, saved: str = "", status: int = 200):
    with db.read() as db_session:
        try:
            found = service.user_by_id(db_session=db_session, user_id=user_id)
        except service.AccountError as exc:
            return render(request, "error.html", {"status": 404, "title": "No such user", "detail": exc.sentence},
                          status_code=404)
        person, second = user_public(found), two_factor.status(db_session=db_session, user=found)
    return render(request, "accounts/user.html", {
        "two_factor": second,
        "person": person, "saved": saved, "timezone": settings.timezone,
        "sessions": user_sessions(request, db, settings, user_id).sessions,
        "roles": _role_options(), "departments": _department_options(db), "states": list(STATES.items()),
        "form": form or {"name": person.name, "role": person.role, "department": person.department_id or "",
                         "state": "active" if person.is_active else "deactivated"},
        "hours": int(resets.VALID_FOR.total_seconds() // 3600),
    } | _error_context(error), status_code=status)


@router.get("/users/{user_id}", include_in_schema=False)
def user_page(request: Request, user: Admin, db: DbDep, settings: SettingsDep, user_id: UserId,
              saved: Annotated[str, Query(max_length=20)] = ""):
    return _user_page(request, db, settings, user_id, saved=saved)


@api.get("/users/{user_id}", response_model=UserPublic, responses=problem_responses(404))
def user_json(request: Request, user: Admin, db: DbDep, user_id: UserId):
    """One staff user (admins only)."""
    with db.read() as db_session:
        try:
            return user_public(service.user_by_id(db_session=db_session, user_id=user_id))
        except service.AccountError as exc:
            return problem(404, exc.sentence, code="no-such-user", instance=request.url.path)


def user_sessions(request: Request, db, settings, user_id: int) -> SessionsPublic:
    """The user's open sessions, the most recently seen first (the admin's own marked current)."""
    with db.read() as db_session:
        rows = sessions.active(db_session=db_session, user_id=user_id, max_age=settings.session_max_age)
        return SessionsPublic(sessions=[session_public(row, session_key(request)) for row in rows])


@api.get("/users/{user_id}/sessions", response_model=SessionsPublic, responses=problem_responses(404))
def user_sessions_json(request: Request, user: Admin, db: DbDep, settings: SettingsDep, user_id: UserId):
    """A staff user's open sessions (admins only): where and when each began, and when it was last seen."""
    with db.read() as db_session:
        try:
            service.user_by_id(db_session=db_session, user_id=user_id)
        except service.AccountError as exc:
            return problem(404, exc.sentence, code="no-such-user", instance=request.url.path)
    return user_sessions(request, db, settings, user_id)


@router.post("/users/{user_id}/sessions/end", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def end_user_sessions(request: Request, user: Admin, db: DbDep, settings: SettingsDep, user_id: UserId):
    """End every session of the user (an admin ending their own is logged out too)."""
    try:
        with db.write() as db_session:
            person = service.user_by_id(db_session=db_session, user_id=user_id)
            ended = service.end_sessions(db_session=db_session, user_id=person.id)
            service.audit(db_session=db_session, actor=user, action="user.sessions_end", target=person.email,
                          client=client_address(request, settings), sessions=ended)
    except service.AccountError as exc:
        return _user_page(request, db, settings, user_id, error=exc, status=404)
    return RedirectResponse(f"/users/{user_id}?saved=sessions", status_code=303)


@router.post("/users/{user_id}", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def update_user(
    request: Request, user: Admin, db: DbDep, settings: SettingsDep, user_id: UserId,
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    department: Annotated[str, Form(max_length=12)] = "",
    state: Annotated[str, Form(max_length=12)] = "",
):
    """Change a user's name, role, department and state; a new role or deactivation ends their sessions."""
    form = {"name": name, "role": role, "department": department, "state": state}
    try:
        if state not in STATES:
            raise service.AccountError("choose whether the account is active or deactivated", field="state")
        with db.write() as db_session:
            before, after = service.update_user(db_session=db_session, user_id=user_id, name=name, role=role,
                                                department_id=_department_id(department), is_active=state == "active")
            changed = {key for key in before if before[key] != after[key]}
            if changed:
                service.audit(db_session=db_session, actor=user, action="user.update", target=after["email"],
                              client=client_address(request, settings),
                              before={key: before[key] for key in changed}, after={key: after[key] for key in changed})
    except service.AccountError as exc:
        return _user_page(request, db, settings, user_id, form=form, error=exc, status=400)
    return RedirectResponse(f"/users/{user_id}?saved={'changed' if changed else 'unchanged'}", status_code=303)


@router.post("/users/{user_id}/reset", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def reset_link(request: Request, user: Admin, db: DbDep, settings: SettingsDep, user_id: UserId):
    """A new single-use link with which the user sets a new password, shown to the admin once."""
    try:
        with db.write() as db_session:
            person = service.user_by_id(db_session=db_session, user_id=user_id)
            token = resets.create_reset(db_session=db_session, user=person, created_by=user)
            service.audit(db_session=db_session, actor=user, action="user.reset_link", target=person.email,
                          client=client_address(request, settings))
    except service.AccountError as exc:
        return _user_page(request, db, settings, user_id, error=exc, status=400)
    return _reset_link_page(request, token=token, person=person, created=False)


def _reset_page(request: Request, token: str, *, error: service.AccountError | None = None, done: bool = False,
                status: int = 200):
    unusable = isinstance(error, resets.ResetUnusable)
    return render(request, "accounts/reset.html", {
        "token": token, "csrf_token": csrf_token(request), "min_password": service.MIN_PASSWORD_LENGTH,
        "unusable": error.sentence if unusable else None, "done": done,
    } | _error_context(None if unusable else error), status_code=status, headers=NO_STORE)


@router.get("/reset/{token}", include_in_schema=False)
def reset_page(request: Request, db: DbDep, token: Annotated[str, Path(max_length=200)]):
    try:
        with db.read() as db_session:
            resets.open_reset(db_session=db_session, token=token)
    except resets.ResetUnusable as exc:
        return _reset_page(request, token, error=exc, status=410)
    return _reset_page(request, token)


@router.post("/reset/{token}", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def reset_password(
    request: Request, db: DbDep, settings: SettingsDep, token: Annotated[str, Path(max_length=200)],
    password: Annotated[str, Form(max_length=1024)] = "",
    again: Annotated[str, Form(max_length=1024)] = "",
):
    """Set a new password with a reset link; the link is used up, and the user's other sessions end."""
    try:
        with db.read() as db_session:
            resets.open_reset(db_session=db_session, token=token)
        service.check_password(password)
        if again != password:
            raise service.AccountError("the two passwords differ; type the same password twice", field="again")
    except resets.ResetUnusable as exc:
        return _reset_page(request, token, error=exc, status=410)
    except service.AccountError as exc:
        return _reset_page(request, token, error=exc, status=400)
    # argon2 takes ~0.1 s: hashed before the write, so the store's single writer is not held meanwhile.
    password_hash = service.hash_password(password)
    try:
        with db.write() as db_session:
            person = resets.use_reset(db_session=db_session, token=token, password_hash=password_hash)
            service.audit(db_session=db_session, actor=person, action="user.password_reset", target=person.email,
                          client=client_address(request, settings))
    except resets.ResetUnusable as exc:
        return _reset_page(request, token, error=exc, status=410)
    request.session.clear()  # whoever was logged in in this browser before is not who set this password
    return _reset_page(request, token, done=True)


def _departments_page(request: Request, db, *, saved: str = "", error: service.AccountError | None = None,
                      failed: int | None = None, name: str = "", status: int = 200):
    return render(request, "accounts/departments.html", {
        "listed": departments_list(db), "saved": saved, "error": error.sentence if error else None,
        "failed": failed, "name": name}, status_code=status)


@router.get("/departments", include_in_schema=False)
def departments_page(request: Request, user: Admin, db: DbDep,
                     saved: Annotated[str, Query(max_length=20)] = "", format: CsvFormat = "html"):
    if format == "csv":
        return csv_response("departments", ["id", "name", "users"],
                            [[department.id, department.name, department.users]
                             for department in departments_list(db).departments])
    return _departments_page(request, db, saved=saved)


@api.get("/departments", response_model=DepartmentsPublic)
def departments_json(user: Admin, db: DbDep):
    """Every department by name, with how many users belong to it (admins only)."""
    return departments_list(db)


def _department_change(request: Request, db, settings, user: User, change, action: str, *, failed: int | None = None,
                       name: str = ""):
    """Carry out one change of the department list, audited, and show the list again."""
    try:
        with db.write() as db_session:
            details = change(db_session)
            service.audit(db_session=db_session, actor=user, action=action, target=details.pop("target"),
                          client=client_address(request, settings), **details)
    except service.AccountError as exc:
        return _departments_page(request, db, error=exc, failed=failed, name=name, status=400)
    except IntegrityError:  # the same name was saved by another admin a moment before
        error = service.AccountError(f"there already is a department called {name.strip()}; choose another name")
        return _departments_page(request, db, error=error, failed=failed, name=name, status=400)
    return RedirectResponse(f"/departments?saved={action.removeprefix('department.')}", status_code=303)


@router.post("/departments", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def create_department(request: Request, user: Admin, db: DbDep, settings: SettingsDep,
                      name: Annotated[str, Form(max_length=200)] = ""):
    def change(db_session):
        return {"target": service.create_department(db_session=db_session, name=name).name}

    return _department_change(request, db, settings, user, change, "department.create", failed=0, name=name)


@router.post("/departments/{department_id}", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def rename_department(request: Request, user: Admin, db: DbDep, settings: SettingsDep, department_id: DepartmentId,
                      name: Annotated[str, Form(max_length=200)] = ""):
    def change(db_session):
        before, after = service.rename_department(db_session=db_session, department_id=department_id, name=name)
        return {"target": after, "before": {"name": before}, "after": {"name": after}}

    return _department_change(request, db, settings, user, change, "department.rename", failed=department_id,
                              name=name)


@router.post("/departments/{department_id}/delete", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def delete_department(request: Request, user: Admin, db: DbDep, settings: SettingsDep, department_id: DepartmentId):
    def change(db_session):
        return {"target": service.delete_department(db_session=db_session, department_id=department_id)}

    return _department_change(request, db, settings, user, change, "department.delete")
