"""Two-factor sign-in in the browser: the code step after the password, setting up an authenticator app (from the
account page, or right after the password when the role requires it), turning it off, and the admin's page of
the roles that must use it. Writes are HTML forms; the JSON twin reads."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse

from voxpop.accounts import service, throttle, two_factor
from voxpop.accounts.account_views import render_account
from voxpop.accounts.models import ROLES, User
from voxpop.accounts.schemas import SecurityPublic
from voxpop.accounts.views import Now, finish_login, logged_in
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep, client_address, csrf_token, require_role, verify_csrf
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])
Admin = Annotated[User, Depends(require_role("admin"))]
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Code = Annotated[str, Form(max_length=64)]
# The step after the password must be finished soon: a half-done log-in is no session to leave lying around.
PENDING_FOR = timedelta(minutes=5)
NO_STORE = {"Cache-Control": "no-store"}  # a secret or recovery codes must not stay in a cache


def _pending(request: Request, db, now: datetime, step: str) -> tuple[User, str] | None:
    """The user half-way through logging in (the password was right) and where they go next; None when there is
    no such log-in, it was for another step, or it took longer than PENDING_FOR."""
    pending = request.session.get("pending")
    if not isinstance(pending, dict) or pending.get("step") != step or not isinstance(pending.get("uid"), int):
        return None
    try:
        started = datetime.fromisoformat(pending["at"])
    except (KeyError, TypeError, ValueError):
        return None
    if not timedelta(0) <= now - started <= PENDING_FOR:
        return None
    with db.read() as db_session:
        user = service.get(db_session=db_session, user_id=pending["uid"])
        if user is None or user.session_version != pending.get("sv"):
            return None
        db_session.expunge(user)
    return user, str(pending.get("next") or "/dashboard")


def _again() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def _refused_code(request: Request, db, settings, user: User, locked: list, action: str = "login.code_failed"):
    """Audit a wrong code as `action`, and the locks its reserved count set (the count itself is already made)."""
    with db.write() as db_session:
        for row in locked:
            service.audit(db_session=db_session, actor=None, action="login.locked", target=user.email,
                          client=client_address(request, settings), kind=row.kind, failures=row.failures,
                          until=row.locked_until.isoformat())
        service.audit(db_session=db_session, actor=user, action=action, target=user.email,
                      client=client_address(request, settings))


def _reserve_code(db, user: User, now: datetime) -> tuple[throttle.Refusal | None, list]:
    """Count a code attempt as failed before the code is checked (parallel guesses queue on the count), unless the
    user's code key refuses it; a refusal found by the read first writes nothing."""
    keys = [("code", str(user.id))]
    with db.read() as db_session:
        refused = throttle.refusal(db_session=db_session, keys=keys, now=now)
    if refused is not None:
        return refused, []
    with db.write() as db_session:
        return throttle.reserve(db_session=db_session, keys=keys, now=now)


def _code_page(request: Request, *, error: str | None = None, status: int = 200, headers: dict | None = None):
    return render(request, "accounts/login_code.html", {"csrf_token": csrf_token(request), "error": error},
                  status_code=status, headers=headers)


@router.get("/login/code", include_in_schema=False)
def code_page(request: Request, db: DbDep, now: Now):
    if _pending(request, db, now, "code") is None:
        return _again()
    return _code_page(request)


@router.post("/login/code", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def enter_code(request: Request, db: DbDep, settings: SettingsDep, now: Now, code: Code = ""):
    """The second step of a log-in: the app's code, or a recovery code; throttled like passwords."""
    pending = _pending(request, db, now, "code")
    if pending is None:
        return _again()
    user, next_page = pending
    refused, locked = _reserve_code(db, user, now)
    if refused is not None:
        return _code_page(request, error=refused.sentence(now), status=429,
                          headers={"Retry-After": str(refused.retry_after(now))})
    try:
        with db.write() as db_session:
            used = two_factor.check(db_session=db_session, user_id=user.id, code=code, now=now)
            throttle.clear(db_session=db_session, keys=[("code", str(user.id))])
            key = finish_login(request, db_session, settings, user, now, second_factor=used)
    except two_factor.CodeWrong as exc:
        _refused_code(request, db, settings, user, locked)
        return _code_page(request, error=exc.sentence, status=401)
    return logged_in(request, settings, user, key, next_page)


def _setup_page(request: Request, db, user: User, action: str, *, error: str | None = None, status: int = 200,
                headers: dict | None = None):
    with db.read() as db_session:
        pending = two_factor.state(db_session=db_session, user_id=user.id)
        if pending is None or pending.enabled_at is not None:
            return None
        secret, qr = two_factor.enrolment(pending.secret, user.email)
    return render(request, "accounts/two_factor_setup.html", {
        "csrf_token": csrf_token(request), "secret": secret, "qr": qr, "action": action, "error": error,
        "required": action == "/login/enrol"}, status_code=status, headers=NO_STORE | (headers or {}))


def _codes_page(request: Request, codes: list[str], continue_to: str):
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "continue_to": continue_to},
                  headers=NO_STORE)


