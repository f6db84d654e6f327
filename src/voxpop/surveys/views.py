"""Staff actions on surveys: status and owner. The survey files themselves are applied with `voxpop survey apply`
or saved by the builder; the survey list is results.list_views."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from voxpop.accounts import service as accounts
from voxpop.accounts.models import User
from voxpop.surveys import service
from voxpop.web.auth import (
    DbDep,
    SettingsDep,
    client_address,
    require_role,
    same_site_path,
    verify_csrf,
)

router = APIRouter()
api = APIRouter(tags=["staff"])
SURVEY_EDITORS = ("admin", "manager")
Editor = Annotated[User, Depends(require_role(*SURVEY_EDITORS))]


@router.post("/surveys/{key}/status", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def change_status(
    request: Request,
    key: str,
    user: Editor,
    db: DbDep,
    settings: SettingsDep,
    status: Annotated[str, Form(pattern="^(draft|live|closed)$")],
    back: Annotated[str | None, Form(max_length=2000)] = None,
):
    """Open, close or return a survey to draft, record who did it, and go back to the page the form was on."""
    with db.write() as db_session:
        survey = service.get_by_key(db_session=db_session, key=key)
        if survey is None:
            raise HTTPException(404)
        before = survey.status
        service.set_status(db_session=db_session, survey=survey, status=status)
        accounts.audit(db_session=db_session, actor=user, action="survey.status", target=key,
                       client=client_address(request, settings), before=before, after=status)
    return RedirectResponse(same_site_path(back, "/surveys"), status_code=303)


@router.post("/surveys/{key}/owner", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def change_owner(
    request: Request,
    key: str,
    user: Editor,
    db: DbDep,
    settings: SettingsDep,
    owner: Annotated[str, Form(max_length=254)] = "",
    back: Annotated[str | None, Form(max_length=2000)] = None,
):
    """Give a survey an owner (an active staff member's e-mail), or none; the change is audited."""
    with db.write() as db_session:
        survey = service.get_by_key(db_session=db_session, key=key)
        if survey is None:
            raise HTTPException(404)
        person = None
        if owner.strip():
            person = db_session.scalar(select(User).where(User.email == owner.strip().lower(), User.is_active))
            if person is None:
                raise HTTPException(400, f"There is no active staff member {owner.strip()!r} to own the survey; "
                                         "choose one from the list.")
        before = db_session.get(User, survey.owner_id).email if survey.owner_id else None
        service.set_owner(db_session=db_session, survey=survey, owner=person)
        accounts.audit(db_session=db_session, actor=user, action="survey.owner", target=key,
                       client=client_address(request, settings), before=before,
                       after=person.email if person else None)
    return RedirectResponse(same_site_path(back, "/surveys"), status_code=303)
