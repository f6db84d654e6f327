"""Two people moving the same case at the same moment on PostgreSQL: the case's row is locked by the first, so the
second's check sees the first's move, and the stored history stays a chain of allowed moves."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text

from tests.cases.test_views import workspace
from voxpop.cases import queues, service
from voxpop.cases.models import CaseEvent


def _someone_waits_for_a_lock(db) -> bool:
    """Whether another connection is blocked on a row lock now (PostgreSQL's own view of its backends)."""
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                       "AND datname = current_database()")).scalar_one() > 0


def test_two_moves_at_once_are_made_one_after_the_other(db):
    if db.is_sqlite:
        pytest.skip("SQLite has a single writer: two changes never overlap there")
    ids = workspace(db)
    agent = queues.Reader(id=ids["agent"], role="agent", department_id=ids["digital"])
    refused: list[str] = []

    def second_person():
        try:
            with db.write() as db_session:
                case = queues.visible_case(db_session=db_session, user=agent, case_id=ids["case"], for_update=True)
                service.change_status(db_session=db_session, case=case, to="resolved", actor=None, notify=False)
        except service.CaseError as exc:
            refused.append(str(exc))

    with db.write() as db_session:
        case = queues.visible_case(db_session=db_session, user=agent, case_id=ids["case"], for_update=True)
        service.change_status(db_session=db_session, case=case, to="in_progress", actor=None, notify=False)
        other = threading.Thread(target=second_person)
        other.start()
        # Wait (bounded) until the second person's transaction is blocked on the row, so the two really overlap.
        for _ in range(1000):
            if _someone_waits_for_a_lock(db):
                break
            time.sleep(0.01)
        else:
            pytest.fail("the second transaction never waited for the case's row")
    other.join()
    assert refused == []
    with db.read() as db_session:
        moves = db_session.execute(select(CaseEvent.from_status, CaseEvent.to_status)
                                   .where(CaseEvent.case_id == ids["case"], CaseEvent.to_status.is_not(None))
                                   .order_by(CaseEvent.id)).all()
    assert [tuple(move) for move in moves] == [(None, "new"), ("new", "in_progress"), ("in_progress", "resolved")]
