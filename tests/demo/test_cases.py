"""The demo workspace shows the closed loop alive: 18 months of cases from its own responses, a holdout, root
causes, overdue cases now, and an initiative whose change shows in the data."""

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from tests.conftest import empty
from voxpop.accounts.models import User
from voxpop.cases.models import Case, CaseEvent, CaseRule, CaseTrigger, Initiative, RootCause
from voxpop.cases.statuses import STATUSES
from voxpop.collection.models import Answer, Response, response_attributes
from voxpop.demo import cases
from voxpop.demo.workspace import load_demo
from voxpop.surveys.models import Question

NOW = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)
ZONE = "Europe/Berlin"


@pytest.fixture(scope="module")
def demo(_session_db):
    """Loaded once per backend for this module, emptied afterwards."""
    load_demo(_session_db, now=NOW, zone=ZONE)
    yield _session_db
    empty(_session_db)


def test_cases_in_every_status_some_overdue_now(demo):
    with demo.read() as db_session:
        statuses = dict(db_session.execute(select(Case.status, func.count()).group_by(Case.status)).all())
        overdue = db_session.scalar(select(func.count()).where(
            Case.status != "closed", Case.first_contact_at.is_(None), Case.first_contact_due < NOW))
        first, last = db_session.execute(select(func.min(Case.opened_at), func.max(Case.opened_at))).one()
        in_target = db_session.execute(select(
            func.count(case((Case.first_contact_at <= Case.first_contact_due, 1))), func.count())
            .where(Case.first_contact_at.is_not(None))).one()
    assert set(statuses) == set(STATUSES)
    assert sum(statuses.values()) > 2000 and statuses["closed"] > 0.95 * sum(statuses.values())
    assert 3 <= overdue <= 30
    assert (NOW - first.replace(tzinfo=timezone.utc)).days > 530 and (NOW - last.replace(tzinfo=timezone.utc)).days < 3
    assert 0.8 < in_target[0] / in_target[1] < 0.95  # most first contacts within target, some breached


def test_every_case_links_its_response_and_customer(demo):
    with demo.read() as db_session:
        mismatched = db_session.scalar(select(func.count()).select_from(Case).outerjoin(
            Response, Response.id == Case.response_id).where(
            (Response.id.is_(None)) | (Response.customer_id != Case.customer_id)))
        opened = db_session.scalar(select(func.count()).where(CaseTrigger.outcome == "opened"))
        total = db_session.scalar(select(func.count()).select_from(Case))
    assert mismatched == 0 and opened == total


def test_root_causes_make_a_pareto_and_cases_reopen(demo):
    with demo.read() as db_session:
        counts = [n for _, n in db_session.execute(
            select(RootCause.key, func.count()).join(Case, Case.root_cause_id == RootCause.id)
            .group_by(RootCause.key).order_by(func.count().desc())).all()]
        closed = db_session.scalar(select(func.count()).where(Case.status == "closed"))
        reopened = db_session.scalar(select(func.count()).where(Case.reopened > 0))
        kinds = dict(db_session.execute(select(CaseEvent.kind, func.count()).group_by(CaseEvent.kind)).all())
    assert len(counts) >= 8 and sum(counts) >= closed  # a reopened case keeps its cause until closed again
    assert sum(counts[:3]) > 0.5 * sum(counts)  # a few causes dominate
    assert 0.06 < reopened / closed < 0.14
    assert kinds["call"] > kinds["email"] > 0 and kinds["reassigned"] > 0 and kinds["followup_sent"] > 0


def test_the_detractor_rule_holds_out_one_in_twenty(demo):
    with demo.read() as db_session:
        outcomes = dict(db_session.execute(
            select(CaseTrigger.outcome, func.count()).join(CaseRule, CaseRule.id == CaseTrigger.rule_id)
            .where(CaseRule.key == "nps-detractor").group_by(CaseTrigger.outcome)).all())
        held_cases = db_session.scalar(select(func.count()).where(CaseTrigger.outcome == "held_out",
                                                                  CaseTrigger.case_id.is_not(None)))
    assert 0.03 < outcomes["held_out"] / (outcomes["held_out"] + outcomes["opened"]) < 0.07
    assert held_cases == 0


