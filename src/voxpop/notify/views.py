"""Admins watch what voxpop sends: webhook endpoints (add, pause, delete) with each one's delivery log and a replay
button, and the e-mail outbox with the SMTP set-up. Admin only, on the server.

Writes are HTML forms with the session's CSRF token, each audited; the JSON twins read. A new endpoint's secret
is shown once, on the page that answers the form, and never again.
"""

from __future__ import annotations

from math import ceil
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from voxpop.notify import mail as outbox_mail
from voxpop.notify import webhooks
from voxpop.notify.events import EVENTS
from voxpop.notify.models import OutgoingMail, WebhookDelivery, WebhookEndpoint
from voxpop.notify.schemas import (
    OutboxPublic,
    OutgoingMailPublic,
    SmtpPublic,
    WebhookDeliveryPublic,
    WebhookEndpointPublic,
    WebhookEndpointsPublic,
    WebhookLogPublic,
)
from voxpop.settings import Settings
from voxpop.store.base import utcnow
from voxpop.web.auth import DbDep, SettingsDep, User, client_address, require_role, verify_csrf
from voxpop.web.problems import problem, problem_responses
from voxpop.web.tables import csv_response
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["admin"])
Admin = Annotated[User, Depends(require_role("admin"))]
EndpointId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DeliveryId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PageNumber = Annotated[int, Query(ge=1, le=100_000, description="The page of the log, newest first.")]
CsvFormat = Annotated[Literal["html", "csv"], Query(description="csv for the page's table as CSV.")]
MailStatus = Annotated[str, Query(max_length=20, description="queued, sending, sent, failed or in_doubt; empty for "
                                                               "all.")]
MailId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PAGE_SIZE = 50
MAIL_STATUSES = ("queued", "sending", "sent", "failed", "in_doubt")
MAIL_LABELS = {"in_doubt": "In doubt"}
SETTLED = {"marked-sent": "Marked as sent: it is not sent again.",
           "sent-again": "Queued to be sent again: it goes out with the next run of the mail worker."}
# A page with a secret must not be kept by the browser or a proxy: it is shown once, and only to its admin.
NO_STORE = {"Cache-Control": "no-store"}
SAVED = {"created": "Endpoint added.", "paused": "Endpoint paused: it gets no new events, and its queued deliveries "
         "wait.", "resumed": "Endpoint resumed.", "deleted": "Endpoint and its delivery log deleted.",
         "replayed": "Replay queued: it goes out within seconds, with the same webhook-id."}


def _pages(total: int) -> int:
    return max(1, ceil(total / PAGE_SIZE))


def _audit(request: Request, settings: Settings, db_session: Session, user: User, action: str, target: str,
           **details) -> None:
    # The audit log belongs to accounts, a layer above this one: the app hands its function over (app.state).
    request.app.state.audit(db_session=db_session, actor=user, action=action, target=target,
                            client=client_address(request, settings), **details)


# --- webhooks ---------------------------------------------------------------------------------------------------

def endpoint_public(endpoint: WebhookEndpoint, counts: dict[str, int]) -> WebhookEndpointPublic:
    return WebhookEndpointPublic(id=endpoint.id, url=endpoint.url, events=list(endpoint.events or []),
                                 active=endpoint.active, created_at=endpoint.created_at,
                                 delivered=counts.get("delivered", 0), failed=counts.get("failed", 0),
                                 pending=counts.get("pending", 0) + counts.get("sending", 0))


def _delivery_counts(db_session: Session) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    for endpoint_id, status, n in db_session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count())
            .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status)):
        counts.setdefault(endpoint_id, {})[status] = n
    return counts


def endpoints_list(db) -> WebhookEndpointsPublic:
    """Every endpoint, oldest first, with its deliveries counted by status."""
    with db.read() as db_session:
        counts = _delivery_counts(db_session)
        endpoints = db_session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()
        return WebhookEndpointsPublic(endpoints=[endpoint_public(endpoint, counts.get(endpoint.id, {}))
                                                 for endpoint in endpoints], events=list(EVENTS))


