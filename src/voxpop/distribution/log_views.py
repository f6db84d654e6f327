"""The send log and the response funnel of a send (and of a survey's sends), and the bounces API.

Every staff role reads the log and the funnels; only admins report bounces. Each page has a JSON twin under
/api/v1; the log also downloads as CSV.
"""

from __future__ import annotations

from datetime import datetime
from math import ceil
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from voxpop.accounts.models import User
from voxpop.accounts.service import audit
from voxpop.core.estimates import Estimate
from voxpop.customers.models import Customer
from voxpop.distribution import delivery, funnel
from voxpop.distribution.models import EVENT_KINDS, InvitationEvent, Send
from voxpop.distribution.service import find_send
from voxpop.store.base import utcnow
from voxpop.surveys.models import Survey
from voxpop.web import charts
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep, client_address, require_role, verify_csrf
from voxpop.web.problems import problem, problem_responses
from voxpop.web.tables import csv_response
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["sends"])

Admin = Annotated[User, Depends(require_role("admin"))]
PAGE_SIZE = 50
KIND_LABELS = {"queued": "Queued", "skipped": "Skipped", "sent": "Sent", "failed": "Failed", "bounced": "Bounced",
               "reminded": "Reminded", "started": "Started", "completed": "Completed",
               "unsubscribed": "Unsubscribed", "expired": "Expired"}
KindFilter = Annotated[str, Query(max_length=16, description=f"One kind of event: {', '.join(EVENT_KINDS)}; "
                                                             "empty for all.")]
PageNumber = Annotated[int, Query(ge=1, le=100_000, description="The page of the log, oldest first.")]
Format = Annotated[Literal["html", "csv"], Query(description="csv for the whole log (of the chosen kind) as CSV.")]
GroupBy = Annotated[str, Query(max_length=64, description="Split the funnel by 'language' or a customer "
                                                          "attribute (default: segment, when customers have one).")]


# --- schemas ----------------------------------------------------------------------------------------------------

class LogEntryPublic(BaseModel):
    id: int
    at: datetime
    kind: str
    invitation_id: int | None
    customer_id: int | None
    customer: str | None = Field(description="The customer's external id.")
    email: str | None
    detail: str | None = Field(description="The skip reason, the SMTP server's reply, the bounce diagnostic.")
    mail_id: int | None


class SendLogPublic(BaseModel):
    send: str
    name: str
    counts: dict[str, int] = Field(description="Events by kind, over the whole send.")
    kind: str
    total: int
    page: int
    pages: int
    events: list[LogEntryPublic]


class SharePublic(BaseModel):
    value: float | None = Field(description="In %.")
    ci_low: float | None
    ci_high: float | None
    confidence: float | None
    n: int = Field(description="The base: invitations, or those at the stage before.")


class StagePublic(BaseModel):
    name: str
    count: int
    of_invited: SharePublic | None
    of_previous: SharePublic | None


class DurationPublic(BaseModel):
    n: int
    median_hours: float | None
    q1_hours: float | None
    q3_hours: float | None


class FunnelPublic(BaseModel):
    label: str
    stages: list[StagePublic]
    time_to_complete: DurationPublic
    clicked: int = Field(description="Invitations whose customer clicked a score in the e-mail.")
    clicked_not_completed: int = Field(description="Of those, never submitted: the clicked score is kept on the "
                                                   "invitation, not counted in the survey's results.")


class FunnelReportPublic(BaseModel):
    scope: str = Field(description="send or survey")
    key: str
    name: str
    sends: list[str]
    by: str
    group_options: list[str]
    overall: FunnelPublic
    groups: list[FunnelPublic]
    note: str


class BounceReportIn(BaseModel):
    address: str = Field(max_length=320, description="The address that bounced.")
    diagnostic: str = Field("", max_length=2000, description="The provider's diagnostic, e.g. 'smtp; 550 5.1.1 ...'.")


class BouncePublic(BaseModel):
    address: str
    invitations: int = Field(description="Open invitations to the address now marked bounced.")


# --- the log ----------------------------------------------------------------------------------------------------

class LogFilterError(ValueError):
    pass


def _send_or_404(db_session, key: str) -> Send:
    send = find_send(db_session, key=key) if len(key) <= 64 else None
    if send is None:
        raise LookupError(f"there is no send {key!r}")
    return send


