"""Deadline warnings and escalations on a controlled clock: the owner is warned once before a deadline, the
department's managers (else the admins) are told once after it, never twice, even by two workers at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from voxpop.accounts import service as accounts
from voxpop.accounts.models import User
from voxpop.cases import service
from voxpop.cases.deadlines import watch_deadlines
from voxpop.cases.models import Case, CaseEvent
from voxpop.notify.models import OutgoingMail, WebhookDelivery, WebhookEndpoint

BERLIN = "Europe/Berlin"
URL = "https://cx.example.com"


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 in Berlin (CET, UTC+1), as the UTC the store keeps; the 2nd is a Monday."""
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo(BERLIN)).astimezone(UTC)


@pytest.fixture
def staff(db) -> dict[str, int]:
    with db.write() as db_session:
        care = accounts.create_department(db_session=db_session, name="Customer care").id
        digital = accounts.create_department(db_session=db_session, name="Digital").id
        people = {}
        for email, role, department in [("agent@example.com", "agent", care), ("boss@example.com", "manager", care),
                                        ("other-boss@example.com", "manager", digital),
                                        ("admin@example.com", "admin", None)]:
            people[email] = accounts.create_user(db_session=db_session, email=email, password=None, role=role,
                                                 department_id=department).id
        db_session.add(WebhookEndpoint(url="https://hooks.example.com/x", secret="whsec_AAAA", events=[]))
    return {"care": care, "digital": digital} | people


def open_case(db, staff, *, opened_at: datetime, department: str = "care", priority: str = "normal") -> int:
    with db.write() as db_session:
        return service.open_case(db_session=db_session, title="Nobody called me back", priority=priority,
                                 department_id=staff[department], opened_at=opened_at, zone=BERLIN, public_url=URL,
                                 notify=False).id


def mails(db, kind: str) -> list[tuple[str, str, str]]:
    with db.read() as db_session:
        return [tuple(row) for row in db_session.execute(select(OutgoingMail.recipient, OutgoingMail.subject,
                                                                OutgoingMail.body_text)
                                                         .where(OutgoingMail.kind == kind).order_by(OutgoingMail.id))]


def events(db, case_id: int, kind: str) -> list[dict]:
    with db.read() as db_session:
        return list(db_session.scalars(select(CaseEvent.details).where(CaseEvent.case_id == case_id,
                                                                       CaseEvent.kind == kind)))


def case(db, case_id: int) -> Case:
    with db.read() as db_session:
        row = db_session.get(Case, case_id)
        db_session.expunge(row)
        return row


def watch(db, now: datetime) -> int:
    return watch_deadlines(db, now=now, zone=BERLIN, public_url=URL)


def test_the_deadlines_are_in_business_hours_of_the_workspace(db, staff):
    # Monday 09:00 + 24 business hours (09-17, Mon-Fri) = Wednesday 17:00; + 80 = Friday of the next week, 17:00.
    case_id = open_case(db, staff, opened_at=berlin(2, 9))
    assert case(db, case_id).first_contact_due == berlin(4, 17)
    assert case(db, case_id).resolve_due == berlin(13, 17)


def test_the_owner_is_warned_once_before_the_first_contact_deadline(db, staff):
    case_id = open_case(db, staff, opened_at=berlin(2, 9))
    assert watch(db, berlin(4, 12, 59)) == 0  # 4 h 1 min of business time left: not yet
    assert mails(db, "case.warning") == []
    assert watch(db, berlin(4, 13)) == 1
    [(recipient, subject, body)] = mails(db, "case.warning")
    assert recipient == "agent@example.com"
    assert subject == f"Case {case_id}: first contact due in 4 business hours"
    assert "by 2026-11-04 17:00 CET" in body and f"{URL}/cases/{case_id}" in body
    [details] = events(db, case_id, "warned")
    assert details["deadline"] == "first_contact" and details["told"] == ["agent@example.com"]
    assert case(db, case_id).first_contact_warned_at == berlin(4, 13)
    # Never twice.
    assert watch(db, berlin(4, 14)) == 0 and watch(db, berlin(4, 16, 59)) == 0
    assert len(mails(db, "case.warning")) == 1


def test_a_missed_deadline_is_escalated_once_to_the_departments_managers(db, staff):
    case_id = open_case(db, staff, opened_at=berlin(2, 9))
    watch(db, berlin(4, 13))
    assert watch(db, berlin(4, 17)) == 1
    [(recipient, subject, body)] = mails(db, "case.escalated")
    assert recipient == "boss@example.com"  # not the other department's manager, not the admin
    assert subject == f"Case {case_id} is overdue: first contact was due 2026-11-04 17:00 CET"
    assert "held by agent@example.com" in body and "normal case" in body
    [details] = events(db, case_id, "escalated")
    assert details["deadline"] == "first_contact" and details["told"] == ["boss@example.com"]
    assert case(db, case_id).first_contact_escalated_at == berlin(4, 17)
    with db.read() as db_session:
        [payload] = db_session.scalars(select(WebhookDelivery.payload).where(WebhookDelivery.event == "case.updated"))
    assert '"escalated":"first_contact"' in payload
    assert watch(db, berlin(5, 10)) == 0 and watch(db, berlin(9, 10)) == 0
    assert len(mails(db, "case.escalated")) == 1


