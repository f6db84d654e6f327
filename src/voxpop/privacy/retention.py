"""Retention: responses older than VOXPOP_RETENTION_MONTHS are anonymised by a background worker.

Anonymising a response deletes its free-text answers (with their analyses and themes) and cuts its links to a
customer: the customer column and the invitation (which names the customer), whose link is expired first so it
cannot answer again. Its scores, choices, attributes and
time stay, so the metrics and the rollups do not move. A response needs it while it is older than the cut-off and
still has a customer, an invitation or a free-text answer; so a run is idempotent, and the dry run counts exactly
what a run would touch. Each batch is one transaction with its audit entry (actor: none).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session

from voxpop.accounts.service import audit
from voxpop.background import PeriodicWorker
from voxpop.cases.models import CaseTrigger
from voxpop.collection.models import Answer, Invitation, Response
from voxpop.privacy.erasure import free_text, remove_free_text
from voxpop.settings import Settings
from voxpop.store.base import utcnow
from voxpop.store.database import Database

log = logging.getLogger("voxpop.privacy")
INTERVAL = 3600.0  # seconds between runs: the cut-off moves by the day, an hour late is no harm
BATCH = 500  # responses per transaction, so SQLite's one writer is never held for long


@dataclass(frozen=True)
class RetentionReport:
    """What a retention run did (or, in a dry run, would do)."""

    cutoff: datetime
    responses: int
    text_answers: int
    customer_links: int
    dry_run: bool = False

    def sentence(self) -> str:
        """The run in words."""
        verb = "would be" if self.dry_run else "were"
        return (f"{self.responses:,} responses submitted before {self.cutoff.date().isoformat()} {verb} anonymised: "
                f"{self.text_answers:,} free-text answers deleted, {self.customer_links:,} links to a customer cut")

    def details(self) -> dict:
        """The counts as the audit log records them."""
        return {"cutoff": self.cutoff.isoformat(), "responses": self.responses, "text_answers": self.text_answers,
                "customer_links": self.customer_links}


def cutoff_for(now: datetime, months: int) -> datetime:
    """The moment `months` calendar months before `now` (the 31st becomes the month's last day)."""
    total = now.year * 12 + now.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    next_month = datetime(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - datetime(year, month, 1)).days
    return now.replace(year=year, month=month, day=min(now.day, last_day))


def _has_text(response_id_column, words):
    return exists().where(Answer.response_id == response_id_column, words)


def _due(cutoff: datetime, words):
    """Responses older than the cut-off that still hold free text (`words`: erasure.free_text) or a link to a
    customer."""
    return select(Response.id).where(
        Response.submitted_at < cutoff,
        or_(Response.customer_id.is_not(None), Response.invitation_id.is_not(None), _has_text(Response.id, words)))


def expire_answered_invitations(db_session: Session, response_ids: list[int], *, now: datetime | None = None) -> int:
    """Expire the invitations these responses answered, before the responses let go of them: the flow refuses a
    second answer only by finding a response carrying the invitation, so an unlinked, unexpired link would record
    a new response (linked to the customer again). Returns how many were expired."""
    now = now or utcnow()
    answered = select(Response.invitation_id).where(Response.id.in_(response_ids), Response.invitation_id.is_not(None))
    result = db_session.execute(update(Invitation).where(Invitation.id.in_(answered),
                                                         or_(Invitation.expires_at.is_(None), Invitation.expires_at > now))
                                .values(expires_at=now).execution_options(synchronize_session=False))
    return max(result.rowcount or 0, 0)


def plan_retention(db_session: Session, *, cutoff: datetime) -> RetentionReport:
    """The dry run: what a run at this cut-off would touch, counted by the conditions it uses (every old free-text
    answer and every old link is due, so each is counted on its own, in one pass)."""
    words = free_text(db_session)
    responses = db_session.scalar(select(func.count()).select_from(_due(cutoff, words).subquery())) or 0
    text_answers = db_session.scalar(select(func.count()).select_from(Answer).join(Response, Response.id == Answer.response_id)
                                     .where(words, Response.submitted_at < cutoff)) or 0
    links = db_session.scalar(select(func.count()).select_from(Response).where(
        Response.submitted_at < cutoff, or_(Response.customer_id.is_not(None), Response.invitation_id.is_not(None))))
    return RetentionReport(cutoff=cutoff, responses=responses, text_answers=text_answers, customer_links=links or 0,
                           dry_run=True)


def due_after(db_session: Session, *, cutoff: datetime, after_id: int, limit: int = BATCH) -> list[int]:
    """The next `limit` responses due at this cut-off, by id after `after_id`: read outside the write transaction,
    so the scan of the old responses never holds SQLite's one writer."""
    return list(db_session.scalars(_due(cutoff, free_text(db_session)).where(Response.id > after_id)
                                   .order_by(Response.id).limit(limit)))


def anonymise_batch(db_session: Session, *, cutoff: datetime, ids: list[int], via: str = "worker") -> RetentionReport:
    """Anonymise those of `ids` still due at this cut-off, and audit it, in the caller's transaction."""
    # Claimed, so two servers on PostgreSQL anonymise (and audit) each response once.
    ids = list(db_session.scalars(_due(cutoff, free_text(db_session)).where(Response.id.in_(ids)).order_by(Response.id)
                                  .with_for_update(of=Response, skip_locked=True)))
    if not ids:
        return RetentionReport(cutoff=cutoff, responses=0, text_answers=0, customer_links=0)
    text_answers, _ = remove_free_text(db_session, ids)
    links = db_session.scalar(select(func.count()).select_from(Response).where(
        Response.id.in_(ids), or_(Response.customer_id.is_not(None), Response.invitation_id.is_not(None)))) or 0
    db_session.execute(update(CaseTrigger).where(CaseTrigger.response_id.in_(ids)).values(customer_id=None)
                       .execution_options(synchronize_session=False))
    expire_answered_invitations(db_session, ids)
    db_session.execute(update(Response).where(Response.id.in_(ids)).values(customer_id=None, invitation_id=None)
                       .execution_options(synchronize_session=False))
    report = RetentionReport(cutoff=cutoff, responses=len(ids), text_answers=text_answers, customer_links=links)
    audit(db_session=db_session, actor=None, action="privacy.retention", target="responses", via=via, **report.details())
    return report


def apply_retention(db: Database, *, months: int, now: datetime | None = None, dry_run: bool = False,
                    should_stop: Callable[[], bool] = lambda: False, via: str = "worker") -> RetentionReport:
    """Anonymise every response older than `months` months, batch by batch; with `dry_run`, only count them."""
    cutoff = cutoff_for(now or utcnow(), months)
    if dry_run:
        with db.read() as db_session:
            return plan_retention(db_session, cutoff=cutoff)
    totals, after_id = [0, 0, 0], 0
    while not should_stop():
        with db.read() as db_session:
            ids = due_after(db_session, cutoff=cutoff, after_id=after_id, limit=BATCH)
        if not ids:
            break
        with db.write() as db_session:
            report = anonymise_batch(db_session, cutoff=cutoff, ids=ids, via=via)
        after_id = ids[-1]
        totals = [totals[0] + report.responses, totals[1] + report.text_answers, totals[2] + report.customer_links]
    if totals[0]:
        log.info("retention (%s): %s responses anonymised", via, totals[0])
    return RetentionReport(cutoff=cutoff, responses=totals[0], text_answers=totals[1], customer_links=totals[2])


def retention_worker(db: Database, settings: Settings, *, interval: float = INTERVAL) -> PeriodicWorker:
    """The thread that applies the retention setting once an hour (the app starts it when the setting is set)."""
    months = settings.retention_months
    if months is None:
        raise ValueError("retention_months is not set: there is nothing for the retention worker to do")
    return PeriodicWorker("retention", lambda should_stop: apply_retention(db, months=months, should_stop=should_stop),
                          db=db, interval=interval, log=log)