def send_log(db, key: str, *, kind: str, page: int, size: int | None = PAGE_SIZE) -> SendLogPublic:
    """A page of the send's log, oldest first (`size` None: all of it); LookupError for an unknown send,
    LogFilterError for an unknown kind."""
    if kind and kind not in EVENT_KINDS:
        raise LogFilterError(f"kind must be one of {', '.join(EVENT_KINDS)}, not {kind!r}; or leave it empty")
    with db.read() as db_session:
        send = _send_or_404(db_session, key)
        counts = dict(db_session.execute(select(InvitationEvent.kind, func.count()).where(
            InvitationEvent.send_id == send.id).group_by(InvitationEvent.kind)).all())
        chosen = select(InvitationEvent, Customer.external_id, Customer.email).outerjoin(
            Customer, Customer.id == InvitationEvent.customer_id).where(InvitationEvent.send_id == send.id)
        if kind:
            chosen = chosen.where(InvitationEvent.kind == kind)
        total = counts.get(kind, 0) if kind else sum(counts.values())
        chosen = chosen.order_by(InvitationEvent.at, InvitationEvent.id)
        if size is not None:
            chosen = chosen.offset((page - 1) * size).limit(size)
        events = [LogEntryPublic(id=event.id, at=event.at, kind=event.kind, invitation_id=event.invitation_id,
                                 customer_id=event.customer_id, customer=external_id, email=email,
                                 detail=event.detail, mail_id=event.mail_id)
                  for event, external_id, email in db_session.execute(chosen)]
        return SendLogPublic(send=send.key, name=send.name, counts={name: counts.get(name, 0) for name in EVENT_KINDS},
                             kind=kind, total=total, page=page, pages=max(1, ceil(total / (size or PAGE_SIZE))),
                             events=events)


@router.get("/sends/{key}/log", include_in_schema=False)
def log_page(request: Request, key: str, user: CurrentUser, db: DbDep, settings: SettingsDep, kind: KindFilter = "",
             page: PageNumber = 1, format: Format = "html"):
    error = ""
    try:
        listed = send_log(db, key, kind=kind, page=page, size=None if format == "csv" else PAGE_SIZE)
    except LookupError:
        raise HTTPException(404) from None
    except LogFilterError as exc:
        error, kind = str(exc), ""
        listed = send_log(db, key, kind="", page=1)
    if format == "csv" and not error:
        return csv_response(f"send-log-{key}" + (f"-{kind}" if kind else ""),
                            ["at", "kind", "invitation_id", "customer", "email", "detail", "mail_id"],
                            [[e.at.isoformat(), e.kind, e.invitation_id, e.customer, e.email, e.detail, e.mail_id]
                             for e in listed.events])
    query = f"kind={kind}&" if kind else ""
    return render(request, "distribution/log.html", {
        "key": key, "listed": listed, "kind": kind, "error": error, "timezone": settings.timezone,
        "kinds": [(name, KIND_LABELS[name]) for name in EVENT_KINDS],
        "json_href": f"/api/v1/sends/{key}/log?{query}page={listed.page}",
        "csv_href": f"/sends/{key}/log?{query}format=csv",
        "previous_href": f"/sends/{key}/log?{query}page={page - 1}" if page > 1 else None,
        "next_href": f"/sends/{key}/log?{query}page={page + 1}" if page < listed.pages else None,
    }, status_code=400 if error else 200)


@api.get("/sends/{key}/log", response_model=SendLogPublic, responses=problem_responses(401, 404, 422))
def log_json(request: Request, key: str, user: CurrentUser, db: DbDep, kind: KindFilter = "",
             page: PageNumber = 1):
    """The send log: every event of the send's invitations (queued, skipped with the reason, sent and failed with
    the SMTP reply, bounced, reminded, started, completed, unsubscribed, expired), oldest first, 50 a page."""
    try:
        return send_log(db, key, kind=kind, page=page)
    except LookupError as exc:
        return problem(404, f"{exc}.", code="unknown-send", instance=request.url.path)
    except LogFilterError as exc:
        return problem(422, f"{exc}.", code="invalid-filter", instance=request.url.path,
                       errors=[{"field": "kind", "message": str(exc)}])


# --- the funnel -------------------------------------------------------------------------------------------------

NOTE = ("Delivered: the SMTP server accepted an e-mail of the invitation and no bounce came back. Started: the "
        "survey link was opened (e-mail opens are not counted: no tracking pixel is sent). Completed: a response "
        "carries the invitation. Each share has a 95% Wilson interval.")


def _share(estimate: Estimate | None) -> SharePublic | None:
    if estimate is None:
        return None
    return SharePublic(value=estimate.value, ci_low=estimate.ci_low, ci_high=estimate.ci_high,
                       confidence=estimate.confidence, n=estimate.n)


def _funnel_public(result: funnel.Funnel) -> FunnelPublic:
    time = result.time_to_complete
    return FunnelPublic(label=result.label, stages=[
        StagePublic(name=stage.name, count=stage.count, of_invited=_share(stage.of_invited),
                    of_previous=_share(stage.of_previous)) for stage in result.stages],
        time_to_complete=DurationPublic(n=time.n, median_hours=time.median, q1_hours=time.q1, q3_hours=time.q3),
        clicked=result.clicked, clicked_not_completed=result.clicked_not_completed)


