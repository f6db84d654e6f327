"""The closed loop's background work in the web server: one thread runs the case rules on new responses, watches
deadlines, sends the follow-up surveys and watches the alert rules; another sends queued e-mail and webhooks, so a
slow mail server never delays a case.

Each step is a plain function of the database and the clock (tests call them on a set clock); this module only
runs them. Alert charts are monthly figures, so they are looked at every few minutes, not every tick.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from voxpop.background import PeriodicWorker
from voxpop.cases.alerts import watch_alerts
from voxpop.cases.deadlines import watch_deadlines
from voxpop.cases.followups import send_followups
from voxpop.cases.matching import Cursors, run_rules
from voxpop.notify.mail import send_due_mail
from voxpop.notify.webhooks import deliver_due
from voxpop.settings import Settings
from voxpop.store.base import utcnow
from voxpop.store.database import Database

log = logging.getLogger("voxpop.cases")
RULES_BATCH = 500  # responses per rule and tick: a backlog after a restart is worked off in slices
SEND_BATCH = 50
ALERTS_EVERY = 300.0  # seconds between looks at the alert rules' control charts


class CaseWorker:
    """Runs the case steps and the sending steps in two threads of the web server."""

    def __init__(self, db: Database, settings: Settings):
        self.db = db
        self.settings = settings
        self._alerts_due = 0.0
        self._rule_cursors = Cursors()  # each tick reads only responses newer than the last (see Cursors)
        self._cases = PeriodicWorker("cases", self._case_step, db=db, interval=settings.case_worker_interval, log=log)
        self._sending = PeriodicWorker("sending", self._send_step, db=db, interval=settings.case_worker_interval, log=log)

    def start(self) -> None:
        self._cases.start()
        self._sending.start()

    def stop(self) -> None:
        self._cases.stop()
        self._sending.stop()

    def _case_step(self, should_stop: Callable[[], bool]) -> None:
        zone, public_url = self.settings.timezone, self.settings.public_url
        run_rules(self.db, now=utcnow(), zone=zone, public_url=public_url, limit=RULES_BATCH,
                  cursors=self._rule_cursors)
        if should_stop():
            return
        watch_deadlines(self.db, now=utcnow(), zone=zone, public_url=public_url)
        send_followups(self.db, now=utcnow(), public_url=public_url)
        if time.monotonic() >= self._alerts_due and not should_stop():
            self._alerts_due = time.monotonic() + ALERTS_EVERY
            watch_alerts(self.db, now=utcnow(), zone=zone, public_url=public_url, min_base=self.settings.min_base)

    def _send_step(self, should_stop: Callable[[], bool]) -> None:
        send_due_mail(self.db, settings=self.settings, now=utcnow(), limit=SEND_BATCH)
        if not should_stop():
            deliver_due(self.db, now=utcnow(), limit=SEND_BATCH)
