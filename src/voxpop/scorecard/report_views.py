"""The scorecard as a PDF and a CSV, and its scheduled delivery by e-mail (send log, run now, pause).

Every staff role downloads the PDF and the CSV. Admins and managers see and change the schedules (HTML forms with
the session's CSRF token, each audited); the JSON twin reads them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.accounts.models import User
from voxpop.accounts.service import list_users
from voxpop.scorecard import delivery, report
from voxpop.scorecard.models import ReportSchedule, Scorecard
from voxpop.scorecard.service import get_scorecard
from voxpop.scorecard.views import Key, PeriodError, PeriodParam, choose_period, scorecard_kind
from voxpop.settings import Settings
from voxpop.web.auth import DbDep, SettingsDep, client_address, require_role, verify_csrf
from voxpop.web.navigation import ALL_STAFF
from voxpop.web.problems import problem, problem_responses
from voxpop.web.tables import csv_response
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])  # mounted under /api/v1 by the app
EDITORS = ("admin", "manager")
Reader = Annotated[User, Depends(require_role(*ALL_STAFF))]
Editor = Annotated[User, Depends(require_role(*EDITORS))]
ScheduleId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SAVED = {"created": "Schedule added: the first report goes out at its next run.",
         "paused": "Schedule paused: nothing is sent until it is resumed.",
         "resumed": "Schedule resumed: the next report goes out at its next run.",
         "deleted": "Schedule deleted; what it sent stays in the send log.",
         "sent": "Report queued to every recipient: it goes out within seconds (see the send log)."}
FREQUENCY_WORDS = {"weekly": "Every Monday, 07:00", "monthly": "The 1st of every month, 07:00"}


class ScheduleRecipientPublic(BaseModel):
    id: int
    name: str
    email: str
    active: bool = Field(description="False for someone deactivated since: they are no longer sent the report.")


class SchedulePublic(BaseModel):
    """A delivery of the scorecard PDF."""

    id: int
    frequency: str = Field(description="weekly (Mondays) or monthly (the 1st), at 07:00 in the workspace's zone.")
    recipients: list[ScheduleRecipientPublic]
    paused: bool
    next_run_at: datetime = Field(description="When it sends next (while paused, when it would have).")
    last_run_at: datetime | None
    created_at: datetime


class SentReportPublic(BaseModel):
    """One e-mail of a report as the outbox keeps it (never the PDF's bytes)."""

    id: int
    recipient: str
    subject: str
    attachment_name: str | None
    status: str = Field(description="queued, sending, sent or failed.")
    attempts: int
    smtp_reply: str | None = Field(description="The server's last answer: its queue id, or why it refused.")
    created_at: datetime
    sent_at: datetime | None


class SchedulesPublic(BaseModel):
    """The scorecard's report deliveries and its send log, newest first."""

    key: str
    name: str
    schedules: list[SchedulePublic]
    send_log: list[SentReportPublic]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _not_found(request: Request, key: str):
    return render(request, "error.html", {"status": 404, "title": "No such scorecard", "detail":
                  f"There is no scorecard with the key '{key}'. The list of scorecards is at /scorecards."},
                  status_code=404)


# --- the PDF and the CSV ------------------------------------------------------------------------------------------

def _export(request: Request, db, settings: Settings, key: str, asked: str, kind: Literal["pdf", "csv"]):
    now = _now()
    with db.read() as db_session:
        scorecard = get_scorecard(db_session=db_session, key=key)
        if scorecard is None:
            return _not_found(request, key)
        try:
            period = choose_period(asked, kind=scorecard_kind(db_session, scorecard), now=now,
                                   zone=settings.timezone).label
        except PeriodError as error:
            return render(request, "error.html", {"status": 400, "title": "No such period", "detail": str(error)},
                          status_code=400)
        options = {"scorecard": scorecard, "period": period, "zone": settings.timezone,
                   "min_base": settings.min_base, "now": now}
        if kind == "csv":
            return csv_response(*report.scorecard_csv(db_session, **options))
        pdf = report.scorecard_pdf(db_session, **options)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{report.report_name(key, period)}.pdf"'})


@router.get("/scorecards/{key}/export.pdf", include_in_schema=False)
def export_pdf(request: Request, user: Reader, db: DbDep, settings: SettingsDep, key: Key, period: PeriodParam = ""):
    return _export(request, db, settings, key, period, "pdf")


@router.get("/scorecards/{key}/export.csv", include_in_schema=False)
def export_csv(request: Request, user: Reader, db: DbDep, settings: SettingsDep, key: Key, period: PeriodParam = ""):
    return _export(request, db, settings, key, period, "csv")


# --- schedules ----------------------------------------------------------------------------------------------------

def schedules_public(db_session: Session, scorecard: Scorecard) -> SchedulesPublic:
    """The scorecard's schedules, oldest first, and its send log."""
    schedules = list(db_session.scalars(select(ReportSchedule).where(ReportSchedule.scorecard_id == scorecard.id)
                                        .order_by(ReportSchedule.id)))
    ids = {user_id for schedule in schedules for user_id in schedule.recipients}
    users = {user.id: user for user in db_session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    return SchedulesPublic(key=scorecard.key, name=scorecard.name, schedules=[SchedulePublic(
        id=schedule.id, frequency=schedule.frequency, paused=schedule.paused, next_run_at=schedule.next_run_at,
        last_run_at=schedule.last_run_at, created_at=schedule.created_at,
        recipients=[ScheduleRecipientPublic(id=user.id, name=user.name, email=user.email, active=user.is_active)
                    for user in (users.get(user_id) for user_id in schedule.recipients) if user is not None],
    ) for schedule in schedules], send_log=[SentReportPublic(
        id=mail.id, recipient=mail.recipient, subject=mail.subject, attachment_name=mail.attachment_name,
        status=mail.status, attempts=mail.attempts, smtp_reply=mail.smtp_reply, created_at=mail.created_at,
        sent_at=mail.sent_at) for mail in delivery.send_log(db_session=db_session, scorecard=scorecard)])


def _schedules_page(request: Request, db, settings: Settings, key: str, *, saved: str = "",
                    error: delivery.DeliveryError | None = None, form: dict | None = None, status: int = 200):
    with db.read() as db_session:
        scorecard = get_scorecard(db_session=db_session, key=key)
        if scorecard is None:
            return _not_found(request, key)
        listed = schedules_public(db_session, scorecard)
        staff = [(str(user.id), f"{user.name} ({user.email}, {user.role})" if user.name else
                  f"{user.email} ({user.role})") for user in list_users(db_session=db_session, active=True)]
    field = error.field if error else None
    return render(request, "scorecard/schedules.html", {
        "listed": listed, "staff": staff, "frequencies": FREQUENCY_WORDS, "timezone": settings.timezone,
        "saved": SAVED.get(saved, ""), "smtp_configured": bool(settings.smtp_host),
        "errors": [(field, str(error))] if field else ([str(error)] if error else []),
        "field_errors": {field: str(error)} if field else {},
        "form": form or {"frequency": "monthly", "recipients": []},
        "json_href": f"/api/v1/scorecards/{key}/schedules", "scorecard_href": f"/scorecards/{key}",
    }, status_code=status)


@router.get("/scorecards/{key}/schedules", include_in_schema=False)
def schedules_page(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: Key,
                   saved: Annotated[str, Query(max_length=20)] = ""):
    return _schedules_page(request, db, settings, key, saved=saved)


@api.get("/scorecards/{key}/schedules", response_model=SchedulesPublic, responses=problem_responses(401, 403, 404))
def schedules_json(request: Request, user: Editor, db: DbDep, key: Key):
    """The scorecard's PDF deliveries and the e-mails they sent (admins and managers)."""
    with db.read() as db_session:
        scorecard = get_scorecard(db_session=db_session, key=key)
        if scorecard is None:
            return problem(404, f"There is no scorecard with the key '{key}'; GET /api/v1/scorecards lists them.",
                           code="not-found", instance=request.url.path)
        return schedules_public(db_session, scorecard)


def _recipient_ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        if not value.isdigit() or not 1 <= int(value) < 2**31:
            raise delivery.DeliveryError(f"'{value}' is not a staff user's id; choose recipients from the list.",
                                         field="recipients")
        ids.append(int(value))
    return ids


@router.post("/scorecards/{key}/schedules", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def create_schedule(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: Key,
                    frequency: Annotated[str, Form(max_length=20)] = "",
                    recipients: Annotated[list[str] | None, Form(max_length=delivery.MAX_RECIPIENTS + 1)] = None):
    form = {"frequency": frequency, "recipients": recipients or []}
    try:
        with db.write() as db_session:
            scorecard = get_scorecard(db_session=db_session, key=key)
            if scorecard is None:
                return _not_found(request, key)
            delivery.create_schedule(db_session=db_session, scorecard=scorecard, frequency=frequency,
                                     recipients=_recipient_ids(form["recipients"]), actor=user, now=_now(),
                                     zone=settings.timezone, client=client_address(request, settings))
    except delivery.DeliveryError as error:
        return _schedules_page(request, db, settings, key, error=error, form=form, status=400)
    return RedirectResponse(f"/scorecards/{key}/schedules?saved=created", status_code=303)


def _change(request: Request, db, settings: Settings, user: User, key: str, schedule_id: int, saved: str, change):
    with db.write() as db_session:
        scorecard = get_scorecard(db_session=db_session, key=key)
        if scorecard is None:
            return _not_found(request, key)
        schedule = delivery.get_schedule(db_session=db_session, scorecard=scorecard, schedule_id=schedule_id)
        if schedule is None:
            return render(request, "error.html", {"status": 404, "title": "No such schedule", "detail":
                          f"The scorecard '{key}' has no schedule {schedule_id}; it may have been deleted. "
                          f"Its schedules are at /scorecards/{key}/schedules."}, status_code=404)
        change(db_session, scorecard, schedule, {"actor": user, "client": client_address(request, settings)})
    return RedirectResponse(f"/scorecards/{key}/schedules?saved={saved}", status_code=303)


@router.post("/scorecards/{key}/schedules/{schedule_id}/pause", include_in_schema=False,
             dependencies=[Depends(verify_csrf)])
def pause_schedule(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: Key, schedule_id: ScheduleId):
    return _change(request, db, settings, user, key, schedule_id, "paused", lambda s, card, schedule, who:
                   delivery.set_paused(db_session=s, scorecard=card, schedule=schedule, paused=True, now=_now(),
                                       zone=settings.timezone, **who))


@router.post("/scorecards/{key}/schedules/{schedule_id}/resume", include_in_schema=False,
             dependencies=[Depends(verify_csrf)])
def resume_schedule(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: Key,
                    schedule_id: ScheduleId):
    return _change(request, db, settings, user, key, schedule_id, "resumed", lambda s, card, schedule, who:
                   delivery.set_paused(db_session=s, scorecard=card, schedule=schedule, paused=False, now=_now(),
                                       zone=settings.timezone, **who))


@router.post("/scorecards/{key}/schedules/{schedule_id}/delete", include_in_schema=False,
             dependencies=[Depends(verify_csrf)])
def delete_schedule(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: Key,
                    schedule_id: ScheduleId):
    return _change(request, db, settings, user, key, schedule_id, "deleted", lambda s, card, schedule, who:
                   delivery.delete_schedule(db_session=s, scorecard=card, schedule=schedule, **who))


@router.post("/scorecards/{key}/schedules/{schedule_id}/run", include_in_schema=False,
             dependencies=[Depends(verify_csrf)])
def run_schedule_now(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: Key,
                     schedule_id: ScheduleId):
    options = {"now": _now(), "zone": settings.timezone, "min_base": settings.min_base}
    render = delivery.render_ahead(db, schedule_id=schedule_id, render=report.scorecard_pdf, **options)
    return _change(request, db, settings, user, key, schedule_id, "sent", lambda s, card, schedule, who:
                   delivery.run_now(db_session=s, scorecard=card, schedule=schedule, render=render,
                                    public_url=settings.public_url, **options, **who))
