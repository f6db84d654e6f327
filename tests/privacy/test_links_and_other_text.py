"""After retention or erasure an old invitation link records nothing, and an imported "Other" answer (its words
stored as the choice) goes like any free text, while listed and merged options stay."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from tests.privacy.data import apply_survey_once
from tests.privacy.test_erasure import rollup_rows
from voxpop.analysis.rollups import rebuild_store
from voxpop.collection import flows
from voxpop.collection.models import Answer, Response
from voxpop.collection.service import create_invitation
from voxpop.customers.models import Customer
from voxpop.imports.models import OptionMerge
from voxpop.privacy.customers import find_customer
from voxpop.privacy.erasure import erase_customer
from voxpop.privacy.retention import apply_retention
from voxpop.surveys.models import Question, Survey

OTHER_WORDS = "A present for my aunt Erika Mustermann, who camps every summer near Hamburg " * 4  # > 200 characters


def answered_link(db, external_id="LINK-1") -> tuple[int, str]:
    """A customer who answered through a link valid for a year; returns (customer number, the link's token)."""
    apply_survey_once(db)
    with db.write() as db_session:
        customer = Customer(external_id=external_id, email=f"{external_id.lower()}@example.org", consent="yes")
        db_session.add(customer)
        db_session.flush()
        survey = db_session.scalar(select(Survey).where(Survey.key == "feedback"))
        token = create_invitation(db_session=db_session, survey=survey, customer=customer, valid_days=365)
        customer_id = customer.id
    answer(db, token, score=9)
    return customer_id, token


def answer(db, token, *, score):
    survey = flows.load_survey(db, "feedback")
    return flows.record_response(db, survey, flows.Submission(
        answers={"nps": score, "csat": 4, "ease": 5}, channel="api", invitation_token=token), max_text_length=5000)


def responses(db):
    with db.read() as db_session:
        return db_session.scalar(select(func.count()).select_from(Response))


def test_an_old_link_records_nothing_after_retention(db):
    customer_id, token = answered_link(db)
    with db.write() as db_session:
        db_session.execute(update(Response).values(submitted_at=datetime.now(timezone.utc) - timedelta(days=200)))
    rebuild_store(db, zone="UTC")
    assert apply_retention(db, months=3).responses == 1
    before = responses(db)
    with pytest.raises(flows.InvalidInvitation, match="expired"):
        answer(db, token, score=2)
    assert responses(db) == before
    with db.read() as db_session:
        assert db_session.scalar(select(Response.id).where(Response.customer_id == customer_id)) is None


def test_an_answered_link_records_nothing_after_erasure_and_retention(db):
    customer_id, token = answered_link(db)
    with db.write() as db_session:
        erase_customer(db_session, find_customer(db_session, "LINK-1"), now=datetime.now(timezone.utc), actor=None)
    before = responses(db)
    with pytest.raises(flows.InvalidInvitation, match="expired"):
        answer(db, token, score=2)
    # and still not once retention has unlinked the response from the invitation
    with db.write() as db_session:
        db_session.execute(update(Response).values(submitted_at=datetime.now(timezone.utc) - timedelta(days=200)))
    apply_retention(db, months=3)
    with pytest.raises(flows.InvalidInvitation, match="expired"):
        answer(db, token, score=2)
    assert responses(db) == before
    with db.read() as db_session:
        assert db_session.scalar(select(Response.id).where(Response.customer_id == customer_id)) is None


def imported_choices(db, response_id):
    """Add an imported multiple choice to the response: a listed option, a misspelt one merged into it, and what
    the respondent typed under "Other" stored as a choice (as an import does)."""
    with db.write() as db_session:
        response = db_session.get(Response, response_id)
        question_id = db_session.scalar(select(Question.id).where(Question.version_id == response.version_id,
                                                                  Question.key == "bought"))
        for choice in ("shoes", "shoos", OTHER_WORDS):
            db_session.add(Answer(response_id=response_id, question_id=question_id, choice=choice))
        if db_session.scalar(select(OptionMerge.id)) is None:
            db_session.add(OptionMerge(survey_id=response.survey_id, question="bought", from_option="shoos",
                                       to_option="shoes"))


def choices(db):
    with db.read() as db_session:
        return sorted(db_session.scalars(select(Answer.choice).where(Answer.choice.is_not(None))))


def test_erasure_deletes_an_imported_other_answer_and_keeps_the_options(db):
    customer_id, _ = answered_link(db)
    with db.read() as db_session:
        response_id = db_session.scalar(select(Response.id).where(Response.customer_id == customer_id))
    imported_choices(db, response_id)
    rebuild_store(db, zone="UTC")
    rollups = rollup_rows(db)
    with db.write() as db_session:
        erasure = erase_customer(db_session, find_customer(db_session, "LINK-1"), now=datetime.now(timezone.utc),
                                 actor=None)
    assert erasure.counts["text_answers_deleted"] == 1
    assert choices(db) == ["shoes", "shoos"]
    assert rollup_rows(db) == rollups
    rebuild_store(db, zone="UTC")
    assert rollup_rows(db) == rollups


def test_retention_deletes_an_imported_other_answer_of_a_response_without_a_customer(db):
    _, _ = answered_link(db)
    with db.write() as db_session:
        response_id = db_session.scalar(select(Response.id))
        # an imported response: no customer, no invitation, no text; only the words typed under "Other"
        db_session.execute(update(Response).values(customer_id=None, invitation_id=None,
                                                   submitted_at=datetime.now(timezone.utc) - timedelta(days=200)))
    imported_choices(db, response_id)
    rebuild_store(db, zone="UTC")
    rollups = rollup_rows(db)
    dry = apply_retention(db, months=3, dry_run=True)
    assert (dry.responses, dry.text_answers) == (1, 1)
    done = apply_retention(db, months=3)
    assert (done.responses, done.text_answers) == (1, 1)
    assert choices(db) == ["shoes", "shoos"]
    assert rollup_rows(db) == rollups
    assert apply_retention(db, months=3, dry_run=True).responses == 0
