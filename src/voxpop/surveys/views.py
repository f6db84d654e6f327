"""Staff actions on surveys (the survey files themselves are applied with `voxpop survey apply`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from voxpop.accounts import service as accounts
from voxpop.accounts.models import User
from voxpop.surveys import service
from voxpop.web.auth import (
    DbDep,
    SettingsDep,
    client_address,
    require_role,
    verify_csrf,
)

router = APIRouter()
api = APIRouter(tags=["staff"])
SURVEY_EDITORS = ("admin", "manager")


@router.post("/surveys/{key}/status", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def change_status(
    request: Request,
    key: str,
    user: Annotated[User, Depends(require_role(*SURVEY_EDITORS))],
    db: DbDep,
    settings: SettingsDep,
    status: Annotated[str, Form(pattern="^(draft|live|closed)$")],
):
    """Open, close or return a survey to draft, and record who did it."""
    with db.write() as db_session:
        survey = service.get_by_key(db_session=db_session, key=key)
        if survey is None:
            raise HTTPException(404)
        before = survey.status
        service.set_status(db_session=db_session, survey=survey, status=status)
        accounts.audit(db_session=db_session, actor=user, action="survey.status", target=key,
                       client=client_address(request, settings), before=before, after=status)
    return RedirectResponse("/dashboard", status_code=303)
