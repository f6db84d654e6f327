"""What happened to invitations after they were queued, written to the send log.

`sync_outcomes` (the send worker calls it each tick) reads the store and records what changed since the last
call: the outbox's answer for each invitation or reminder e-mail (`sent`, `failed` with the SMTP reply, or
`bounced` when the server refused the recipient for good, which also puts the address on the suppression list;
a refused sender, login or message is `failed` and suppresses nobody: see `voxpop.notify.mail.refused_recipient`),
the invitation's link first opened (`started`, from `Invitation.opened_at`, which the survey page sets) and its response submitted
(`completed`, from the response carrying the invitation's id). Each is recorded once: a mail's outcome by the
mail's id, started and completed by the invitation's status moving on. The funnel does not depend on these
events (it derives its counts from the invitations, the outbox and the responses), so a tick that has not run
yet delays the log, never the figures.

Bounces a mail provider reports later (an address that accepted the message, then bounced) come in through
`record_bounce`, behind the bounces API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from voxpop.collection.models import Invitation, Response
from voxpop.customers import contacts
from voxpop.customers.models import Customer
from voxpop.distribution.models import InvitationEvent, SendInvitation
from voxpop.distribution.service import record_event
from voxpop.notify.mail import refused_recipient
from voxpop.notify.models import OutgoingMail

BATCH = 500  # rows per kind per call: a backlog is worked off over a few ticks, never in one long transaction
OUTCOME_KINDS = ("sent", "failed", "bounced")
# An invitation that has not been opened or answered yet: "started" and "completed" can still happen to it.
NOT_STARTED = ("queued", "sent", "failed")
NOT_COMPLETED = ("queued", "sent", "failed", "started", "expired")


@dataclass
class SyncReport:
    sent: int = 0
    failed: int = 0
    bounced: int = 0
    started: int = 0
    completed: int = 0


def sync_outcomes(db_session: Session, *, now: datetime, limit: int = BATCH) -> SyncReport:
    """Record in the send log what happened since the last call (in the caller's transaction)."""
    report = SyncReport()
    _mail_outcomes(db_session, report, now=now, limit=limit)
    _started(db_session, report, limit=limit)
    _completed(db_session, report, limit=limit)
    return report


def _mail_outcomes(db_session: Session, report: SyncReport, *, now: datetime, limit: int) -> None:
    queued = aliased(InvitationEvent)
    outcome = aliased(InvitationEvent)
    rows = db_session.execute(
        select(queued, OutgoingMail)
        .join(OutgoingMail, OutgoingMail.id == queued.mail_id)
        .where(queued.kind.in_(("queued", "reminded")), OutgoingMail.status.in_(("sent", "failed")),
               ~exists().where(outcome.invitation_id == queued.invitation_id, outcome.mail_id == queued.mail_id,
                               outcome.kind.in_(OUTCOME_KINDS)))
        .order_by(queued.id).limit(limit)).all()
    if not rows:
        return
    invitations = {row.invitation_id: row for row in db_session.scalars(select(SendInvitation).where(
        SendInvitation.invitation_id.in_({event.invitation_id for event, _ in rows})))}
    for event, mail in rows:
        if mail.status == "sent":
            kind = "sent"
        else:
            kind = "bounced" if refused_recipient(mail.smtp_reply or "") else "failed"
        record_event(db_session, send_id=event.send_id, invitation_id=event.invitation_id,
                     customer_id=event.customer_id, kind=kind, detail=mail.smtp_reply,
                     at=mail.sent_at or now, mail_id=mail.id)
        setattr(report, kind, getattr(report, kind) + 1)
        invitation = invitations.get(event.invitation_id)
        if kind == "bounced":
            _suppress_bounced(db_session, mail.recipient, mail.smtp_reply or "", now=now)
        if invitation is not None:
            _move(invitation, kind)


def _move(invitation: SendInvitation, kind: str) -> None:
    """The invitation's status after one of its mails' outcome. A reminder's outcome never takes back a later
    step (a failed reminder leaves a started invitation started); a bounce stops its reminders."""
    if kind == "sent" and invitation.status in ("queued", "failed"):
        invitation.status = "sent"
    elif kind == "failed" and invitation.status == "queued":
        invitation.status = "failed"
    elif kind == "bounced" and invitation.status in ("queued", "sent", "failed"):
        invitation.status, invitation.next_reminder_at = "bounced", None


def _suppress_bounced(db_session: Session, address: str, reply: str, *, now: datetime) -> None:
    try:
        contacts.suppress(db_session, address, reason="bounced", source="smtp", detail=reply[:500], now=now)
    except contacts.ContactError:
        pass  # not an address the list can hold (the server refused it for that very reason): nothing to stop


def _started(db_session: Session, report: SyncReport, *, limit: int) -> None:
    rows = db_session.execute(
        select(SendInvitation, Invitation)
        .join(Invitation, Invitation.id == SendInvitation.invitation_id)
        .where(Invitation.opened_at.is_not(None), SendInvitation.status.in_(NOT_STARTED))
        .order_by(SendInvitation.id).limit(limit)).all()
    for invitation, opened in rows:
        clicked = (f"clicked {opened.clicked_score} for {opened.clicked_question} in the e-mail"
                   if opened.clicked_score is not None else None)
        record_event(db_session, send_id=invitation.send_id, invitation_id=invitation.invitation_id,
                     customer_id=invitation.customer_id, kind="started", detail=clicked, at=opened.opened_at)
        invitation.status = "started"
        report.started += 1


def _completed(db_session: Session, report: SyncReport, *, limit: int) -> None:
    rows = db_session.execute(
        select(SendInvitation, Response.submitted_at, Invitation.opened_at)
        .join(Response, Response.invitation_id == SendInvitation.invitation_id)
        .join(Invitation, Invitation.id == SendInvitation.invitation_id)
        .where(SendInvitation.status.in_(NOT_COMPLETED))
        .order_by(SendInvitation.id).limit(limit)).all()
    for invitation, submitted_at, opened_at in rows:
        if invitation.status not in ("started",) and not _has(db_session, invitation.invitation_id, "started"):
            # answered through the link without the page's first view being seen (an older link): started then
            record_event(db_session, send_id=invitation.send_id, invitation_id=invitation.invitation_id,
                         customer_id=invitation.customer_id, kind="started", detail=None,
                         at=opened_at or submitted_at)
        record_event(db_session, send_id=invitation.send_id, invitation_id=invitation.invitation_id,
                     customer_id=invitation.customer_id, kind="completed", detail=None, at=submitted_at)
        invitation.status, invitation.next_reminder_at = "completed", None
        report.completed += 1


def _has(db_session: Session, invitation_id: int, kind: str) -> bool:
    return bool(db_session.scalar(select(exists().where(
        InvitationEvent.invitation_id == invitation_id, InvitationEvent.kind == kind))))


class BounceError(ValueError):
    """A bounce report that cannot be applied; `field` names what is wrong."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class BounceReport:
    address: str
    invitations: int  # how many open invitations to the address were marked bounced


def record_bounce(db_session: Session, *, address: str, diagnostic: str, source: str, now: datetime) -> BounceReport:
    """A bounce a mail provider reports after accepting the message: the address goes on the suppression list and
    each invitation to it that is not answered yet is logged `bounced`, its reminders cancelled."""
    try:
        entry = contacts.suppress(db_session, address, reason="bounced", source=source, detail=diagnostic[:500],
                                  now=now)
    except contacts.ContactError as error:
        raise BounceError(str(error), field="address") from error
    rows = db_session.scalars(
        select(SendInvitation)
        .join(Customer, Customer.id == SendInvitation.customer_id)
        .where(func.lower(func.trim(Customer.email)) == entry.email,  # as the suppression list normalises it
               SendInvitation.status.in_(("queued", "sent", "failed")))).all()
    for invitation in rows:
        record_event(db_session, send_id=invitation.send_id, invitation_id=invitation.invitation_id,
                     customer_id=invitation.customer_id, kind="bounced", detail=diagnostic[:2000] or None, at=now,
                     mail_id=invitation.last_mail_id)
        invitation.status, invitation.next_reminder_at = "bounced", None
    return BounceReport(address=entry.email, invitations=len(rows))


@dataclass
class Unsubscribed:
    email: str | None  # the address put on the suppression list; None when the customer has none (nothing to stop)
    first_time: bool  # False when this invitation was unsubscribed already
    language: str | None  # the invitation's language, for the page that confirms it
    cancelled_mails: int  # queued invitation or reminder e-mails to the customer that will not go


MAIL_KINDS = ("invitation", "invitation.reminder")
UNSUBSCRIBED_REPLY = "not sent: the recipient unsubscribed"


def unsubscribe(db_session: Session, *, invitation_id: int, now: datetime) -> Unsubscribed | None:
    """The customer of this invitation unsubscribes (the link or the one-click POST of RFC 8058): their address
    goes on the suppression list, which every later send and reminder obeys; the invitation is logged
    `unsubscribed` once, its reminders cancelled, and invitation e-mails to them still waiting in the outbox are
    not sent. None when the invitation does not exist (any more)."""
    invitation = db_session.get(Invitation, invitation_id)
    if invitation is None:
        return None
    customer = db_session.get(Customer, invitation.customer_id) if invitation.customer_id else None
    email = None
    if customer is not None and customer.email:
        try:
            email = contacts.suppress(db_session, customer.email, reason="unsubscribed",
                                      source=f"unsubscribe link (invitation {invitation_id})", now=now).email
        except contacts.ContactError:
            email = None  # an address the list cannot hold was never mailed either
    row = db_session.scalar(select(SendInvitation).where(SendInvitation.invitation_id == invitation_id))
    first_time = not _has(db_session, invitation_id, "unsubscribed")
    if row is not None and first_time:
        record_event(db_session, send_id=row.send_id, invitation_id=invitation_id, customer_id=row.customer_id,
                     kind="unsubscribed", detail=email, at=now)
        if row.status != "completed":
            row.status = "unsubscribed"
        row.next_reminder_at = None
    cancelled = _cancel_waiting_mail(db_session, invitation.customer_id) if invitation.customer_id else 0
    return Unsubscribed(email=email, first_time=first_time, language=row.language if row else None,
                        cancelled_mails=cancelled)


def _cancel_waiting_mail(db_session: Session, customer_id: int) -> int:
    related = [f"invitation:{id_}" for id_ in db_session.scalars(
        select(Invitation.id).where(Invitation.customer_id == customer_id))]
    waiting = db_session.scalars(select(OutgoingMail).where(
        OutgoingMail.related.in_(related), OutgoingMail.kind.in_(MAIL_KINDS), OutgoingMail.status == "queued")).all()
    for mail in waiting:
        mail.status, mail.smtp_reply = "failed", UNSUBSCRIBED_REPLY
    return len(waiting)
