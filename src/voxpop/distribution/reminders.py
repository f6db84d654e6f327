"""Reminders to those who have not answered, and the end of invitations that expired.

A reminder goes only when all of these hold: the invitation has no response, its first e-mail went out (a mail
still in the outbox, failed or bounced is not reminded), the survey is still live and the send not cancelled, the
invitation has not expired, fewer than the send's `max_reminders` went, the gap has passed, and the contacts' gate
still lets the customer be asked (an unsubscribe since the invitation stops its reminders). An answered, closed
or unreachable invitation has its next reminder cancelled; an expired one is marked and logged `expired`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from voxpop.collection.models import Invitation, Response
from voxpop.customers import contacts
from voxpop.customers.models import Customer
from voxpop.distribution import links
from voxpop.distribution.models import Send, SendInvitation
from voxpop.distribution.planning import compose
from voxpop.distribution.service import record_event
from voxpop.notify.models import OutgoingMail
from voxpop.notify.outbox import queue_mail
from voxpop.settings import Settings
from voxpop.surveys.models import Survey

OPEN_STATUSES = ("queued", "sent", "started")  # not answered, not failed, bounced, unsubscribed or expired


@dataclass
class ReminderReport:
    reminded: int = 0
    cancelled: int = 0
    expired: int = 0


def due_reminders(db_session: Session, settings: Settings, now: datetime, limit: int = 200) -> ReminderReport:
    """Expire what is past its date, then send the reminders that are due (in the caller's transaction)."""
    report = ReminderReport(expired=expire_invitations(db_session, now, limit=limit))
    rows = db_session.execute(
        select(SendInvitation, Invitation, Send, Survey)
        .join(Invitation, Invitation.id == SendInvitation.invitation_id)
        .join(Send, Send.id == SendInvitation.send_id).join(Survey, Survey.id == Send.survey_id)
        .where(SendInvitation.next_reminder_at <= now, SendInvitation.status.in_(OPEN_STATUSES))
        .order_by(SendInvitation.next_reminder_at, SendInvitation.id).limit(limit)).all()
    unreachable = contacts.reachable(db_session, [row.SendInvitation.customer_id for row in rows])
    for row in rows:
        reason = why_no_reminder(db_session, row.SendInvitation, row.Invitation, row.Send, row.Survey,
                                 unreachable.get(row.SendInvitation.customer_id), now)
        if reason == "wait":
            continue
        if reason:
            row.SendInvitation.next_reminder_at = None
            report.cancelled += 1
            if reason.startswith("not reachable"):
                record_event(db_session, send_id=row.Send.id, invitation_id=row.Invitation.id,
                             customer_id=row.SendInvitation.customer_id, kind="skipped",
                             detail=f"reminder not sent: {reason}", at=now)
            continue
        remind(db_session, row.SendInvitation, row.Invitation, row.Send, row.Survey, settings, now)
        report.reminded += 1
    return report


def why_no_reminder(db_session: Session, sent: SendInvitation, invitation: Invitation, send: Send, survey: Survey,
                    unreachable: str | None, now: datetime) -> str:
    """Why this invitation gets no reminder ("" when it does; "wait" when its first e-mail is still on its way)."""
    if db_session.scalar(select(exists().where(Response.invitation_id == invitation.id))):
        return "answered"
    if survey.status != "live":
        return f"the survey is {survey.status}"
    if send.status == "cancelled":
        return "the send was cancelled"
    if sent.reminders_sent >= send.max_reminders:
        return "all reminders sent"
    if invitation.expires_at is not None and invitation.expires_at <= now:
        return "expired"  # one tick expires at most `limit`; the rest must not be reminded while they wait
    if unreachable:
        return f"not reachable: {unreachable}"
    mail_status = db_session.scalar(select(OutgoingMail.status).where(OutgoingMail.id == sent.last_mail_id))
    if mail_status in ("queued", "sending"):
        return "wait"
    if mail_status not in ("sent", None):
        return f"the last e-mail {mail_status}"
    return ""


def remind(db_session: Session, sent: SendInvitation, invitation: Invitation, send: Send, survey: Survey,
           settings: Settings, now: datetime) -> None:
    """Queue the next reminder, with the same personal link as the first e-mail, and log it."""
    customer = db_session.get(Customer, sent.customer_id)
    token = links.invitation_token(settings, send_id=send.id, customer_id=sent.customer_id, occasion=sent.occasion)
    sent.reminders_sent += 1
    mail = compose(db_session, send=send, survey=survey, settings=settings, customer=customer, language=sent.language,
                   token=token, invitation=invitation, reminder=sent.reminders_sent)
    queued = queue_mail(db_session=db_session, kind="invitation.reminder", recipient=customer.email,
                        subject=mail.subject, body_text=mail.body_text, body_html=mail.body_html,
                        related=f"invitation:{invitation.id}", headers=links.unsubscribe_headers(settings, invitation.id))
    queued.created_at = queued.next_attempt_at = now
    db_session.flush()
    sent.last_mail_id = queued.id
    more = sent.reminders_sent < send.max_reminders
    sent.next_reminder_at = now + timedelta(days=send.reminder_gap_days) if more else None
    record_event(db_session, send_id=send.id, invitation_id=invitation.id, customer_id=sent.customer_id,
                 kind="reminded", detail=f"reminder {sent.reminders_sent} of {send.max_reminders}", at=now,
                 mail_id=queued.id)


def expire_invitations(db_session: Session, now: datetime, limit: int = 200) -> int:
    """Mark open, unanswered invitations past their expiry as expired (and log it); returns how many."""
    rows = db_session.execute(
        select(SendInvitation, Invitation.expires_at).join(Invitation, Invitation.id == SendInvitation.invitation_id)
        .where(SendInvitation.status.in_(OPEN_STATUSES), Invitation.expires_at <= now,
               ~exists().where(Response.invitation_id == SendInvitation.invitation_id))
        .order_by(SendInvitation.id).limit(limit)).all()
    for sent, expires_at in rows:
        sent.status, sent.next_reminder_at = "expired", None
        record_event(db_session, send_id=sent.send_id, invitation_id=sent.invitation_id,
                     customer_id=sent.customer_id, kind="expired", detail=None, at=expires_at)
    return len(rows)