def delivery_public(delivery: WebhookDelivery) -> WebhookDeliveryPublic:
    waiting = delivery.status in ("pending", "sending")
    return WebhookDeliveryPublic(
        id=delivery.id, message_id=delivery.message_id, event=delivery.event, status=delivery.status,
        attempts=delivery.attempts, last_status_code=delivery.last_status_code, last_error=delivery.last_error,
        created_at=delivery.created_at, next_attempt_at=delivery.next_attempt_at if waiting else None,
        delivered_at=delivery.delivered_at, manual=delivery.manual, replay_of=delivery.replay_of)


def webhook_log(db, endpoint_id: int, *, page: int, size: int = PAGE_SIZE) -> WebhookLogPublic:
    """One endpoint and a page of its deliveries, newest first; WebhookError if there is no such endpoint."""
    with db.read() as db_session:
        endpoint = webhooks.get_endpoint(db_session=db_session, endpoint_id=endpoint_id)
        counts = _delivery_counts(db_session).get(endpoint_id, {})
        total = sum(counts.values())
        deliveries = db_session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id.desc()).offset((page - 1) * size).limit(size)).all()
        return WebhookLogPublic(endpoint=endpoint_public(endpoint, counts),
                                deliveries=[delivery_public(delivery) for delivery in deliveries],
                                total=total, page=page, pages=_pages(total))


def _webhooks_page(request: Request, db, settings: Settings, *, saved: str = "", error: webhooks.WebhookError | None = None,
                   form: dict | None = None, status: int = 200):
    field_errors = {error.field: str(error)} if error and error.field else {}
    return render(request, "notify/webhooks.html", {
        "listed": endpoints_list(db), "saved": SAVED.get(saved, ""), "timezone": settings.timezone,
        "errors": [(error.field, str(error))] if error and error.field else ([str(error)] if error else []),
        "field_errors": field_errors, "form": form or {"url": "", "events": []},
    }, status_code=status)


@router.get("/admin/webhooks", include_in_schema=False)
def webhooks_page(request: Request, user: Admin, db: DbDep, settings: SettingsDep,
                  saved: Annotated[str, Query(max_length=20)] = "", format: CsvFormat = "html"):
    if format == "csv":
        return csv_response("webhook-endpoints", ["id", "url", "events", "active", "delivered", "pending", "failed",
                                                  "created_at"],
                            [[endpoint.id, endpoint.url, " ".join(endpoint.events) or "all", endpoint.active,
                              endpoint.delivered, endpoint.pending, endpoint.failed, endpoint.created_at.isoformat()]
                             for endpoint in endpoints_list(db).endpoints])
    return _webhooks_page(request, db, settings, saved=saved)


@api.get("/admin/webhooks", response_model=WebhookEndpointsPublic)
def webhooks_json(user: Admin, db: DbDep):
    """Every webhook endpoint with its deliveries counted by status (admins only; never the secrets)."""
    return endpoints_list(db)


