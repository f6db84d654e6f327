"""Every staff member's own account: change their password (the current one asked), see where they are logged in,
and end a session or all the others. Writes are HTML forms (with the session's CSRF token); the JSON twin reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse

from voxpop.accounts import service, sessions, throttle, two_factor
from voxpop.accounts.models import StaffSession
from voxpop.accounts.schemas import AccountPublic, SessionPublic
from voxpop.store.base import utcnow
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep, client_address, session_key, verify_csrf
from voxpop.web.problems import problem_responses
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])
SessionId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SAVED = {"password": "Your password is changed. Your other sessions have ended; this one goes on.",
         "ended": "That session has ended.", "others": "Your other sessions have ended.",
         "2fa-off": "Two-factor sign-in is off. Your recovery codes no longer work."}


def session_public(row: StaffSession, current: str | None) -> SessionPublic:
    return SessionPublic(id=row.id, client=row.client, user_agent=row.user_agent, created_at=row.created_at,
                         last_seen_at=row.last_seen_at, current=row.key == current)


def account(db, settings, user, current: str | None) -> AccountPublic:
    """The user's own account and open sessions, this one marked."""
    with db.read() as db_session:
        person = service.user_by_id(db_session=db_session, user_id=user.id)
        rows = sessions.active(db_session=db_session, user_id=user.id, max_age=settings.session_max_age)
        return AccountPublic(id=person.id, email=person.email, name=person.name, role=person.role,
                             last_login_at=person.last_login_at,
                             two_factor=two_factor.status(db_session=db_session, user=person),
                             sessions=[session_public(row, current) for row in rows])


def render_account(request: Request, db, settings, user, *, saved: str = "", error: service.AccountError | None = None,
                  status: int = 200, headers: dict[str, str] | None = None):
    errors = ([(error.field, error.sentence)] if error.field else [error.sentence]) if error else []
    return render(request, "accounts/account.html", {
        "account": account(db, settings, user, session_key(request)), "saved": SAVED.get(saved, ""),
        "timezone": settings.timezone, "lasts": f"{settings.session_max_age / 3600:g} hours",
        "min_password": service.MIN_PASSWORD_LENGTH, "errors": errors,
        "field_errors": {error.field: error.sentence} if error and error.field else {},
    }, status_code=status, headers=headers)


@router.get("/account", include_in_schema=False)
def account_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep,
                 saved: Annotated[str, Query(max_length=20)] = ""):
    return render_account(request, db, settings, user, saved=saved)


@api.get("/account", response_model=AccountPublic, responses=problem_responses(401))
def account_json(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep):
    """Your own account and your open sessions (`current` marks the one this request was made in)."""
    return account(db, settings, user, session_key(request))


@router.post("/account/password", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def change_password(
    request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep,
    current: Annotated[str, Form(max_length=1024)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    again: Annotated[str, Form(max_length=1024)] = "",
):
    """Set a new password once the current one is right; the user's other sessions end, this one goes on."""
    now, address = utcnow(), client_address(request, settings)
    # Wrong current passwords count on the account like failed log-ins: a session left open is no way to guess it.
    keys = [("account", user.email)]
    try:
        service.check_password(password)
        if again != password:
            raise service.AccountError("the two new passwords differ; type the same password twice", field="again")
        with db.read() as db_session:
            refused = throttle.refusal(db_session=db_session, keys=keys, now=now)  # a refusal writes nothing
        if refused is None:
            # Counted as a failure before argon2 runs, as log-ins are: parallel guesses queue on the count.
            with db.write() as db_session:
                refused, locked = throttle.reserve(db_session=db_session, keys=keys, now=now)
        if refused is not None:
            return render_account(request, db, settings, user, status=429,
                                 error=service.AccountError(refused.sentence(now)),
                                 headers={"Retry-After": str(refused.retry_after(now))})
        with db.read() as db_session:
            right = service.verify_credentials(db_session=db_session, email=user.email, password=current) is not None
        if not right:
            with db.write() as db_session:
                service.audit(db_session=db_session, actor=user, action="user.password_change_failed",
                              target=user.email, client=address)
            raise service.AccountError("the current password is not right; type the password you logged in with",
                                       field="current")
    except service.AccountError as exc:
        return render_account(request, db, settings, user, error=exc, status=400)
    password_hash = service.hash_password(password)  # ~0.1 s, before the write: the single writer is not held
    with db.write() as db_session:
        # The right password takes back only its own count: the owner must not lift a stranger's lock on the account.
        throttle.take_back(db_session=db_session, keys=keys, locked=locked)
        changed = service.change_password(db_session=db_session, user_id=user.id, password_hash=password_hash,
                                          keep=session_key(request))
        service.audit(db_session=db_session, actor=user, action="user.password_change", target=user.email,
                      client=address)
        request.session["sv"] = changed.session_version  # this session goes on; every other one has ended
    return RedirectResponse("/account?saved=password", status_code=303)


@router.post("/account/sessions/{session_id}/end", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def end_session(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, session_id: SessionId):
    """End one of the user's other sessions (this one ends with Log out)."""
    try:
        with db.write() as db_session:
            ended = sessions.end_one(db_session=db_session, user_id=user.id, session_id=session_id)
            if ended.key == session_key(request):
                raise service.AccountError("this is the session you are using; log out to end it")
            service.audit(db_session=db_session, actor=user, action="session.end", target=user.email,
                          client=client_address(request, settings), session=ended.id, started_from=ended.client)
    except sessions.SessionUnknown as exc:
        return render_account(request, db, settings, user, error=service.AccountError(str(exc)), status=404)
    except service.AccountError as exc:
        return render_account(request, db, settings, user, error=exc, status=400)
    return RedirectResponse("/account?saved=ended", status_code=303)


@router.post("/account/sessions/end-others", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def end_other_sessions(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep):
    """End every session of the user but this one."""
    with db.write() as db_session:
        ended = service.end_sessions(db_session=db_session, user_id=user.id, keep=session_key(request))
        service.audit(db_session=db_session, actor=user, action="session.end_others", target=user.email,
                      client=client_address(request, settings), sessions=ended)
        request.session["sv"] = service.user_by_id(db_session=db_session, user_id=user.id).session_version
    return RedirectResponse("/account?saved=others", status_code=303)
