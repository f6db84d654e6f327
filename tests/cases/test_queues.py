"""The queue's parts that need no web page: deadlines in words on a controlled clock, the order by next deadline,
and who may see what."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from tests.cases.test_views import MONDAY, workspace
from voxpop.cases import detail, queues
from voxpop.cases.models import Case
from voxpop.core.business_time import BusinessWeek

WEEK = BusinessWeek(zone="UTC", start=time(9), end=time(17), workdays=frozenset({1, 2, 3, 4, 5}))


def test_hours_in_words():
    assert detail.hours_words(0.2) == "under 1 business hour"
    assert detail.hours_words(1.4) == "1 business hour"
    assert detail.hours_words(-3.0) == "3 business hours"


@pytest.mark.parametrize(("now", "words", "overdue"), [
    (MONDAY + timedelta(hours=2), "first contact due in 22 business hours", False),
    # Monday 10:00 + 24 business hours is Thursday 10:00; Thursday 13:00 is 3 business hours past it
    (datetime(2026, 3, 5, 13, tzinfo=timezone.utc), "first contact overdue by 3 business hours", True),
    # over the weekend the clock stands still: Friday 17:00 to Monday 9:00 adds nothing
    (datetime(2026, 3, 9, 9, tzinfo=timezone.utc), "first contact overdue by 15 business hours", True),
])
def test_a_running_deadline_in_words(now, words, overdue):
    due = datetime(2026, 3, 5, 10, tzinfo=timezone.utc)
    shown = detail.deadline_words("first_contact", due=due, met_at=None, opened_at=MONDAY, running=True, now=now,
                                  week=WEEK)
    assert (shown.words, shown.overdue) == (words, overdue)


def test_a_met_deadline_says_whether_it_was_late():
    due = datetime(2026, 3, 5, 10, tzinfo=timezone.utc)
    early = detail.deadline_words("first_contact", due=due, met_at=MONDAY + timedelta(hours=3), opened_at=MONDAY,
                                  running=True, now=due, week=WEEK)
    assert early.words == "first contact after 3 business hours, within target" and not early.overdue
    late = detail.deadline_words("resolve", due=due, met_at=datetime(2026, 3, 6, 11, tzinfo=timezone.utc),
                                 opened_at=MONDAY, running=False, now=due, week=WEEK)
    assert late.words == "resolution after 33 business hours, 9 business hours late"
    stopped = detail.deadline_words("resolve", due=due, met_at=None, opened_at=MONDAY, running=False, now=due,
                                    week=WEEK)
    assert stopped.words == "no resolution due" and not stopped.overdue


def test_the_order_is_next_deadline_first_and_closed_cases_last(db):
    ids = workspace(db)
    with db.write() as db_session:
        db_session.get(Case, ids["case"]).status = "closed"
    with db.read() as db_session:
        listed = queues.list_cases(db_session=db_session, user=queues.EVERYONE, query=queues.CaseQuery(),
                                   now=MONDAY + timedelta(hours=2), zone="UTC")
    assert [item.id for item in listed.cases] == [ids["other"], ids["case"]]
    assert listed.cases[1].next_due is None and not listed.cases[1].overdue
    assert listed.counts == {"new": 1, "in_progress": 0, "waiting": 0, "resolved": 0, "closed": 1}


def test_an_agent_without_a_department_sees_only_their_own_cases(db):
    ids = workspace(db)
    agent = queues.Reader(id=ids["agent"], role="agent", department_id=None)
    with db.read() as db_session:
        listed = queues.list_cases(db_session=db_session, user=agent, query=queues.CaseQuery(), now=MONDAY, zone="UTC")
        assert [item.id for item in listed.cases] == [ids["case"]]
        assert queues.visible_case(db_session=db_session, user=agent, case_id=ids["other"]) is None


def test_a_bad_query_is_named():
    with pytest.raises(queues.QueueError, match="no priority 'asap'") as raised:
        queues.CaseQuery(priority="asap").check()
    assert raised.value.field == "priority"


@pytest.mark.parametrize(("kind", "details", "words"), [
    ("warned", {"deadline": "first_contact"}, "Owner warned: first contact due soon"),
    ("escalated", {"deadline": "resolve"}, "Escalated: resolution overdue"),
    ("followup_sent", {}, "Follow-up survey sent"),
    ("reassigned", {"owner_id": 2, "previous_owner_id": 1, "department_id": 5}, "Reassigned from Ana to Bo in Care"),
    ("assigned", {"owner_id": 9}, "Assigned to a former user"),
])
def test_timeline_words(kind, details, words):
    from voxpop.cases.models import CaseEvent

    event = CaseEvent(kind=kind, details=details)
    assert detail.event_words(event, people={1: "Ana", 2: "Bo"}, departments={5: "Care"}, causes={}) == words
