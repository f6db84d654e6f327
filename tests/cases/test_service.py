"""cases.service.change_status on the cases the reviewer found: reopening while a newer case of the same customer
and rule is open, resolved at first contact counted from the logged contacts, a reopened case's new resolve
deadline, and closing with a root cause no longer in use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from voxpop.cases import service
from voxpop.cases.models import Case, CasePolicy, CaseRule, RootCause
from voxpop.customers.models import Customer

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC


def setup(db) -> dict[str, int]:
    with db.write() as db_session:
        customer = Customer(external_id="C-1")
        rule = CaseRule(key="detractors", name="Detractors")
        cause = RootCause(key="late-delivery", name="Late delivery", active=True)
        old_cause = RootCause(key="old", name="Old cause", active=False)
        db_session.add_all([customer, rule, cause, old_cause])
        db_session.flush()
        return {"customer": customer.id, "rule": rule.id, "cause": cause.id, "old_cause": old_cause.id}


def open_one(db, ids, *, at: datetime = MONDAY) -> int:
    with db.write() as db_session:
        return service.open_case(db_session=db_session, title="Detractor", customer_id=ids["customer"],
                                 rule_id=ids["rule"], opened_at=at, notify=False).id


def move(db, case_id: int, to: str, *, at: datetime, **extra) -> None:
    with db.write() as db_session:
        service.change_status(db_session=db_session, case=db_session.get(Case, case_id), to=to, actor=None, at=at,
                              notify=False, **extra)


def contact(db, case_id: int, *, at: datetime) -> None:
    with db.write() as db_session:
        service.log_contact(db_session=db_session, case=db_session.get(Case, case_id), kind="call", note="Called",
                            actor=None, at=at, notify=False)


def close(db, ids, case_id: int, *, at: datetime) -> None:
    move(db, case_id, "closed", at=at, root_cause_id=ids["cause"], action_taken="Refunded", issue_resolved=True)


def stored(db, case_id: int) -> Case:
    with db.read() as db_session:
        case = db_session.get(Case, case_id)
        db_session.expunge(case)
        return case


def test_reopening_while_a_newer_case_of_the_customer_and_rule_is_open_is_refused(db):
    ids = setup(db)
    first = open_one(db, ids)
    move(db, first, "resolved", at=MONDAY + timedelta(hours=1))
    close(db, ids, first, at=MONDAY + timedelta(hours=2))
    newer = open_one(db, ids, at=MONDAY + timedelta(days=1))
    with pytest.raises(service.CaseError, match=f"case {newer} is open for this customer and rule") as refused:
        move(db, first, "in_progress", at=MONDAY + timedelta(days=2))
    assert refused.value.field == "status" and stored(db, first).status == "closed"
    move(db, newer, "resolved", at=MONDAY + timedelta(days=2))  # resolved is still open: refused again
    with pytest.raises(service.CaseError, match="open for this customer and rule"):
        move(db, first, "in_progress", at=MONDAY + timedelta(days=2))
    close(db, ids, newer, at=MONDAY + timedelta(days=3))
    move(db, first, "in_progress", at=MONDAY + timedelta(days=4))  # once the newer one is closed, it may
    assert stored(db, first).status == "in_progress"


@pytest.mark.parametrize("contacts, expected", [(0, None), (1, True), (2, False)])
def test_resolved_at_first_contact_needs_exactly_one_contact(db, contacts, expected):
    ids = setup(db)
    case_id = open_one(db, ids)
    for number in range(contacts):
        contact(db, case_id, at=MONDAY + timedelta(hours=1 + number))
    move(db, case_id, "resolved", at=MONDAY + timedelta(hours=5))
    assert stored(db, case_id).resolved_at_first_contact is expected


def test_reopening_starts_a_new_resolve_deadline_and_clears_its_warnings(db):
    ids = setup(db)
    case_id = open_one(db, ids)
    contact(db, case_id, at=MONDAY + timedelta(hours=1))
    move(db, case_id, "resolved", at=MONDAY + timedelta(hours=2))
    close(db, ids, case_id, at=MONDAY + timedelta(hours=3))
    later = MONDAY + timedelta(days=28)
    with db.write() as db_session:
        case = db_session.get(Case, case_id)
        case.resolve_warned_at = case.resolve_escalated_at = MONDAY + timedelta(days=7)
        case.first_contact_warned_at = MONDAY + timedelta(minutes=30)
        before = (case.first_contact_due, case.first_contact_at)
    move(db, case_id, "in_progress", at=later, zone="UTC")
    reopened = stored(db, case_id)
    with db.read() as db_session:
        policy = db_session.scalar(select(CasePolicy))
        due = service.deadlines(policy, priority="normal", opened_at=later, zone="UTC")
    assert reopened.resolve_due == due.resolve and reopened.resolve_due > later
    assert reopened.resolve_warned_at is None and reopened.resolve_escalated_at is None
    assert (reopened.first_contact_due, reopened.first_contact_at) == before  # first contact stays as it was
    assert reopened.first_contact_warned_at is not None


def test_a_root_cause_no_longer_in_use_cannot_close_a_case(db):
    ids = setup(db)
    case_id = open_one(db, ids)
    move(db, case_id, "resolved", at=MONDAY + timedelta(hours=1))
    with pytest.raises(service.CaseError, match="no longer in use") as refused:
        move(db, case_id, "closed", at=MONDAY + timedelta(hours=2), root_cause_id=ids["old_cause"],
             action_taken="Refunded", issue_resolved=True)
    assert refused.value.field == "root_cause" and stored(db, case_id).status == "resolved"