def funnel_of(db, *, scope: str, key: str, by: str) -> FunnelReportPublic:
    """The funnel of one send, or of every send of a survey; LookupError when there is no such send or survey."""
    with db.read() as db_session:
        if scope == "send":
            send = _send_or_404(db_session, key)
            sends, name = [send], send.name
        else:
            survey = db_session.scalar(select(Survey).where(Survey.key == key)) if len(key) <= 64 else None
            if survey is None:
                raise LookupError(f"there is no survey {key!r}")
            sends, name = list(db_session.scalars(select(Send).where(Send.survey_id == survey.id)
                                                  .order_by(Send.id))), survey.title
        rows = funnel.invitations(db_session, send_ids=[send.id for send in sends])
        send_keys = [send.key for send in sends]
    result = funnel.report(rows, by=by)
    return FunnelReportPublic(scope=scope, key=key, name=name, sends=send_keys, by=result.by,
                              group_options=list(result.group_options), overall=_funnel_public(result.overall),
                              groups=[_funnel_public(group) for group in result.groups], note=NOTE)


def _chart(overall: FunnelPublic):
    rows = []
    for stage in overall.stages[1:]:
        share = stage.of_invited
        if share is None or share.value is None:
            continue
        rows.append(charts.ShareRow(
            label=stage.name.capitalize(), value=share.value, low=share.ci_low, high=share.ci_high,
            figure=f"{share.value:.0f}% ({share.ci_low:.0f} to {share.ci_high:.0f}%)",
            title=f"{stage.name.capitalize()}: {stage.count:,} of {share.n:,} invited, {share.value:.1f}% "
                  f"(95% CI {share.ci_low:.1f} to {share.ci_high:.1f}%)"))
    return charts.share_bars(rows, title="Share of the invited at each stage") if rows else None


def _funnel_page(request: Request, db, *, scope: str, key: str, by: str):
    try:
        data = funnel_of(db, scope=scope, key=key, by=by)
    except LookupError:
        raise HTTPException(404) from None
    base = f"/{scope}s/{key}/funnel"
    query = f"?{urlencode({'by': data.by})}" if data.by else ""
    return render(request, "distribution/funnel.html", {
        "data": data, "chart": _chart(data.overall), "action": base,
        "json_href": f"/api/v1{base}{query}", "options": [(name, name) for name in data.group_options],
        "log_href": f"/sends/{key}/log" if scope == "send" else None,
        "survey_key": key if scope == "survey" else None,  # a survey's funnel is one of its results tabs
    })


@router.get("/sends/{key}/funnel", include_in_schema=False)
def send_funnel_page(request: Request, key: str, user: CurrentUser, db: DbDep, by: GroupBy = ""):
    return _funnel_page(request, db, scope="send", key=key, by=by)


@router.get("/surveys/{key}/funnel", include_in_schema=False)
def survey_funnel_page(request: Request, key: str, user: CurrentUser, db: DbDep, by: GroupBy = ""):
    return _funnel_page(request, db, scope="survey", key=key, by=by)


@api.get("/sends/{key}/funnel", response_model=FunnelReportPublic, responses=problem_responses(401, 404))
def send_funnel_json(request: Request, key: str, user: CurrentUser, db: DbDep, by: GroupBy = ""):
    """The send's funnel: invited, delivered, started, completed, each as a share of the invited and of the stage
    before with a 95% Wilson interval, overall and by a customer attribute or language; and the hours from
    invitation to response (median and quartiles)."""
    try:
        return funnel_of(db, scope="send", key=key, by=by)
    except LookupError as exc:
        return problem(404, f"{exc}.", code="unknown-send", instance=request.url.path)


@api.get("/surveys/{key}/funnel", response_model=FunnelReportPublic, responses=problem_responses(401, 404))
def survey_funnel_json(request: Request, key: str, user: CurrentUser, db: DbDep, by: GroupBy = ""):
    """The funnel over every e-mail send of the survey (see /sends/{key}/funnel)."""
    try:
        return funnel_of(db, scope="survey", key=key, by=by)
    except LookupError as exc:
        return problem(404, f"{exc}.", code="unknown-survey", instance=request.url.path)


# --- bounces ----------------------------------------------------------------------------------------------------

@api.post("/bounces", response_model=BouncePublic, dependencies=[Depends(verify_csrf)],
          responses=problem_responses(401, 403, 422))
def bounce_json(request: Request, user: Admin, db: DbDep, settings: SettingsDep,
                report: Annotated[BounceReportIn, Body()]):
    """A bounce a mail provider reported after accepting a message (admins only; send the CSRF token in
    X-CSRF-Token): the address goes on the suppression list as bounced, and each of its invitations not yet
    answered is logged bounced, its reminders cancelled."""
    try:
        with db.write() as db_session:
            result = delivery.record_bounce(db_session, address=report.address, diagnostic=report.diagnostic,
                                            source=f"bounce report by {user.email}", now=utcnow())
            audit(db_session=db_session, actor=user, action="sends.bounce", target=result.address,
                  client=client_address(request, settings), invitations=result.invitations)
    except delivery.BounceError as exc:
        return problem(422, f"{exc}.", code="invalid-bounce", instance=request.url.path,
                       errors=[{"field": exc.field, "message": str(exc)}])
    return BouncePublic(address=result.address, invitations=result.invitations)
