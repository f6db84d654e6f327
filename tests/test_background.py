"""Background steps run in one process at a time on PostgreSQL: a step whose advisory lock another connection (in
production: another server process) holds is skipped for that tick, and the lock is given back after the step,
also when the step fails. SQLite has one writer and no advisory locks: there a step always runs."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import func, select, text

from voxpop.background import PeriodicWorker, doing_the_work_of, lock_key, one_process_at_a_time

log = logging.getLogger("tests.background")


def held_elsewhere(db, name: str):
    """A connection of its own holding the worker's lock, as another server process would."""
    connection = db.engine.connect()
    assert connection.scalar(select(func.pg_try_advisory_lock(lock_key(name))))
    connection.commit()
    return connection


def test_the_lock_key_is_fixed_per_name():
    assert lock_key("comments") == lock_key("comments") != lock_key("cases")
    assert -2**63 <= lock_key("comments") < 2**63
    assert lock_key("comments") == 6593297464990970822  # the same in every process: Python's hash() is salted


def test_a_step_is_skipped_while_another_process_runs_it(db):
    ran = []
    worker = PeriodicWorker("comments", lambda should_stop: ran.append(1), db=db, interval=60, log=log)
    if db.is_sqlite:
        assert worker.run_step() and ran == [1]
        return
    other = held_elsewhere(db, "comments")
    try:
        assert worker.run_step() is False and ran == []
        # another worker's lock is another name: it runs
        assert PeriodicWorker("cases", lambda should_stop: ran.append(2), db=db, interval=60, log=log).run_step()
        assert ran == [2]
    finally:
        other.invalidate()  # the other process ends: its session, and the lock, go with it
    assert worker.run_step() and ran == [2, 1]


def test_the_lock_is_held_for_the_step_and_given_back_after_it_even_when_it_fails(db):
    if db.is_sqlite:
        pytest.skip("SQLite has no advisory locks: a step there always runs")
    seen = []

    def step(should_stop):
        with one_process_at_a_time(db, "sends") as ours:  # what a second process finds while the step runs
            seen.append(ours)
        raise RuntimeError("the mail server went away")

    worker = PeriodicWorker("sends", step, db=db, interval=60, log=log)
    with pytest.raises(RuntimeError):
        worker.run_step()
    assert seen == [False]
    with one_process_at_a_time(db, "sends") as ours:
        assert ours
    with db.read() as db_session:  # no lock left behind on any pooled connection
        assert db_session.scalar(text(
            "SELECT count(*) FROM pg_locks JOIN pg_database ON pg_database.oid = pg_locks.database"
            " WHERE locktype = 'advisory' AND datname = current_database()")) == 0


def test_a_command_doing_a_workers_job_waits_for_the_step_under_way_then_holds_the_lock(db):
    """`voxpop text backfill` and `voxpop send run|remind|triggers` hold the worker's lock for the whole command:
    they wait for a server's step that holds it, and the servers' steps skip their ticks while the command runs."""
    if db.is_sqlite:
        with doing_the_work_of(db, "comments", on_wait=lambda: pytest.fail("nothing to wait for on SQLite")):
            pass
        return
    other = held_elsewhere(db, "comments")
    waited = []

    def server_step_ends():  # called once the command found the lock taken, before it waits: the step ends later
        waited.append(True)
        threading.Timer(0.2, other.invalidate).start()  # its session, and the lock, go

    with doing_the_work_of(db, "comments", on_wait=server_step_ends):
        assert waited == [True]
        ran = []
        assert PeriodicWorker("comments", lambda should_stop: ran.append(1), db=db, interval=60,
                              log=log).run_step() is False and ran == []
    with one_process_at_a_time(db, "comments") as ours:  # given back when the command ends
        assert ours