def test_without_managers_in_the_department_the_admins_hear_of_it(db, staff):
    with db.write() as db_session:
        db_session.get(User, staff["boss@example.com"]).is_active = False  # the one manager left
    case_id = open_case(db, staff, opened_at=berlin(2, 9))
    watch(db, berlin(4, 17))
    assert [recipient for recipient, *_ in mails(db, "case.escalated")] == ["admin@example.com"]
    assert events(db, case_id, "escalated")[0]["told"] == ["admin@example.com"]


def test_a_case_first_contacted_in_time_is_neither_warned_nor_escalated_for_it(db, staff):
    case_id = open_case(db, staff, opened_at=berlin(2, 9))
    with db.write() as db_session:
        service.log_contact(db_session=db_session, case=db_session.get(Case, case_id), kind="call",
                            note="Called, sorted", actor=None, at=berlin(3, 10), notify=False)
    assert watch(db, berlin(4, 13)) == 0 and watch(db, berlin(4, 18)) == 0
    assert events(db, case_id, "warned") == [] and events(db, case_id, "escalated") == []


def test_the_resolve_deadline_runs_until_the_case_is_resolved(db, staff):
    case_id = open_case(db, staff, opened_at=berlin(2, 9))
    with db.write() as db_session:
        service.log_contact(db_session=db_session, case=db_session.get(Case, case_id), kind="call", note="",
                            actor=None, at=berlin(2, 10), notify=False)
    assert watch(db, berlin(13, 13)) == 1
    [details] = events(db, case_id, "warned")
    assert details["deadline"] == "resolve"
    with db.write() as db_session:
        service.change_status(db_session=db_session, case=db_session.get(Case, case_id), to="resolved", actor=None,
                              at=berlin(13, 14), notify=False)
    assert watch(db, berlin(16, 10)) == 0 and events(db, case_id, "escalated") == []


def test_a_case_resolved_without_contact_is_not_escalated_for_first_contact(db, staff):
    case_id = open_case(db, staff, opened_at=berlin(2, 9))
    with db.write() as db_session:  # the customer asked not to be called: resolved without a contact
        service.change_status(db_session=db_session, case=db_session.get(Case, case_id), to="resolved", actor=None,
                              at=berlin(2, 10), notify=False)
    assert watch(db, berlin(30, 10)) == 0
    assert events(db, case_id, "warned") == [] and events(db, case_id, "escalated") == []


def test_a_reopened_case_is_warned_and_escalated_on_its_new_resolve_deadline(db, staff):
    case_id = open_case(db, staff, opened_at=berlin(2, 9), priority="urgent")  # 16 business hours to resolve
    with db.write() as db_session:
        item = db_session.get(Case, case_id)
        service.log_contact(db_session=db_session, case=item, kind="call", note="", actor=None, at=berlin(2, 10),
                            notify=False)
        service.change_status(db_session=db_session, case=item, to="resolved", actor=None, at=berlin(2, 11),
                              notify=False)
    with db.write() as db_session:  # reopened three weeks on, long after its first resolve deadline
        service.change_status(db_session=db_session, case=db_session.get(Case, case_id), to="in_progress",
                              actor=None, at=berlin(23, 9), notify=False, zone=BERLIN)
    assert case(db, case_id).resolve_due == berlin(24, 17)
    assert watch(db, berlin(23, 10)) == 0  # not overdue at once
    assert watch(db, berlin(24, 14)) == 1 and [d["deadline"] for d in events(db, case_id, "warned")] == ["resolve"]
    assert watch(db, berlin(25, 10)) == 1 and [d["deadline"] for d in events(db, case_id, "escalated")] == ["resolve"]


def test_a_closed_case_is_never_escalated(db, staff):
    case_id = open_case(db, staff, opened_at=berlin(2, 9))
    with db.write() as db_session:
        db_session.get(Case, case_id).status = "closed"
    assert watch(db, berlin(30, 10)) == 0


def test_a_deadline_after_the_weekend_is_warned_of_on_friday(db, staff):
    # Urgent: 4 business hours. Opened Friday 15:00, due Monday 11:00; 4 h before that is Friday 15:00 already.
    case_id = open_case(db, staff, opened_at=berlin(6, 15), priority="urgent")
    assert case(db, case_id).first_contact_due == berlin(9, 11)
    assert watch(db, berlin(6, 15)) == 1
    assert mails(db, "case.warning")[0][1] == f"Case {case_id}: first contact due in 4 business hours"
    # Saturday and Sunday are not business time: still not overdue on Monday 10:59.
    assert watch(db, berlin(9, 10, 59)) == 0
    assert watch(db, berlin(9, 11)) == 1


def test_a_case_found_overdue_is_escalated_without_a_late_warning(db, staff):
    case_id = open_case(db, staff, opened_at=berlin(2, 9))
    assert watch(db, berlin(5, 12)) == 1
    assert events(db, case_id, "warned") == [] and len(events(db, case_id, "escalated")) == 1
    assert "by 3 business hours" in mails(db, "case.escalated")[0][2]


def test_two_workers_at_once_escalate_once(db, staff):
    case_ids = [open_case(db, staff, opened_at=berlin(2, 9)) for _ in range(5)]
    made: list[int] = []
    start = threading.Barrier(2)

    def worker():
        start.wait()
        made.append(watch(db, berlin(4, 17)))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(made) == 5
    assert len(mails(db, "case.escalated")) == 5
    for case_id in case_ids:
        assert len(events(db, case_id, "escalated")) == 1
