"""Recording responses against the real store: exactly once, atomically, on every backend."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from tests.helpers import apply_survey
from voxpop.collection import flows, service
from voxpop.collection.models import Answer, AttributeSet, Response


def count(db, model) -> int:
    with db.read() as db_session:
        return db_session.scalar(select(func.count()).select_from(model))


def record(db, survey, **fields):
    submission = flows.Submission(channel="api", **({"answers": {"nps": 9}} | fields))
    return flows.record_response(db, survey, submission, max_text_length=5000)


def test_a_response_is_stored_with_answers_and_attributes(db):
    apply_survey(db)
    survey = flows.load_survey(db, "feedback")
    recorded = record(
        db, survey, answers={"nps": 3, "why_low": "late", "bought": ["tents"]}, attributes={"channel": "email"},
    )
    assert not recorded.replayed and recorded.version == 1
    with db.read() as db_session:
        response = db_session.scalar(select(Response))
        assert response.public_id == recorded.public_id
        assert {(a.score, a.choice, a.text) for a in response.answers} == {
            (3, None, None), (None, "tents", None), (None, None, "late")
        }
        assert [(a.name, a.value) for a in response.attributes] == [("channel", "email")]
        assert response.customer_id is None  # only an invitation ties a response to a customer


def test_the_same_idempotency_key_never_creates_a_second_response(db):
    apply_survey(db)
    survey = flows.load_survey(db, "feedback")
    first = record(db, survey, idempotency_key="retry-1")
    again = record(db, survey, idempotency_key="retry-1")
    assert again.replayed and again.public_id == first.public_id
    assert count(db, Response) == 1 and count(db, Answer) == 1


def test_a_reused_key_with_another_body_is_refused(db):
    apply_survey(db)
    survey = flows.load_survey(db, "feedback")
    record(db, survey, idempotency_key="k")
    with pytest.raises(flows.IdempotencyKeyReused):
        record(db, survey, idempotency_key="k", answers={"nps": 2})
    assert count(db, Response) == 1


def test_concurrent_retries_with_one_key_store_one_response(db):
    apply_survey(db)
    survey = flows.load_survey(db, "feedback")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: record(db, survey, idempotency_key="same"), range(16)))
    assert len({result.public_id for result in results}) == 1
    assert sum(not result.replayed for result in results) == 1
    assert count(db, Response) == 1


def test_concurrent_distinct_submissions_are_all_kept(db):
    apply_survey(db)
    survey = flows.load_survey(db, "feedback")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: record(db, survey, idempotency_key=f"k{i}", answers={"nps": i % 11}), range(60)))
    assert count(db, Response) == 60 and count(db, Answer) == 60


def test_an_invitation_answers_once(db):
    result = apply_survey(db)
    with db.write() as db_session:
        customer = service.get_or_create_customer(db_session=db_session, external_id="C-1")
        token = service.create_invitation(db_session=db_session, survey=result.survey, customer=customer)
    survey = flows.load_survey(db, "feedback")
    record(db, survey, invitation_token=token)
    with pytest.raises(flows.AlreadyAnswered):
        record(db, survey, invitation_token=token, answers={"nps": 0})
    with db.read() as db_session:
        responses = db_session.scalars(select(Response)).all()
        assert len(responses) == 1 and responses[0].answers[0].score == 9
        assert responses[0].customer_id is not None


def test_an_unknown_invitation_is_refused(db):
    apply_survey(db)
    with pytest.raises(flows.InvalidInvitation):
        record(db, flows.load_survey(db, "feedback"), invitation_token="made-up")
    assert count(db, Response) == 0


def test_invalid_answers_store_nothing(db):
    apply_survey(db)
    with pytest.raises(flows.InvalidAnswers) as refused:
        record(db, flows.load_survey(db, "feedback"), answers={"nps": 4, "csat": 9, "colour": "red"},
               attributes={"shoe_size": "44"})
    assert {error.question for error in refused.value.errors} == {"colour", "csat", "attributes.shoe_size"}
    assert count(db, Response) == 0 and count(db, AttributeSet) == 0


def test_closed_and_draft_surveys_take_no_answers(db):
    apply_survey(db, status="closed")
    with pytest.raises(flows.SurveyClosed):
        record(db, flows.load_survey(db, "feedback"))
    apply_survey(db, status="draft")
    with pytest.raises(flows.SurveyNotFound):
        record(db, flows.load_survey(db, "feedback"))


def test_editing_a_live_survey_keeps_old_answers_on_their_version(db):
    apply_survey(db)
    record(db, flows.load_survey(db, "feedback"), answers={"nps": 9})
    edited = apply_survey(db).survey  # same file: no new version
    assert len(edited.versions) == 1
    from tests.helpers import FEEDBACK_SURVEY

    changed = apply_survey(db, FEEDBACK_SURVEY.replace("How likely are you to recommend us?", "Would you recommend us?"))
    assert changed.new_version and changed.version.number == 2
    recorded = record(db, flows.load_survey(db, "feedback"), answers={"nps": 10})
    assert recorded.version == 2
    with db.read() as db_session:
        versions = sorted(db_session.scalars(select(Response.version_id)).all())
        assert len(set(versions)) == 2


def test_a_retry_is_answered_even_after_the_survey_closed(db):
    apply_survey(db)
    first = record(db, flows.load_survey(db, "feedback"), idempotency_key="late-retry")
    apply_survey(db, status="closed")
    again = record(db, flows.load_survey(db, "feedback"), idempotency_key="late-retry")
    assert again.replayed and again.public_id == first.public_id


def test_answers_to_an_older_version_are_refused(db):
    from tests.helpers import FEEDBACK_SURVEY

    apply_survey(db)
    shown = flows.load_survey(db, "feedback")
    apply_survey(db, FEEDBACK_SURVEY.replace("What did you buy?", "What did you order?"))
    with pytest.raises(flows.SurveyChanged):
        record(db, flows.load_survey(db, "feedback"), version_id=shown.version_id)
    assert count(db, Response) == 0


def test_a_double_click_on_an_invitation_form_is_one_response_not_already_answered(db):
    result = apply_survey(db)
    with db.write() as db_session:
        token = service.create_invitation(db_session=db_session, survey=result.survey)
    survey = flows.load_survey(db, "feedback")

    def click(_):
        submission = flows.Submission(answers={"nps": 9}, channel="web", invitation_token=token,
                                      idempotency_key="form:same-nonce", strict_idempotency=False)
        return flows.record_response(db, survey, submission, max_text_length=5000)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(click, range(8)))
    assert len({result.public_id for result in results}) == 1
    assert count(db, Response) == 1


def test_each_response_moves_the_rollups_exactly_as_a_rebuild_computes_them(db):
    from voxpop.analysis.models import ScoreRollup
    from voxpop.analysis.rollups import rebuild_store

    apply_survey(db)
    survey = flows.load_survey(db, "feedback")
    for index, score in enumerate([10, 9, 7, 3, 0, 6, 8]):
        flows.record_response(db, survey, flows.Submission(
            answers={"nps": score, "csat": 1 + index % 5, "ease": 1 + index % 7},
            attributes={"channel": "web" if index % 2 else "app"}, channel="api"),
            max_text_length=5000, zone="Pacific/Auckland")

    def rollup_rows():
        with db.read() as db_session:
            return sorted((r.question_id, r.day, r.attribute, r.value, r.n, r.total, r.total_squares, r.promoters,
                           r.detractors, r.top_two, r.agree) for r in db_session.scalars(select(ScoreRollup)))

    kept = rollup_rows()
    assert len(kept) == 3 * 3  # three scored questions × (all, app, web) on one day
    rebuild_store(db, zone="Pacific/Auckland")
    assert rollup_rows() == kept
