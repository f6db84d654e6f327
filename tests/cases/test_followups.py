"""The follow-up survey after closing, on a controlled clock: sent once, when due, only to customers who agreed
to be contacted and have an address, with a single-use link that opens the policy's follow-up survey."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.helpers import apply_survey
from voxpop.cases import service
from voxpop.cases.followups import send_followups
from voxpop.cases.models import Case, CaseEvent, RootCause
from voxpop.collection.service import find_invitation, get_or_create_customer
from voxpop.customers import contacts
from voxpop.notify.models import OutgoingMail
from voxpop.surveys.models import Survey

CLOSED = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
URL = "https://cx.example.com"


@pytest.fixture
def followup_survey(db) -> int:
    apply_survey(db)
    with db.write() as db_session:
        survey_id = db_session.scalar(select(Survey.id).where(Survey.key == "feedback"))
        service.get_policy(db_session=db_session).followup_survey_id = survey_id
        db_session.add(RootCause(key="late-delivery", name="Late delivery"))
    return survey_id


def closed_case(db, *, email: str | None = "ana@example.com", consent: bool | None = True,
                external_id: str = "C-1") -> int:
    with db.write() as db_session:
        customer = get_or_create_customer(db_session=db_session, external_id=external_id, email=email)
        db_session.flush()
        case = service.open_case(db_session=db_session, title="Late parcel", customer_id=customer.id,
                                 contact_consent=consent, opened_at=CLOSED - timedelta(days=2), notify=False)
        service.change_status(db_session=db_session, case=case, to="resolved", actor=None, at=CLOSED - timedelta(days=1),
                              notify=False)
        cause = db_session.scalar(select(RootCause.id).where(RootCause.key == "late-delivery"))
        service.change_status(db_session=db_session, case=case, to="closed", actor=None, root_cause_id=cause,
                              action_taken="Refunded the postage", issue_resolved=True, at=CLOSED, notify=False)
        return case.id


def followups(db) -> list[OutgoingMail]:
    with db.read() as db_session:
        rows = db_session.scalars(select(OutgoingMail).where(OutgoingMail.kind == "case.followup")).all()
        for row in rows:
            db_session.expunge(row)
        return list(rows)


def test_the_followup_goes_out_once_when_due_with_a_working_link(db, followup_survey):
    case_id = closed_case(db)
    assert send_followups(db, now=CLOSED + timedelta(days=14) - timedelta(minutes=1), public_url=URL) == 0
    assert send_followups(db, now=CLOSED + timedelta(days=14), public_url=URL) == 1
    [mail] = followups(db)
    assert mail.recipient == "ana@example.com" and mail.related == f"case:{case_id}"
    token = re.search(rf"{URL}/s/feedback\?t=(\S+)", mail.body_text).group(1)
    with db.read() as db_session:
        invitation = find_invitation(db_session=db_session, survey_id=followup_survey, token=token)
        case = db_session.get(Case, case_id)
        assert invitation is not None and invitation.id == case.followup_invitation_id
        assert case.followup_sent_at == CLOSED + timedelta(days=14)
        [details] = db_session.scalars(select(CaseEvent.details).where(CaseEvent.case_id == case_id,
                                                                       CaseEvent.kind == "followup_sent"))
    assert details == {"survey": "feedback", "invitation_id": invitation.id}
    # Once only.
    assert send_followups(db, now=CLOSED + timedelta(days=20), public_url=URL) == 0
    assert len(followups(db)) == 1


@pytest.mark.parametrize(("email", "consent"), [(None, True), ("", True), ("ana@example.com", False),
                                                ("ana@example.com", None)])
def test_no_followup_without_consent_or_an_address(db, followup_survey, email, consent):
    closed_case(db, email=email, consent=consent)
    assert send_followups(db, now=CLOSED + timedelta(days=30), public_url=URL) == 0
    assert followups(db) == []


def test_followups_wait_while_the_survey_is_not_live(db, followup_survey):
    closed_case(db)
    with db.write() as db_session:
        db_session.get(Survey, followup_survey).status = "closed"
    assert send_followups(db, now=CLOSED + timedelta(days=30), public_url=URL) == 0
    with db.write() as db_session:
        db_session.get(Survey, followup_survey).status = "live"
    assert send_followups(db, now=CLOSED + timedelta(days=30), public_url=URL) == 1


def test_a_reopened_case_gets_no_followup(db, followup_survey):
    case_id = closed_case(db)
    with db.write() as db_session:
        service.change_status(db_session=db_session, case=db_session.get(Case, case_id), to="in_progress",
                              actor=None, at=CLOSED + timedelta(days=1), notify=False)
    assert send_followups(db, now=CLOSED + timedelta(days=30), public_url=URL) == 0


def test_many_due_followups_each_go_once(db, followup_survey):
    for number in range(3):
        closed_case(db, email=f"c{number}@example.com", external_id=f"C-{number}")
    due = CLOSED + timedelta(days=14)
    assert send_followups(db, now=due, public_url=URL, limit=2) == 2
    assert send_followups(db, now=due, public_url=URL, limit=2) == 1
    assert sorted(mail.recipient for mail in followups(db)) == ["c0@example.com", "c1@example.com", "c2@example.com"]


def test_a_suppressed_address_gets_no_followup_and_the_case_says_why(db, followup_survey):
    suppressed = closed_case(db, email="Ana@Example.com", external_id="C-1")
    invited = closed_case(db, email="bo@example.com", external_id="C-2")
    with db.write() as db_session:
        contacts.suppress(db_session, "ana@example.com", reason="complaint", source="feedback loop",
                          now=CLOSED + timedelta(days=3))
    due = CLOSED + timedelta(days=14)
    assert send_followups(db, now=due, public_url=URL) == 1
    assert [mail.recipient for mail in followups(db)] == ["bo@example.com"]
    with db.read() as db_session:
        case = db_session.get(Case, suppressed)
        assert (case.followup_sent_at, case.followup_invitation_id, case.followup_due_at) == (None, None, None)
        [event] = db_session.scalars(select(CaseEvent).where(CaseEvent.case_id == suppressed,
                                                             CaseEvent.kind.like("followup%"))).all()
        assert event.kind == "followup_skipped" and event.at == due
        assert event.note == "Follow-up survey not sent: suppressed (complaint on 2026-11-05)"
        assert event.details == {"reason": "suppressed (complaint on 2026-11-05)"}
        assert db_session.get(Case, invited).followup_sent_at == due
    # The skip is recorded once: the follow-up is no longer due.
    assert send_followups(db, now=due + timedelta(days=1), public_url=URL) == 0
    with db.read() as db_session:
        assert len(db_session.scalars(select(CaseEvent).where(CaseEvent.case_id == suppressed,
                                                              CaseEvent.kind == "followup_skipped")).all()) == 1


def test_consent_withdrawn_after_the_case_stops_the_followup(db, followup_survey):
    case_id = closed_case(db)
    with db.write() as db_session:
        contacts.import_contacts(db_session, "id,consent\nC-1,opt-out\n", source="crm", now=CLOSED)
    assert send_followups(db, now=CLOSED + timedelta(days=14), public_url=URL) == 0
    assert followups(db) == []
    with db.read() as db_session:
        note = db_session.scalar(select(CaseEvent.note).where(CaseEvent.case_id == case_id,
                                                              CaseEvent.kind == "followup_skipped"))
    assert note == "Follow-up survey not sent: no consent"