@router.get("/login/enrol", include_in_schema=False)
def enrol_page(request: Request, db: DbDep, now: Now):
    pending = _pending(request, db, now, "enrol")
    return (pending and _setup_page(request, db, pending[0], "/login/enrol")) or _again()


@router.post("/login/enrol", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def enrol_at_login(request: Request, db: DbDep, settings: SettingsDep, now: Now, code: Code = ""):
    """Set up the app a role requires, right after the password; the log-in completes with it."""
    pending = _pending(request, db, now, "enrol")
    if pending is None:
        return _again()
    user, next_page = pending
    refused, locked = _reserve_code(db, user, now)
    if refused is not None:
        return _setup_page(request, db, user, "/login/enrol", error=refused.sentence(now), status=429,
                           headers={"Retry-After": str(refused.retry_after(now))}) or _again()
    try:
        with db.write() as db_session:
            codes = two_factor.confirm(db_session=db_session, user_id=user.id, code=code, now=now)
            throttle.clear(db_session=db_session, keys=[("code", str(user.id))])
            service.audit(db_session=db_session, actor=user, action="user.2fa_enable", target=user.email,
                          client=client_address(request, settings), at_login=True)
            key = finish_login(request, db_session, settings, user, now, second_factor="enrolled")
    except two_factor.CodeWrong as exc:
        _refused_code(request, db, settings, user, locked)
        return _setup_page(request, db, user, "/login/enrol", error=exc.sentence, status=400) or _again()
    except service.AccountError:
        return _again()
    return logged_in(request, settings, user, key, next_page, response=_codes_page(request, codes, next_page))


@router.post("/account/2fa/start", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def start_setup(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep):
    """A new secret to add to the app, pending until a code confirms it."""
    try:
        with db.write() as db_session:
            two_factor.begin(db_session=db_session, user_id=user.id)
    except service.AccountError as exc:
        return render_account(request, db, settings, user, error=exc, status=400)
    return RedirectResponse("/account/2fa", status_code=303)


@router.get("/account/2fa", include_in_schema=False)
def setup_page(request: Request, user: CurrentUser, db: DbDep):
    return _setup_page(request, db, user, "/account/2fa") or RedirectResponse("/account", status_code=303)


@router.post("/account/2fa", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def confirm_setup(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, now: Now, code: Code = ""):
    """Turn two-factor sign-in on with a code from the app, and show the recovery codes once."""
    refused, locked = _reserve_code(db, user, now)
    if refused is not None:
        return _setup_page(request, db, user, "/account/2fa", error=refused.sentence(now), status=429,
                           headers={"Retry-After": str(refused.retry_after(now))}) or RedirectResponse(
                               "/account", status_code=303)
    try:
        with db.write() as db_session:
            codes = two_factor.confirm(db_session=db_session, user_id=user.id, code=code, now=now)
            throttle.clear(db_session=db_session, keys=[("code", str(user.id))])
            service.audit(db_session=db_session, actor=user, action="user.2fa_enable", target=user.email,
                          client=client_address(request, settings))
    except two_factor.CodeWrong as exc:
        _refused_code(request, db, settings, user, locked, "user.2fa_code_failed")
        return _setup_page(request, db, user, "/account/2fa", error=exc.sentence, status=400)
    except service.AccountError as exc:
        return render_account(request, db, settings, user, error=exc, status=400)
    return _codes_page(request, codes, "/account")


@router.post("/account/2fa/off", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def turn_off(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, now: Now,
             password: Annotated[str, Form(max_length=1024)] = "", code: Code = ""):
    """Turn two-factor sign-in off with the password and a code; a role that requires it cannot."""
    refused, locked = None, []
    try:
        with db.read() as db_session:
            if two_factor.status(db_session=db_session, user=user).required:
                raise service.AccountError(f"two-factor sign-in is required for the {user.role} role; an admin can "
                                           "reset it if you lost your phone")
        refused, locked = _reserve_code(db, user, now)  # before argon2: a wrong password counts too
        if refused is not None:
            raise service.AccountError(refused.sentence(now))
        with db.read() as db_session:
            if service.verify_credentials(db_session=db_session, email=user.email, password=password) is None:
                raise service.AccountError("the password is not right; type the password you log in with",
                                           field="off-password")
        with db.write() as db_session:
            two_factor.check(db_session=db_session, user_id=user.id, code=code, now=now)
            two_factor.turn_off(db_session=db_session, user_id=user.id)
            throttle.clear(db_session=db_session, keys=[("code", str(user.id))])
            service.audit(db_session=db_session, actor=user, action="user.2fa_disable", target=user.email,
                          client=client_address(request, settings))
    except two_factor.CodeWrong as exc:
        _refused_code(request, db, settings, user, locked, "user.2fa_code_failed")
        return render_account(request, db, settings, user, status=400,
                             error=service.AccountError(str(exc), field="off-code"))
    except service.AccountError as exc:
        return render_account(request, db, settings, user, error=exc, status=429 if refused else 400)
    return RedirectResponse("/account?saved=2fa-off", status_code=303)


def _security_page(request: Request, db, *, saved: bool = False, error: service.AccountError | None = None,
                   status: int = 200):
    with db.read() as db_session:
        security = two_factor.by_role(db_session=db_session)
    return render(request, "accounts/security.html", {"security": security, "saved": saved,
                                                      "error": error.sentence if error else None},
                  status_code=status)


@router.get("/admin/security", include_in_schema=False)
def security_page(request: Request, user: Admin, db: DbDep, saved: str = ""):
    return _security_page(request, db, saved=bool(saved))


@api.get("/admin/security", response_model=SecurityPublic)
def security_json(user: Admin, db: DbDep):
    """The roles that must sign in with a code from an authenticator app (admins only), and how many of each
    role's active users have set one up."""
    with db.read() as db_session:
        return two_factor.by_role(db_session=db_session)


@router.post("/admin/security", include_in_schema=False, dependencies=[Depends(verify_csrf)])
async def save_security(request: Request, user: Admin, db: DbDep, settings: SettingsDep):
    """Require two-factor sign-in for the roles ticked (a user of such a role sets it up at their next log-in)."""
    roles = [value for value in (await request.form()).getlist("roles") if isinstance(value, str)][:len(ROLES) + 1]
    try:
        with db.write() as db_session:
            before, after = two_factor.set_required_roles(db_session=db_session, roles=roles)
            if before != after:
                service.audit(db_session=db_session, actor=user, action="security.2fa_roles",
                              client=client_address(request, settings), before=before, after=after)
    except service.AccountError as exc:
        return _security_page(request, db, error=exc, status=400)
    return RedirectResponse("/admin/security?saved=1", status_code=303)


@router.post("/users/{user_id}/2fa/reset", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def reset_two_factor(request: Request, user: Admin, db: DbDep, settings: SettingsDep, user_id: UserId):
    """Remove a user's authenticator secret and recovery codes (a lost phone); their sessions end."""
    with db.write() as db_session:
        try:
            person = service.user_by_id(db_session=db_session, user_id=user_id)
        except service.AccountError:
            return RedirectResponse("/users", status_code=303)
        was_on = two_factor.turn_off(db_session=db_session, user_id=person.id)
        service.end_sessions(db_session=db_session, user_id=person.id)
        service.audit(db_session=db_session, actor=user, action="user.2fa_reset", target=person.email,
                      client=client_address(request, settings), was_on=was_on)
    return RedirectResponse(f"/users/{user_id}?saved=2fa-reset", status_code=303)
