"""Keeping the comments analysed: the catch-up loop, and the web server's worker thread that runs it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from voxpop.background import PeriodicWorker
from voxpop.store.database import Database
from voxpop.text.service import analyse_pending, forget_originals, retag_outdated

log = logging.getLogger("voxpop.text")
# New answers are found above the highest id already seen. On PostgreSQL a transaction holding a lower id can
# commit after a higher one, so every this many polls the worker looks at all answers again.
FULL_SWEEP_EVERY = 60


def catch_up(db: Database, *, keep_original: bool, after_id: int = 0, should_stop: Callable[[], bool] = lambda: False,
             on_batch: Callable[[int], None] | None = None) -> int:
    """Analyse pending comments, batch after batch, until none is left, then re-tag those an older codebook
    version tagged; returns the highest new answer id seen."""
    while not should_stop():
        batch = analyse_pending(db, keep_original=keep_original, after_id=after_id)
        if batch.found == 0:
            break
        after_id = max(after_id, batch.last_new_id or 0)
        if on_batch is not None:
            on_batch(batch.found)
    retag_after = 0
    while not should_stop():
        retagged, retag_after = retag_outdated(db, after_id=retag_after)
        if retagged == 0:
            break
        if on_batch is not None:
            on_batch(retagged)
    return after_id


class CommentWorker:
    """Analyses new comments in a background thread while the web server runs; submissions never wait for it."""

    def __init__(self, db: Database, *, keep_original: bool, interval: float):
        self.db = db
        self.keep_original = keep_original
        self._after_id, self._polls = 0, 0
        self._worker = PeriodicWorker("comments", self._step, db=db, interval=interval, log=log)

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        """Let the batch under way finish, then end the thread."""
        self._worker.stop()

    def _step(self, should_stop: Callable[[], bool]) -> None:
        self._polls += 1
        if (self._polls - 1) % FULL_SWEEP_EVERY == 0:
            self._after_id = 0
            if not self.keep_original:
                forget_originals(self.db)
        self._after_id = catch_up(self.db, keep_original=self.keep_original, after_id=self._after_id,
                                  should_stop=should_stop)
