"""Background work inside the web server: a thread that runs one step every few seconds until the server stops.

The comment worker, the case worker and the sender are each one of these. A step that fails (a database restart,
a full disk) is logged and tried again at the next tick: the server stays up. Stopping lets the step under way
finish, so no batch is cut in half; what it had not committed is rolled back and done again by the next start.

On PostgreSQL several server processes may run the same workers (`voxpop serve --workers N`, or several machines
on one database). Each step then runs in one process at a time: it first takes a session-level advisory lock named
after its worker on a connection it holds for the step, and a process that finds the lock taken skips that tick.
The lock goes with the connection, so a process that dies mid-step lets the next one in. SQLite has one machine and
one writer, and no advisory locks: there the step just runs.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import func, select

from voxpop.store.database import Database

STOP_TIMEOUT = 30  # seconds to wait for the step under way when the server stops


def lock_key(name: str) -> int:
    """The advisory lock's number for a worker's name: the same in every process and on every machine (Python's
    own hash() is salted per process), a signed 64-bit integer as PostgreSQL's bigint wants."""
    digest = hashlib.blake2b(f"voxpop worker {name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def one_process_at_a_time(db: Database, name: str) -> Iterator[bool]:
    """Yields True while this process holds the worker's lock, False when another process holds it (the step
    should skip this tick). Always True on SQLite."""
    if db.is_sqlite:
        yield True
        return
    key = lock_key(name)
    with db.engine.connect() as connection:
        held = bool(connection.scalar(select(func.pg_try_advisory_lock(key))))
        connection.commit()  # session-level: the lock outlives this transaction, and the connection is not left idle in one
        if not held:
            yield False
            return
        with _given_back(connection, key):
            yield True


@contextmanager
def doing_the_work_of(db: Database, name: str, *, on_wait: Callable[[], object] = lambda: None) -> Iterator[None]:
    """For a command that does a worker's job by hand (`voxpop text backfill`, `voxpop send run`): holds the
    worker's lock for the whole command, so the servers' workers skip their ticks meanwhile instead of doing the
    same rows beside it. When a server's step holds the lock, `on_wait` is called and the command waits for that
    step to end. Nothing to hold on SQLite."""
    if db.is_sqlite:
        yield
        return
    key = lock_key(name)
    with db.engine.connect() as connection:
        if not connection.scalar(select(func.pg_try_advisory_lock(key))):
            on_wait()
            connection.scalar(select(func.pg_advisory_lock(key)))
        connection.commit()
        with _given_back(connection, key):
            yield


@contextmanager
def _given_back(connection, key: int) -> Iterator[None]:
    try:
        yield
    finally:
        try:
            connection.scalar(select(func.pg_advisory_unlock(key)))
            connection.commit()
        except Exception:
            # A pooled connection must never keep the lock: closing it for good ends the session, and the lock.
            connection.invalidate()
            raise


class PeriodicWorker:
    """Runs `step(should_stop)` in a daemon thread, then waits `interval` seconds, until stopped; on PostgreSQL each
    step runs in one process at a time (see the module's docstring)."""

    def __init__(self, name: str, step: Callable[[Callable[[], bool]], object], *, db: Database, interval: float,
                 log: logging.Logger):
        self.name = name
        self.step = step
        self.db = db
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

    def run_step(self) -> bool:
        """One tick: the step, unless another process is running it; True if it ran."""
        with one_process_at_a_time(self.db, self.name) as ours:
            if ours:
                self.step(self._stop.is_set)
            return ours

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_step()
            except Exception:  # keep the server up and try again at the next tick
                self.log.exception("the %s worker failed; trying again in %s s", self.name, self.interval)
            self._stop.wait(self.interval)
