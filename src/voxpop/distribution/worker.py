"""The sends' background work in the web server: each tick runs the scheduled (and interrupted) sends in batches,
turns new purchases into events, invites for due triggered events, brings the send log up to date with the outbox
and the responses (distribution.delivery), and sends due reminders.

Each batch is one write transaction (invitations, send rows, log and outbox mails together), so stopping or a
crash loses at most the batch under way, which the next tick does again; the notify sender delivers the mails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import select

from voxpop.background import PeriodicWorker
from voxpop.distribution.delivery import sync_outcomes
from voxpop.distribution.models import Send
from voxpop.distribution.planning import run_send
from voxpop.distribution.reminders import due_reminders
from voxpop.distribution.triggers import due_triggered, pick_up_purchases
from voxpop.settings import Settings
from voxpop.store.base import utcnow
from voxpop.store.database import Database

log = logging.getLogger("voxpop.distribution")
BATCH = 200  # invitations per transaction: short enough that SQLite's one writer is never held for long
PURCHASES_EVERY = 60.0  # seconds between looks at the transactions for new purchases


def send_worker(db: Database, settings: Settings) -> PeriodicWorker:
    """The thread that runs sends, triggers and reminders (the lead starts it beside the case worker)."""
    next_purchases = [0.0]

    def step(should_stop: Callable[[], bool]) -> None:
        # Purchases are read from the whole transactions table, so once a minute, not every tick.
        purchases = time.monotonic() >= next_purchases[0]
        if purchases:
            next_purchases[0] = time.monotonic() + PURCHASES_EVERY
        send_step(db, settings, should_stop, purchases=purchases)

    return PeriodicWorker("sends", step, db=db, interval=settings.case_worker_interval, log=log)


def send_step(db: Database, settings: Settings, should_stop: Callable[[], bool] = lambda: False, *,
              purchases: bool = True) -> None:
    """One tick: due sends to the end (batch by batch), then triggers, then reminders."""
    for key in due_send_keys(db):
        while not should_stop() and run_batch(db, settings, key):
            pass
    if should_stop():
        return
    if purchases:
        with db.write() as db_session:
            pick_up_purchases(db_session, now=utcnow(), zone=settings.timezone)
    with db.write() as db_session:
        due_triggered(db_session, settings, utcnow(), limit=BATCH)
    with db.write() as db_session:  # the send log catches up first, so a reminder sees the latest answers
        sync_outcomes(db_session, now=utcnow(), limit=BATCH)
    with db.write() as db_session:
        due_reminders(db_session, settings, utcnow(), limit=BATCH)


def due_send_keys(db: Database) -> list[str]:
    """Sends scheduled for now or earlier, and sends a stop or crash interrupted."""
    now = utcnow()
    with db.read() as db_session:
        return list(db_session.scalars(select(Send.key).where(
            ((Send.status == "scheduled") & (Send.scheduled_for <= now)) | (Send.status == "sending"))
            .order_by(Send.id)))


def run_batch(db: Database, settings: Settings, key: str) -> bool:
    """One batch of a send; True while members remain."""
    with db.write() as db_session:
        send = db_session.scalar(select(Send).where(Send.key == key))
        if send is None or send.status not in ("scheduled", "sending") or "trigger" in (send.audience or {}):
            return False
        report = run_send(db_session, send, settings, utcnow(), limit=BATCH)
        if report.problems:
            log.debug("send %s waits: %s", key, "; ".join(report.problems))  # the send's page says so too
            return False
        return report.remaining > 0
