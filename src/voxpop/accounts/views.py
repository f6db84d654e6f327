"""Login and logout pages, and who-am-I for scripts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from voxpop.accounts import devices, service, sessions, throttle, two_factor
from voxpop.accounts.schemas import MePublic
from voxpop.store.base import utcnow
from voxpop.web.auth import (
    CurrentUser,
    DbDep,
    SettingsDep,
    client_address,
    csrf_token,
    same_site_path,
    session_key,
    start_session,
    verify_csrf,
)
from voxpop.web.problems import problem_responses
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter()  # mounted under /api/v1 by the app


def current_time() -> datetime:
    """Now, as a dependency: tests move the clock of the login throttle without sleeping."""
    return utcnow()


Now = Annotated[datetime, Depends(current_time)]


def _login_page(request: Request, *, next: str | None, email: str = "", error: str | None = None, status: int = 200,
                headers: dict[str, str] | None = None):
    return render(request, "accounts/login.html", {
        "csrf_token": csrf_token(request), "next": same_site_path(next, "/dashboard"), "email": email, "error": error,
    }, status_code=status, headers=headers)


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str | None = None):
    return _login_page(request, next=next)


@router.post("/login", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def login(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    now: Now,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/dashboard",
):
    """Check the password, unless the throttle refuses the attempt first (then argon2 is not run at all)."""
    address = client_address(request, settings)
    target = email.strip().lower()[:200] if service.storable_email(email.strip()) else "(unprintable e-mail)"
    with db.read() as db_session:
        user_id = service.user_id_for(db_session=db_session, email=email)
        device = devices.known_device(request.cookies.get(devices.COOKIE), settings.signing_key, user_id)
        keys = throttle.login_keys(email=target, address=address, device=device)
        refused = throttle.refusal(db_session=db_session, keys=keys, now=now)  # a refusal writes nothing
    if refused is None:
        # The attempt counts as a failure before argon2 runs: parallel guesses queue on the count, not after it.
        with db.write() as db_session:
            refused, locked = throttle.reserve(db_session=db_session, keys=keys, now=now)
    if refused is not None:
        return _login_page(request, next=next, email=email, error=refused.sentence(now), status=429,
                           headers={"Retry-After": str(refused.retry_after(now))})
    with db.read() as db_session:
        checked = service.verify_credentials(db_session=db_session, email=email, password=password)
        verified = checked.id if checked is not None else None
    with db.write() as db_session:
        user = second = None
        if verified is not None:
            user = service.rehash_password(db_session=db_session, user_id=verified, password=password)
            # A success forgets the account's (or the known device's) count, not the address's: one's own log-in
            # must not wipe an address's guesses at other accounts. One from a known device leaves the account's
            # count alone: a stranger's lock on it must not end whenever its owner logs in.
            throttle.succeeded(db_session=db_session, keys=keys, locked=locked)
            if two_factor.enabled(db_session=db_session, user_id=user.id):
                second = "code"
            elif two_factor.must_enrol(db_session=db_session, user=user):
                second = "enrol"
                two_factor.begin(db_session=db_session, user_id=user.id)
            else:
                key = finish_login(request, db_session, settings, user, now)
        else:
            for row in locked:
                service.audit(db_session=db_session, actor=None, action="login.locked", target=row.subject[:200],
                              client=address, kind=row.kind, failures=row.failures,
                              until=row.locked_until.isoformat())
            service.audit(db_session=db_session, actor=None, action="login.failed", target=target, client=address)
    if user is None:
        return _login_page(request, next=next, email=email, status=401,
                           error="That e-mail and password do not match an active account. Check both and try again.")
    if second is not None:
        # No session yet: only the second step's page opens until the code is right.
        request.session.clear()
        request.session["pending"] = {"uid": user.id, "sv": user.session_version, "at": now.isoformat(),
                                      "step": second, "next": same_site_path(next, "/dashboard")}
        csrf_token(request)
        return RedirectResponse(f"/login/{second}", status_code=303)
    return logged_in(request, settings, user, key, next)


def finish_login(request: Request, db_session, settings, user, now: datetime, **details) -> str:
    """Record a completed log-in (both factors, where asked) and its session; returns the session's key."""
    address = client_address(request, settings)
    service.record_login(db_session=db_session, user_id=user.id)
    key = sessions.start(db_session=db_session, user_id=user.id, client=address,
                         user_agent=request.headers.get("user-agent", ""), now=now)
    service.audit(db_session=db_session, actor=user, action="login", target=user.email, client=address, **details)
    return key


def logged_in(request: Request, settings, user, key: str, next: str | None, response=None):
    """Start the cookie session and remember this browser as a known device of the user."""
    start_session(request, user, key)
    response = response or RedirectResponse(same_site_path(next, "/dashboard"), status_code=303)
    response.set_cookie(devices.COOKIE, devices.remember(request.cookies.get(devices.COOKIE), settings.signing_key,
                                                         user.id),
                        max_age=devices.MAX_AGE, httponly=True, samesite="lax", secure=settings.secure_cookies)
    return response


@router.post("/logout", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def logout(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep):
    """End this session (the user's sessions elsewhere go on; /account ends those)."""
    with db.write() as db_session:
        sessions.end_by_key(db_session=db_session, session_key=session_key(request))
        service.audit(db_session=db_session, actor=user, action="logout", client=client_address(request, settings))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@api.get("/me", tags=["staff"], responses=problem_responses(401))
def me(request: Request, user: CurrentUser) -> MePublic:
    """The logged-in staff user, and the session's CSRF token that POSTs to the staff API must send
    (form field csrf_token or header X-CSRF-Token)."""
    return MePublic(id=user.id, email=user.email, name=user.name, role=user.role, csrf_token=csrf_token(request))
