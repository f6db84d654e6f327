"""Keeping the turns' themes current: after the codebook changes, the comment worker re-tags the comments, and this
worker the turns of focus groups and interviews (voxpop sources reanalyse does the same on request)."""

from __future__ import annotations

import logging

from voxpop.background import PeriodicWorker
from voxpop.qualitative.service import count_outdated, refresh_turns
from voxpop.settings import Settings
from voxpop.store.database import Database

log = logging.getLogger("voxpop.qualitative")


def refresh_outdated(db: Database) -> int:
    """Analyse again the turns an older codebook or pipeline analysed; returns how many. Looks first, so an idle
    tick takes no write lock."""
    with db.read() as db_session:
        if count_outdated(db_session) == 0:
            return 0
    with db.write() as db_session:
        return refresh_turns(db_session)


def turn_worker(db: Database, settings: Settings) -> PeriodicWorker:
    """The thread that re-tags turns; the app can start it beside the comment worker, at the same interval."""
    return PeriodicWorker("turns", lambda should_stop: refresh_outdated(db), db=db, interval=settings.text_worker_interval,
                          log=log)
