"""Background work inside the web server: a thread that runs one step every few seconds until the server stops.

The comment worker, the case worker and the sender are each one of these. A step that fails (a database restart,
a full disk) is logged and tried again at the next tick: the server stays up. Stopping lets the step under way
finish, so no batch is cut in half; what it had not committed is rolled back and done again by the next start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

STOP_TIMEOUT = 30  # seconds to wait for the step under way when the server stops


class PeriodicWorker:
    """Runs `step(should_stop)` in a daemon thread, then waits `interval` seconds, until stopped."""

    def __init__(self, name: str, step: Callable[[Callable[[], bool]], object], *, interval: float,
                 log: logging.Logger):
        self.name = name
        self.step = step
        self.interval = interval
        self.log = log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"voxpop-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Let the step under way finish, then end the thread."""
        self._stop.set()
        self._thread.join(STOP_TIMEOUT)
        if self._thread.is_alive():
            self.log.warning("the %s worker did not stop within %s s; its batch is rolled back", self.name, STOP_TIMEOUT)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step(self._stop.is_set)
            except Exception:  # keep the server up and try again at the next tick
                self.log.exception("the %s worker failed; trying again in %s s", self.name, self.interval)
            self._stop.wait(self.interval)
