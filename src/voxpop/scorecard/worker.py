"""The scheduled scorecard deliveries in the web server: a thread that, once a minute, sends the schedules whose run
has come (scorecard.delivery), each in a transaction of its own.

One schedule at a time, its PDF rendered ahead in a read transaction: evaluating and laying out a scorecard takes
seconds, and SQLite's single writer must not wait on it; the write that queues the e-mails is short. A schedule
whose run fails (a scorecard that no longer evaluates) is logged and tried again at the
next tick, and does not hold back the others. The e-mails it queues are sent by the case worker's sending thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from voxpop.background import PeriodicWorker
from voxpop.scorecard.delivery import due_schedules, render_ahead, run_due_deliveries
from voxpop.scorecard.report import scorecard_pdf
from voxpop.settings import Settings
from voxpop.store.base import utcnow
from voxpop.store.database import Database

log = logging.getLogger("voxpop.scorecard")
INTERVAL = 60.0  # seconds between looks: runs are weekly or monthly, at 07:00


def deliver_due(db: Database, settings: Settings, should_stop: Callable[[], bool] = lambda: False) -> int:
    """Send every delivery that is due, one schedule per transaction; returns how many were sent."""
    with db.read() as db_session:
        due = due_schedules(db_session=db_session, now=utcnow())
    sent = 0
    for schedule_id in due:
        if should_stop():
            break
        options = {"now": utcnow(), "zone": settings.timezone, "min_base": settings.min_base}
        try:
            render = render_ahead(db, schedule_id=schedule_id, render=scorecard_pdf, **options)
            with db.write() as db_session:  # due still? (another server may have sent it meanwhile)
                sent += len(run_due_deliveries(db_session=db_session, render=render, public_url=settings.public_url,
                                               schedule_id=schedule_id, **options))
        except Exception:  # noqa: BLE001 (one schedule's failure must not stop the others)
            log.exception("the scorecard delivery %s failed; it is tried again in %s s", schedule_id, INTERVAL)
    return sent


def delivery_worker(db: Database, settings: Settings, *, interval: float = INTERVAL) -> PeriodicWorker:
    """The thread that runs the due deliveries; the app starts it beside the case worker and stops it with it."""
    return PeriodicWorker("scorecard-delivery", lambda should_stop: deliver_due(db, settings, should_stop),
                          db=db, interval=interval, log=log)