@router.post("/admin/webhooks", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def add_webhook(request: Request, user: Admin, db: DbDep, settings: SettingsDep,
                url: Annotated[str, Form(max_length=2000)] = "",
                events: Annotated[list[str] | None, Form(max_length=len(EVENTS))] = None):
    """Add an endpoint and show its signing secret, once."""
    try:
        with db.write() as db_session:
            endpoint = webhooks.add_endpoint(db_session=db_session, url=url, events=events or [])
            _audit(request, settings, db_session, user, "webhook.create", webhooks.url_for_log(endpoint.url),
                   events=endpoint.events)
            added = {"id": endpoint.id, "url": endpoint.url, "secret": endpoint.secret, "events": endpoint.events}
    except webhooks.WebhookError as exc:
        return _webhooks_page(request, db, settings, error=exc, form={"url": url, "events": events or []}, status=400)
    return render(request, "notify/webhook_secret.html", {"endpoint": added}, headers=NO_STORE)


def _endpoint_change(request: Request, db, settings: Settings, user: User, endpoint_id: int, action: str, change):
    try:
        with db.write() as db_session:
            target = webhooks.url_for_log(change(db_session))  # a token in the query string stays out of the log
            _audit(request, settings, db_session, user, f"webhook.{action}", target, endpoint_id=endpoint_id)
    except webhooks.WebhookError as exc:
        return render(request, "error.html", {"status": 404, "title": "No such endpoint", "detail": str(exc)},
                      status_code=404)
    return RedirectResponse(f"/admin/webhooks?saved={action}", status_code=303)


@router.post("/admin/webhooks/{endpoint_id}/pause", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def pause_webhook(request: Request, user: Admin, db: DbDep, settings: SettingsDep, endpoint_id: EndpointId):
    return _endpoint_change(request, db, settings, user, endpoint_id, "paused", lambda db_session: webhooks.set_active(
        db_session=db_session, endpoint_id=endpoint_id, active=False).url)


@router.post("/admin/webhooks/{endpoint_id}/resume", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def resume_webhook(request: Request, user: Admin, db: DbDep, settings: SettingsDep, endpoint_id: EndpointId):
    return _endpoint_change(request, db, settings, user, endpoint_id, "resumed", lambda db_session: webhooks.set_active(
        db_session=db_session, endpoint_id=endpoint_id, active=True).url)


@router.post("/admin/webhooks/{endpoint_id}/delete", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def delete_webhook(request: Request, user: Admin, db: DbDep, settings: SettingsDep, endpoint_id: EndpointId):
    return _endpoint_change(request, db, settings, user, endpoint_id, "deleted", lambda db_session: webhooks.delete_endpoint(
        db_session=db_session, endpoint_id=endpoint_id))


def _log_page(request: Request, db, settings: Settings, endpoint_id: int, *, page: int = 1, saved: str = "",
              error: webhooks.WebhookError | None = None, status: int = 200):
    try:
        log = webhook_log(db, endpoint_id, page=page)
    except webhooks.WebhookError as exc:
        return render(request, "error.html", {"status": 404, "title": "No such endpoint", "detail": str(exc)},
                      status_code=404)
    base = f"/admin/webhooks/{endpoint_id}"
    return render(request, "notify/webhook_log.html", {
        "log": log, "timezone": settings.timezone, "saved": SAVED.get(saved, ""), "error": str(error) if error else "",
        "json_href": f"/api/v1{base}?page={page}", "csv_href": f"{base}?page={page}&format=csv",
        "previous_href": f"{base}?page={page - 1}" if page > 1 else None,
        "next_href": f"{base}?page={page + 1}" if page < log.pages else None,
    }, status_code=status)


@router.get("/admin/webhooks/{endpoint_id}", include_in_schema=False)
def webhook_log_page(request: Request, user: Admin, db: DbDep, settings: SettingsDep, endpoint_id: EndpointId,
                     page: PageNumber = 1, saved: Annotated[str, Query(max_length=20)] = "", format: CsvFormat = "html"):
    if format == "csv":
        try:
            log = webhook_log(db, endpoint_id, page=page)
        except webhooks.WebhookError:
            return _log_page(request, db, settings, endpoint_id)  # the page says there is no such endpoint
        return csv_response(f"webhook-{endpoint_id}-deliveries", [
            "id", "message_id", "event", "status", "attempts", "last_status_code", "last_error", "created_at",
            "next_attempt_at", "delivered_at", "manual", "replay_of"],
            [[d.id, d.message_id, d.event, d.status, d.attempts, d.last_status_code, d.last_error,
              d.created_at.isoformat(), d.next_attempt_at.isoformat() if d.next_attempt_at else None,
              d.delivered_at.isoformat() if d.delivered_at else None, d.manual, d.replay_of]
             for d in log.deliveries])
    return _log_page(request, db, settings, endpoint_id, page=page, saved=saved)


@api.get("/admin/webhooks/{endpoint_id}", response_model=WebhookLogPublic, responses=problem_responses(404))
def webhook_log_json(request: Request, user: Admin, db: DbDep, endpoint_id: EndpointId, page: PageNumber = 1):
    """One endpoint and a page of its delivery log, newest first (admins only)."""
    try:
        return webhook_log(db, endpoint_id, page=page)
    except webhooks.WebhookError as exc:
        return problem(404, str(exc), code="no-such-endpoint", instance=request.url.path)


@router.post("/admin/webhooks/deliveries/{delivery_id}/replay", include_in_schema=False,
             dependencies=[Depends(verify_csrf)])
def replay_delivery(request: Request, user: Admin, db: DbDep, settings: SettingsDep, delivery_id: DeliveryId):
    """Send a delivery again: a new delivery with the same webhook-id and payload."""
    with db.read() as db_session:
        endpoint_id = db_session.scalar(select(WebhookDelivery.endpoint_id).where(WebhookDelivery.id == delivery_id))
    if endpoint_id is None:
        return render(request, "error.html", {"status": 404, "title": "No such delivery", "detail": (
            f"There is no webhook delivery {delivery_id}; it may have been deleted with its endpoint.")},
            status_code=404)
    try:
        with db.write() as db_session:
            copy = webhooks.replay(db_session=db_session, delivery_id=delivery_id)
            _audit(request, settings, db_session, user, "webhook.replay", copy.message_id, delivery_id=delivery_id,
                   replay_id=copy.id, endpoint_id=endpoint_id, event=copy.event)
    except webhooks.WebhookError as exc:
        return _log_page(request, db, settings, endpoint_id, error=exc, status=400)
    return RedirectResponse(f"/admin/webhooks/{endpoint_id}?saved=replayed", status_code=303)


# --- e-mail -----------------------------------------------------------------------------------------------------

def smtp_public(settings: Settings) -> SmtpPublic:
    return SmtpPublic(configured=bool(settings.smtp_host), host=settings.smtp_host, port=settings.smtp_port,
                      security=settings.smtp_security, sender=settings.smtp_from, user=settings.smtp_user,
                      per_minute=settings.smtp_per_minute)


def mail_public(mail: OutgoingMail) -> OutgoingMailPublic:
    waiting = mail.status in ("queued", "sending")
    return OutgoingMailPublic(id=mail.id, message_id=mail.message_id, kind=mail.kind, recipient=mail.recipient,
                              subject=mail.subject, status=mail.status, attempts=mail.attempts,
                              smtp_reply=mail.smtp_reply, related=mail.related, created_at=mail.created_at,
                              next_attempt_at=mail.next_attempt_at if waiting else None, sent_at=mail.sent_at)


class MailFilterError(ValueError):
    """A filter of the outbox log that cannot be applied."""


def outbox(db, settings: Settings, *, status: str, page: int, size: int = PAGE_SIZE) -> OutboxPublic:
    """The SMTP set-up and a page of the outbox, newest first, of one status or all; MailFilterError for a status
    that does not exist."""
    if status and status not in MAIL_STATUSES:
        raise MailFilterError(f"status must be one of {', '.join(MAIL_STATUSES)}, not {status!r}; "
                              "or leave it empty for every message")
    with db.read() as db_session:
        counts = dict(db_session.execute(select(OutgoingMail.status, func.count()).group_by(OutgoingMail.status)).all())
        chosen = select(OutgoingMail).where(OutgoingMail.status == status) if status else select(OutgoingMail)
        total = counts.get(status, 0) if status else sum(counts.values())
        messages = db_session.scalars(chosen.order_by(
            case((OutgoingMail.status.in_(("queued", "sending")), 0), else_=1), OutgoingMail.id.desc())
            .offset((page - 1) * size).limit(size)).all()
        return OutboxPublic(smtp=smtp_public(settings), counts={name: counts.get(name, 0) for name in MAIL_STATUSES},
                            messages=[mail_public(mail) for mail in messages], total=total, page=page,
                            pages=_pages(total))


@router.get("/admin/mail", include_in_schema=False)
def mail_page(request: Request, user: Admin, db: DbDep, settings: SettingsDep, status: MailStatus = "",
              page: PageNumber = 1, format: CsvFormat = "html", saved: Annotated[str, Query(max_length=20)] = ""):
    error = ""
    try:
        listed = outbox(db, settings, status=status, page=page)
    except MailFilterError as exc:
        error, listed = str(exc), outbox(db, settings, status="", page=1)
    if format == "csv" and not error:
        return csv_response("outbox", ["id", "message_id", "kind", "recipient", "subject", "status", "attempts",
                                       "smtp_reply", "related", "created_at", "next_attempt_at", "sent_at"],
                            [[m.id, m.message_id, m.kind, m.recipient, m.subject, m.status, m.attempts, m.smtp_reply,
                              m.related, m.created_at.isoformat(),
                              m.next_attempt_at.isoformat() if m.next_attempt_at else None,
                              m.sent_at.isoformat() if m.sent_at else None] for m in listed.messages])
    query = f"status={status}&" if status and not error else ""
    return render(request, "notify/mail.html", {
        "listed": listed, "status": status, "saved": SETTLED.get(saved, ""),
        "statuses": [(name, MAIL_LABELS.get(name, name.capitalize())) for name in MAIL_STATUSES], "error": error, "timezone": settings.timezone, "json_href": f"/api/v1/admin/mail?{query}page={page}",
        "csv_href": f"/admin/mail?{query}page={page}&format=csv",
        "previous_href": f"/admin/mail?{query}page={page - 1}" if page > 1 and not error else None,
        "next_href": f"/admin/mail?{query}page={page + 1}" if page < listed.pages and not error else None,
    }, status_code=400 if error else 200)


@api.get("/admin/mail", response_model=OutboxPublic, responses=problem_responses(422))
def mail_json(request: Request, user: Admin, db: DbDep, settings: SettingsDep, status: MailStatus = "",
              page: PageNumber = 1):
    """The SMTP set-up (never the password) and the outbox, newest first, waiting messages on top (admins only)."""
    try:
        return outbox(db, settings, status=status, page=page)
    except MailFilterError as exc:
        return problem(422, str(exc), code="invalid-filter", instance=request.url.path)


def _settle(request: Request, db, settings: Settings, user: User, mail_id: int, *, delivered: bool):
    """An admin's decision on a message in doubt (see voxpop.notify.mail), audited in the same transaction."""
    action = "mail.marked_sent" if delivered else "mail.sent_again"

    def audit(db_session: Session, mail: OutgoingMail) -> None:
        _audit(request, settings, db_session, user, action, mail.message_id, mail_id=mail.id,
               recipient=mail.recipient, kind=mail.kind)

    try:
        outbox_mail.settle_in_doubt(db, mail_id, delivered=delivered, by=user.email, now=utcnow(), also=audit)
    except outbox_mail.NotInDoubt:
        return render(request, "error.html", {"status": 409, "title": "Not in doubt", "detail": (
            f"Message {mail_id} is not in doubt: it does not exist, or someone settled it already. Nothing changed.")},
            status_code=409)
    return RedirectResponse(f"/admin/mail?status=in_doubt&saved={'marked-sent' if delivered else 'sent-again'}",
                            status_code=303)


@router.post("/admin/mail/{mail_id}/mark-sent", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def mark_mail_sent(request: Request, user: Admin, db: DbDep, settings: SettingsDep, mail_id: MailId):
    """The recipient got the message in doubt (or the server's log shows it accepted): record it sent."""
    return _settle(request, db, settings, user, mail_id, delivered=True)


@router.post("/admin/mail/{mail_id}/send-again", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def send_mail_again(request: Request, user: Admin, db: DbDep, settings: SettingsDep, mail_id: MailId):
    """The message in doubt did not arrive: queue it to go again now, with the same Message-ID."""
    return _settle(request, db, settings, user, mail_id, delivered=False)
