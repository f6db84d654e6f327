"""The follow-up survey: some days after a case closes, a customer who agreed to be contacted gets a single-use
invitation to the policy's follow-up survey. Their answer is what the loop metrics' "recovery" reads.

A step of the case worker sends the follow-ups that are due, each once: the case is claimed with a conditional
UPDATE (... WHERE followup_sent_at IS NULL) in the same transaction that makes the invitation and queues the
e-mail, so a second worker, or a second run, finds nothing left to send.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from voxpop.cases.models import Case
from voxpop.cases.service import add_event, get_policy
from voxpop.collection.models import Invitation
from voxpop.collection.service import create_invitation
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


def send_followups(db: Database, *, now: datetime, public_url: str, limit: int = 100) -> int:
    """One step of the case worker: invite the customers of closed cases whose follow-up is due (they agreed to
    be contacted and have an e-mail address) to the follow-up survey; returns how many were invited. While the
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
        for case_id, customer_id in due:
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
