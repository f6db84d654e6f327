"""Login and logout pages, and who-am-I for scripts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from voxpop.accounts import service
from voxpop.accounts.schemas import MePublic
from voxpop.web.auth import (
    CurrentUser,
    DbDep,
    SettingsDep,
    client_address,
    csrf_token,
    same_site_path,
    start_session,
    verify_csrf,
)
from voxpop.web.problems import problem_responses
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter()  # mounted under /api/v1 by the app


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str | None = None):
    return render(request, "accounts/login.html",
                  {"csrf_token": csrf_token(request), "next": same_site_path(next, "/dashboard"), "email": "", "error": None})


@router.post("/login", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def login(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/dashboard",
):
    with db.read() as db_session:
        verified = service.verify_credentials(db_session=db_session, email=email, password=password)
        user_id = verified.id if verified is not None else None
    target = email.strip().lower()[:200] if service.storable_email(email.strip()) else "(unprintable e-mail)"
    with db.write() as db_session:
        user = None
        if user_id is not None:
            user = service.record_login(db_session=db_session, user_id=user_id, password=password)
        service.audit(db_session=db_session, actor=user, action="login" if user else "login.failed",
                      target=target, client=client_address(request, settings))
    if user is None:
        context = {
            "csrf_token": csrf_token(request),
            "next": same_site_path(next, "/dashboard"),
            "email": email,
            "error": "That e-mail and password do not match an active account. Check both and try again.",
        }
        return render(request, "accounts/login.html", context, status_code=401)
    start_session(request, user)
    return RedirectResponse(same_site_path(next, "/dashboard"), status_code=303)


@router.post("/logout", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def logout(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep):
    with db.write() as db_session:
        service.end_sessions(db_session=db_session, user_id=user.id)
        service.audit(db_session=db_session, actor=user, action="logout", client=client_address(request, settings))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@api.get("/me", tags=["staff"], responses=problem_responses(401))
def me(request: Request, user: CurrentUser) -> MePublic:
    """The logged-in staff user, and the session's CSRF token that POSTs to the staff API must send
    (form field csrf_token or header X-CSRF-Token)."""
    return MePublic(id=user.id, email=user.email, name=user.name, role=user.role, csrf_token=csrf_token(request))
