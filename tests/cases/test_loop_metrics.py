"""The loop metrics on a small hand-built set of cases whose every answer is known, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from tests.helpers import apply_survey
from voxpop.accounts.models import Department
from voxpop.cases.loop_metrics import contrast, holdout_effect, loop_metrics, period_bounds, period_of
from voxpop.cases.models import Case, CaseEvent, CaseRule, CaseTrigger
from voxpop.collection import flows
from voxpop.collection.models import Response
from voxpop.core.business_time import BusinessWeek
from voxpop.customers.models import Customer, Transaction

UTC = timezone.utc
NOW = datetime(2027, 12, 1, tzinfo=UTC)
WEEK = BusinessWeek(zone="UTC")  # Monday to Friday, 09:00-17:00


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def respond(db, *, customer: int, nps: int, when: str) -> int:
    """One response to the feedback survey by `customer`, submitted at `when`; its id."""
    recorded = flows.record_response(db, flows.load_survey(db, "feedback"),
                                     flows.Submission(answers={"nps": nps}, channel="api"), max_text_length=500)
    with db.write() as db_session:
        response_id = db_session.scalar(select(Response.id).where(Response.public_id == recorded.public_id))
        db_session.execute(update(Response).where(Response.id == response_id)
                           .values(customer_id=customer, submitted_at=at(when)))
    return response_id


def build(db) -> dict[str, int]:
    """Three Care cases and one Digital case in November 2026 (see each case's comment for what it adds up to)."""
    apply_survey(db)
    with db.write() as db_session:
        care, digital = Department(name="Care"), Department(name="Digital")
        customers = [Customer(external_id=f"c{number}") for number in range(1, 5)]
        db_session.add_all([care, digital, *customers])
        db_session.flush()
        ids = {"care": care.id, "digital": digital.id} | {f"c{n}": c.id for n, c in enumerate(customers, start=1)}
    responses = {
        "r1": respond(db, customer=ids["c1"], nps=3, when="2026-11-02 08:00"),
        "r1-again": respond(db, customer=ids["c1"], nps=8, when="2026-12-01 10:00"),  # moved up to passive
        "r2": respond(db, customer=ids["c2"], nps=5, when="2026-11-02 08:00"),
        "r2-again": respond(db, customer=ids["c2"], nps=6, when="2026-12-01 10:00"),  # still a detractor
        "r3": respond(db, customer=ids["c3"], nps=2, when="2026-11-02 08:00"),
        "r4": respond(db, customer=ids["c4"], nps=9, when="2026-11-03 08:00"),
    }
    due = at("2026-11-04 17:00")  # 24 business hours after Monday 09:00
    with db.write() as db_session:
        cases = [
            # contacted after 4 business hours (in target), resolved after 8 at the first contact
            Case(title="1", department_id=ids["care"], customer_id=ids["c1"], response_id=responses["r1"],
                 opened_at=at("2026-11-02 09:00"), first_contact_due=due, first_contact_at=at("2026-11-02 13:00"),
                 resolved_at=at("2026-11-03 09:00"), resolved_at_first_contact=True, status="closed"),
            # contacted after 24 business hours, on Thursday morning (late), resolved after 28, reopened once
            Case(title="2", department_id=ids["care"], customer_id=ids["c2"], response_id=responses["r2"],
                 opened_at=at("2026-11-02 09:00"), first_contact_due=due, first_contact_at=at("2026-11-05 09:00"),
                 resolved_at=at("2026-11-05 13:00"), resolved_at_first_contact=False, reopened=1, status="resolved"),
            # never contacted, its deadline long past
            Case(title="3", department_id=ids["care"], customer_id=ids["c3"], response_id=responses["r3"],
                 opened_at=at("2026-11-02 09:00"), first_contact_due=due, status="new"),
            # a promoter's case in Digital, still within its deadline when "now" is that afternoon
            Case(title="4", department_id=ids["digital"], customer_id=ids["c4"], response_id=responses["r4"],
                 opened_at=at("2026-11-03 09:00"), first_contact_due=at("2026-11-05 17:00"), status="new"),
        ]
        db_session.add_all(cases)
        db_session.flush()
        db_session.add_all([CaseEvent(case_id=cases[0].id, kind="call", at=at("2026-11-02 13:00"), details={}),
                            CaseEvent(case_id=cases[1].id, kind="email", at=at("2026-11-05 09:00"), details={})])
        db_session.add_all([
            Transaction(customer_id=ids["c1"], source_key="t1", day=date(2026, 12, 10), amount=40.0),  # within 90 days
            Transaction(customer_id=ids["c3"], source_key="t3", day=date(2027, 3, 1), amount=25.0),  # within a year
            Transaction(customer_id=ids["c2"], source_key="t2", day=date(2026, 11, 2), amount=10.0),  # same day: before
        ])
        rule = CaseRule(key="detractors", name="Detractors", holdout_share=0.5)
        db_session.add(rule)
        db_session.flush()
        db_session.add_all([
            CaseTrigger(rule_id=rule.id, response_id=responses["r1"], outcome="opened", case_id=cases[0].id,
                        customer_id=ids["c1"], at=at("2026-11-02 09:00")),
            CaseTrigger(rule_id=rule.id, response_id=responses["r2"], outcome="opened", case_id=cases[1].id,
                        customer_id=ids["c2"], at=at("2026-11-02 09:00")),
            CaseTrigger(rule_id=rule.id, response_id=responses["r3"], outcome="held_out", customer_id=ids["c3"],
                        at=at("2026-11-02 09:00")),
        ])
    return ids


def test_periods_are_named_and_bounded_in_the_workspace_zone():
    assert period_of("2026-11-01", "month") == "2026-11" and period_of("2026-11-01", "quarter") == "2026-Q4"
    start, end = period_bounds("2026-Q4", "Europe/Berlin")
    assert start.isoformat() == "2026-10-01T00:00:00+02:00" and end.isoformat() == "2027-01-01T00:00:00+01:00"


@pytest.mark.parametrize("period, label", [("month", "2026-11"), ("quarter", "2026-Q4")])
def test_the_loop_metrics_of_known_cases(db, period, label):
    ids = build(db)
    with db.read() as db_session:
        rows = loop_metrics(db_session, zone="UTC", now=NOW, min_base=2, period=period, week=WEEK)
    care = next(row for row in rows if row.department == "Care")
    assert (care.period, care.department_id, care.cases) == (label, ids["care"], 3)
    assert (care.first_contact_in_target.n, care.first_contact_in_target.value) == (3, pytest.approx(100 / 3))
    assert (care.hours_to_first_contact.value, care.hours_to_first_contact.n) == (14.0, 2)  # median of 4 and 24
    assert care.hours_to_first_contact.ci_low is None  # two cases are too few for an order-statistic interval
    assert care.hours_to_resolution.value == 18.0  # median of 8 and 28
    assert (care.resolved_at_first_contact.value, care.resolved_at_first_contact.n) == (50.0, 2)
    assert (care.reopened.value, care.reopened.n) == (50.0, 2)
    assert (care.recovery.value, care.recovery.n) == (50.0, 2)  # 3 → 8 moved up, 5 → 6 did not
    retention = care.retention
    assert (retention.a.value, retention.a.n, retention.b.value, retention.b.n) == (50.0, 2, 100.0, 1)
    assert retention.difference.difference == pytest.approx(-50.0)
    repeat = care.repeat_purchase
    assert (repeat.a.value, repeat.a.n, repeat.b.value, repeat.b.n) == (50.0, 2, 0.0, 1)
    digital = next(row for row in rows if row.department == "Digital")
    assert digital.cases == 1 and digital.recovery.n == 0 and digital.retention.difference is None


def test_a_deadline_still_running_is_not_counted_yet(db):
    build(db)
    with db.read() as db_session:
        [digital] = loop_metrics(db_session, zone="UTC", now=at("2026-11-04 12:00"), min_base=2, week=WEEK,
                                 department_id=db_session.scalar(select(Department.id).where(Department.name == "Digital")))
    assert digital.first_contact_in_target.n == 0 and digital.first_contact_in_target.value is None
    with db.read() as db_session:
        [care] = loop_metrics(db_session, zone="UTC", now=at("2026-11-04 12:00"), min_base=2, week=WEEK,
                              department_id=db_session.scalar(select(Department.id).where(Department.name == "Care")))
    assert care.first_contact_in_target.n == 1  # only case 1 is decided: contacted; the others' deadline runs
    assert care.retention.a.n == 0  # no one's year has passed


def test_days_narrow_the_cases(db):
    build(db)
    with db.read() as db_session:
        assert loop_metrics(db_session, zone="UTC", now=NOW, min_base=2, since=date(2026, 12, 1), week=WEEK) == []
        rows = loop_metrics(db_session, zone="UTC", now=NOW, min_base=2, until=date(2026, 11, 2), week=WEEK)
    assert [row.department for row in rows] == ["Care"]


def test_the_holdout_compares_opened_with_held_out_customers(db):
    build(db)
    with db.read() as db_session:
        effect = holdout_effect(db_session, now=NOW, min_base=30)
    assert (effect.retention.a.value, effect.retention.a.n, effect.retention.b.value, effect.retention.b.n) == (
        50.0, 2, 100.0, 1)
    assert effect.base_retention == 0.70 and effect.per_arm_needed == 859  # too few held out: the 70% default
    with db.read() as db_session:
        assert holdout_effect(db_session, now=at("2027-06-01 00:00"), min_base=30).retention.a.n == 0


def test_resolved_at_first_contact_counts_resolved_cases_with_a_contact_only(db):
    ids = build(db)
    with db.write() as db_session:  # resolved without reaching the customer, as an older row wrote it (True)
        db_session.add(Case(title="5", department_id=ids["care"], opened_at=at("2026-11-02 10:00"),
                            resolved_at=at("2026-11-02 12:00"), resolved_at_first_contact=True, status="resolved"))
    with db.read() as db_session:
        rows = loop_metrics(db_session, zone="UTC", now=NOW, min_base=2, week=WEEK)
    care = next(row for row in rows if row.department == "Care")
    assert care.cases == 4
    assert (care.resolved_at_first_contact.value, care.resolved_at_first_contact.n) == (50.0, 2)


def test_the_holdout_counts_each_customer_once_in_the_arm_of_their_first_trigger(db):
    ids = build(db)
    again = {customer: respond(db, customer=ids[customer], nps=1, when="2026-11-20 08:00") for customer in ("c1", "c3")}
    with db.write() as db_session:
        rule = db_session.scalar(select(CaseRule))
        db_session.add_all([  # c3 held out again; c1's later case (the first was closed) opened again
            CaseTrigger(rule_id=rule.id, response_id=again["c3"], outcome="held_out", customer_id=ids["c3"],
                        at=at("2026-11-20 09:00")),
            CaseTrigger(rule_id=rule.id, response_id=again["c1"], outcome="opened", customer_id=ids["c1"],
                        at=at("2026-11-20 09:00"))])
    with db.read() as db_session:
        effect = holdout_effect(db_session, now=NOW, min_base=30)
    assert (effect.retention.a.n, effect.retention.b.n) == (2, 1)
    with db.read() as db_session:  # the first trigger before `since`: the customer is not counted again later
        effect = holdout_effect(db_session, now=NOW, min_base=30, since=date(2026, 11, 10))
    assert (effect.retention.a.n, effect.retention.b.n) == (0, 0)


def test_the_holdout_of_one_department(db):
    ids = build(db)
    with db.read() as db_session:
        care = holdout_effect(db_session, now=NOW, min_base=30, department_id=ids["care"])
    assert (care.retention.a.n, care.retention.b.n) == (2, 0)  # the held-out trigger would have gone nowhere
    with db.write() as db_session:
        db_session.scalar(select(CaseRule)).department_id = ids["care"]
    with db.read() as db_session:
        care = holdout_effect(db_session, now=NOW, min_base=30, department_id=ids["care"])
        digital = holdout_effect(db_session, now=NOW, min_base=30, department_id=ids["digital"])
    assert (care.retention.a.n, care.retention.b.n) == (2, 1)  # held out from a case the rule sends to Care
    assert (digital.retention.a.n, digital.retention.b.n) == (0, 0)
    with db.write() as db_session:  # a route by the response's attribute wins over the rule's department
        from voxpop.cases.models import CaseRoute
        from voxpop.collection.models import AttributeSet, AttributeSetValue

        attributes = AttributeSet(fingerprint="channel-app")
        db_session.add(attributes)
        db_session.flush()
        db_session.add_all([AttributeSetValue(set_id=attributes.id, name="channel", value="app"),
                            CaseRoute(position=1, attribute="channel", value="app", department_id=ids["digital"])])
        held = db_session.scalar(select(CaseTrigger.response_id).where(CaseTrigger.outcome == "held_out"))
        db_session.get(Response, held).attribute_set_id = attributes.id
    with db.read() as db_session:
        digital = holdout_effect(db_session, now=NOW, min_base=30, department_id=ids["digital"])
    assert (digital.retention.a.n, digital.retention.b.n) == (0, 1)


def test_every_department_together(db):
    build(db)
    with db.read() as db_session:
        [every] = loop_metrics(db_session, zone="UTC", now=NOW, min_base=2, week=WEEK, by_department=False)
    assert (every.department, every.department_id, every.cases) == ("All departments", -1, 4)
    assert every.first_contact_in_target.n == 4 and every.hours_to_first_contact.n == 2


@given(st.integers(0, 500), st.integers(0, 500), st.integers(0, 500), st.integers(0, 500))
def test_shares_are_shares_and_intervals_hold_their_estimates(x1, n1, x2, n2):
    x1, x2 = min(x1, n1), min(x2, n2)
    compared = contrast(a=(x1, n1), b=(x2, n2), min_base=30)
    for share in (compared.a, compared.b):
        if share.n:
            assert 0 <= share.ci_low <= share.value <= share.ci_high <= 100
        else:
            assert share.value is None
    if n1 and n2:
        difference = compared.difference
        assert difference.ci_low <= difference.difference <= difference.ci_high
        assert difference.difference == pytest.approx(100 * (x1 / n1 - x2 / n2))
    else:
        assert compared.difference is None