def test_every_case_handler_has_a_queue(demo):
    with demo.read() as db_session:
        owners = set(db_session.scalars(select(User.email).join(Case, Case.owner_id == User.id)
                                        .where(Case.status != "closed")))
    assert "agent@northwind.example" in owners and len(owners) >= 5


def _app_nps(db_session, since, until):
    score = Answer.score
    app = Response.id.in_(select(response_attributes.c.response_id).where(
        response_attributes.c.name == "channel", response_attributes.c.value == "app"))
    promoters, detractors, n = db_session.execute(
        select(func.sum(case((score >= 9, 1), else_=0)), func.sum(case((score <= 6, 1), else_=0)), func.count(score))
        .join(Question, Answer.question_id == Question.id).join(Response, Answer.response_id == Response.id)
        .where(Question.kind == "nps", app, Response.submitted_at >= since, Response.submitted_at < until)).one()
    return 100 * (promoters - detractors) / n


def test_two_initiatives_and_the_one_that_worked_shows_in_the_data(demo):
    with demo.read() as db_session:
        initiatives = {initiative.title: initiative for initiative in db_session.scalars(select(Initiative))}
        worked = initiatives["Call back app users within a day"]
        change = datetime.combine(worked.change_date, datetime.min.time(), timezone.utc)
        days = (NOW - change).days
        before = _app_nps(db_session, change - timedelta(days=days), change)
        after = _app_nps(db_session, change, NOW)
        assert len(initiatives) == 2
        assert worked.target["filter"] == [["attribute", "channel=app"]]
    assert after > before + 8


def test_the_bulk_history_writes_what_the_service_writes(demo):
    """Finished cases older than RECENT_DAYS are written by `replay`; for the same story it must leave the same
    rows as cases.service (rolled back afterwards)."""
    with demo.write_engine.connect() as connection, Session(bind=connection) as db_session:
        loop = cases.apply_case_rules(db_session, now=NOW, zone=ZONE)
        busy = select(Case.customer_id).where(Case.status != "closed")  # the open-case index must not bite
        responses = db_session.execute(
            select(func.min(Response.id), Response.customer_id).join(Answer).join(Question)
            .where(Question.key == "nps", Answer.score <= 6, Response.customer_id.not_in(busy))
            .group_by(Response.customer_id).order_by(Response.customer_id).limit(40)).all()
        rng = random.Random(3)
        stories = [cases.plan_story(rng, loop, rule="nps-detractor", survey="post-purchase", number=number,
                                    customer=f"C{customer}", submitted_at=NOW - timedelta(days=100 + number),
                                    attributes={"channel": "app" if number % 3 else "web", "segment": "business"},
                                    score=3, consent=number % 4 != 0, comment="The parcel arrived 5 days late.",
                                    now=NOW)
                   for number, (_, customer) in enumerate(responses)]
        response_ids = {("post-purchase", number): response_id for number, (response_id, _) in enumerate(responses)}
        customers = {f"C{customer}": customer for _, customer in responses}
        bulk = cases.replay(db_session, stories, loop, response_ids=response_ids, customer_ids=customers)
        served = [cases.run_story(db_session, story, loop, response_ids=response_ids,
                                  customer_id=customers[story.customer]).id for story in stories]
        db_session.flush()
        assert any(event.kind == "reassigned" for event in db_session.scalars(select(CaseEvent)
                                                                               .where(CaseEvent.case_id.in_(bulk))))
        for replayed, made in zip(bulk, served):
            assert _case(db_session, replayed) == _case(db_session, made)
        connection.rollback()


def _case(db_session, case_id):
    row = db_session.execute(select(Case.__table__).where(Case.id == case_id)).mappings().one()
    events = db_session.execute(select(CaseEvent.kind, CaseEvent.at, CaseEvent.actor_id, CaseEvent.from_status,
                                       CaseEvent.to_status, CaseEvent.note, CaseEvent.details)
                                .where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
    return {name: value for name, value in row.items() if name != "id"}, [tuple(event) for event in events]
