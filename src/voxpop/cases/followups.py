"""The follow-up survey: some days after a case closes, a customer who agreed to be contacted gets a single-use
invitation to the policy's follow-up survey. Their answer is what the loop metrics' "recovery" reads.

A step of the case worker sends the follow-ups that are due, each once: the case is claimed with a conditional
UPDATE (... WHERE followup_sent_at IS NULL) in the same transaction that makes the invitation and queues the
e-mail, so a second worker, or a second run, finds nothing left to send.

Every follow-up passes the contacts gate (`voxpop.customers.contacts.reachable`) first: a customer whose address
is suppressed (unsubscribed, bounced, complained) or who withdrew consent gets none, whatever they said on the
case; the case's timeline says why, and the follow-up is no longer due.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from voxpop.cases.models import Case
from voxpop.cases.service import add_event, get_policy
from voxpop.collection.models import Invitation
from voxpop.collection.service import create_invitation
from voxpop.customers.contacts import reachable
from voxpop.customers.models import Customer
from voxpop.notify.outbox import queue_mail
from voxpop.store.database import Database
from voxpop.store.ids import token_hash
from voxpop.surveys.models import Survey

VALID_DAYS = 30  # how long the invitation's link works


def survey_link(*, public_url: str, survey: Survey, token: str) -> str:
    """The invitation's link, as `voxpop survey invite` prints it."""
    return f"{public_url.rstrip('/')}/s/{survey.key}?t={token}"


def followup_text(link: str) -> tuple[str, str]:
    """The e-mail's subject and body."""
    return ("How are we doing now?",
            "Hello,\n\nYou told us recently about a problem, and we followed it up with you. Would you tell us how "
            f"we are doing now? It takes a minute:\n\n{link}\n\nThe link works once, for {VALID_DAYS} days.\n")


def claim(*, db_session: Session, case_id: int, now: datetime) -> bool:
    """Mark the case's follow-up sent if nobody has yet; True if this call did."""
    return db_session.execute(
        update(Case).where(Case.id == case_id, Case.followup_sent_at.is_(None), Case.status == "closed")
        .values(followup_sent_at=now).execution_options(synchronize_session=False)).rowcount == 1


def skip(*, db_session: Session, case_id: int, why: str, now: datetime) -> None:
    """The follow-up will not go (the contacts gate says no): it is no longer due, and the timeline says why. Claimed
    like a send, so a second worker does not record the skip twice."""
    skipped = db_session.execute(
        update(Case).where(Case.id == case_id, Case.followup_sent_at.is_(None), Case.followup_due_at.is_not(None),
                           Case.status == "closed")
        .values(followup_due_at=None).execution_options(synchronize_session=False)).rowcount == 1
    if skipped:
        add_event(db_session=db_session, case=db_session.get(Case, case_id), kind="followup_skipped", at=now,
                  note=f"Follow-up survey not sent: {why}", reason=why)


def send_followups(db: Database, *, now: datetime, public_url: str, limit: int = 100) -> int:
    """One step of the case worker: invite the customers of closed cases whose follow-up is due (they agreed to
    be contacted and have an e-mail address) to the follow-up survey; returns how many were invited. Those the
    contacts gate refuses (suppressed address, consent withdrawn) are skipped, the case saying why. While the
    policy names no live follow-up survey, nothing is sent and the follow-ups wait."""
    sent = 0
    with db.write() as db_session:
        policy = get_policy(db_session=db_session)
        survey = db_session.get(Survey, policy.followup_survey_id) if policy.followup_survey_id else None
        if survey is None or survey.status != "live":
            return 0
        due = db_session.execute(
            select(Case.id, Customer.id).join(Customer, Customer.id == Case.customer_id)
            .where(Case.status == "closed", Case.followup_due_at <= now, Case.followup_sent_at.is_(None),
                   Case.contact_consent.is_(True), Customer.email.is_not(None), Customer.email != "")
            .order_by(Case.followup_due_at, Case.id).limit(limit)).all()
        refused = reachable(db_session, [customer_id for _, customer_id in due])
        for case_id, customer_id in due:
            if refused[customer_id] is not None:
                skip(db_session=db_session, case_id=case_id, why=refused[customer_id], now=now)
                continue
            if not claim(db_session=db_session, case_id=case_id, now=now):
                continue
            customer = db_session.get(Customer, customer_id)
            token = create_invitation(db_session=db_session, survey=survey, customer=customer, valid_days=VALID_DAYS)
            invitation_id = db_session.scalar(select(Invitation.id).where(Invitation.token_hash == token_hash(token)))
            case = db_session.get(Case, case_id)
            case.followup_invitation_id = invitation_id
            subject, body = followup_text(survey_link(public_url=public_url, survey=survey, token=token))
            queue_mail(db_session=db_session, kind="case.followup", recipient=customer.email, subject=subject,
                       body_text=body, related=f"case:{case_id}")
            add_event(db_session=db_session, case=case, kind="followup_sent", at=now, survey=survey.key,
                      invitation_id=invitation_id)
            sent += 1
    return sent
