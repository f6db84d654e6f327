"""A hypothesis state machine drives random sequences of status changes, contacts, assignments and reopenings
through cases.service against a real database, and checks after every step that the stored history holds only
moves the workflow allows, that the case's timestamps are in order, and that a refused change changed nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from voxpop.accounts import service as accounts
from voxpop.accounts.models import Department
from voxpop.cases import service
from voxpop.cases.models import Case, CaseEvent, RootCause
from voxpop.cases.statuses import MOVES, STATUSES

START = datetime(2026, 3, 2, 8, 30, tzinfo=timezone.utc)
STATE = ("status", "owner_id", "department_id", "first_contact_at", "resolved_at", "closed_at", "root_cause_id",
         "reopened", "updated_at")


def staff(db) -> dict:
    """A department with two agents and a root cause, made once per test."""
    with db.write() as db_session:
        department = Department(name="Care")
        cause = RootCause(key="late", name="Late delivery", active=True)
        db_session.add_all([department, cause])
        db_session.flush()
        agents = [accounts.create_user(db_session=db_session, email=f"agent{i}@example.com", password=None,
                                       role="agent", department_id=department.id).id for i in (1, 2)]
        return {"department": department.id, "cause": cause.id, "agents": agents}


def case_machine(db, made: dict):
    class CaseWorkflow(RuleBasedStateMachine):
        """One case at a time, moved at random; the model is only what MOVES says."""

        @initialize()
        def open(self):
            self.now = START
            with db.write() as db_session:
                case = service.open_case(db_session=db_session, title="A detractor", department_id=made["department"],
                                         opened_at=self.now, notify=False)
                self.case_id = case.id

        def tick(self, minutes: int) -> datetime:
            self.now += timedelta(minutes=minutes)
            return self.now

        def snapshot(self) -> tuple:
            with db.read() as db_session:
                case = db_session.get(Case, self.case_id)
                events = db_session.scalar(select(func.count()).select_from(CaseEvent)
                                           .where(CaseEvent.case_id == self.case_id))
                return tuple(getattr(case, name) for name in STATE) + (events,)

        def attempt(self, change) -> bool:
            """Make the change; if it is refused, it must say so with CaseError and leave the case as it was."""
            before = self.snapshot()
            try:
                with db.write() as db_session:
                    change(db_session, db_session.get(Case, self.case_id))
            except service.CaseError:
                assert self.snapshot() == before
                return False
            return True

        @rule(to=st.sampled_from(STATUSES), complete=st.booleans(), minutes=st.integers(1, 600))
        def move(self, to, complete, minutes):
            at = self.tick(minutes)
            current = self.snapshot()[0]
            closing = {"root_cause_id": made["cause"], "action_taken": "Refunded", "issue_resolved": True} \
                if complete else {}
            made_it = self.attempt(lambda db_session, case: service.change_status(
                db_session=db_session, case=case, to=to, actor=None, at=at, notify=False, **closing))
            allowed = to in MOVES[current] and (to != "closed" or complete)
            assert made_it == allowed, (current, to, complete)

        @rule(kind=st.sampled_from(service.KINDS_OF_CONTACT), minutes=st.integers(1, 600))
        def contact(self, kind, minutes):
            at = self.tick(minutes)
            current = self.snapshot()[0]
            made_it = self.attempt(lambda db_session, case: service.log_contact(
                db_session=db_session, case=case, kind=kind, note="spoke", actor=None, at=at, notify=False))
            assert made_it == (current != "closed")

        @rule(owner=st.sampled_from([0, 1, None]), reason=st.booleans(), minutes=st.integers(1, 600))
        def assign(self, owner, reason, minutes):
            at = self.tick(minutes)
            owner_id = None if owner is None else made["agents"][owner]
            previous = self.snapshot()[1]
            made_it = self.attempt(lambda db_session, case: service.assign(
                db_session=db_session, case=case, owner_id=owner_id, department_id=made["department"], actor=None,
                reason="cover" if reason else None, at=at, notify=False))
            assert made_it == (reason or previous is None or previous == owner_id)

        @invariant()
        def history_holds_only_allowed_moves(self):
            with db.read() as db_session:
                case = db_session.get(Case, self.case_id)
                moves = db_session.execute(select(CaseEvent.kind, CaseEvent.from_status, CaseEvent.to_status)
                                           .where(CaseEvent.case_id == self.case_id,
                                                  CaseEvent.to_status.is_not(None))
                                           .order_by(CaseEvent.id)).all()
                status = None
                for kind, before, after in moves:
                    if kind == "opened":
                        assert (before, after) == (None, "new")
                    else:
                        assert before == status and after in MOVES[before], (before, after)
                    status = after
                assert status == case.status
                assert case.reopened == sum(kind == "reopened" for kind, _, _ in moves)
                # A call after the case was resolved is still the first contact, so only these two are ordered.
                stamps = [case.opened_at, case.resolved_at, case.closed_at]
                present = [stamp for stamp in stamps if stamp is not None]
                assert present == sorted(present), stamps
                assert case.first_contact_at is None or case.first_contact_at >= case.opened_at
                # First contact is a logged e-mail, call or meeting, never made up by resolving the case.
                contacts = db_session.scalar(select(func.count()).select_from(CaseEvent).where(
                    CaseEvent.case_id == self.case_id, CaseEvent.kind.in_(("email", "call", "meeting"))))
                assert (case.first_contact_at is not None) == (contacts > 0)
                if case.status == "closed":
                    assert case.root_cause_id is not None and case.closed_at is not None
                    assert case.resolved_at is not None and case.issue_resolved is not None
                if case.status in ("resolved", "closed"):
                    assert case.resolved_at is not None
                else:
                    assert case.resolved_at is None and case.closed_at is None

    return CaseWorkflow


def test_no_illegal_transition_is_ever_stored(db):
    made = staff(db)
    run_state_machine_as_test(case_machine(db, made), settings=settings(
        max_examples=50, stateful_step_count=30, deadline=None, suppress_health_check=list(HealthCheck)))
