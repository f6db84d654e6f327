"""The review meeting's service: commentary by the measure's owner, action items, locking a period with its snapshot,
and unlocking it (admins, audited)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from tests.scorecard import builders as b
from voxpop.accounts import service as accounts
from voxpop.accounts.models import AuditEntry, User
from voxpop.scorecard import review
from voxpop.scorecard.evaluation import evaluate
from voxpop.scorecard.models import MeasureValue, Scorecard

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _user(db_session, role: str, email: str | None = None) -> User:
    return accounts.create_user(db_session=db_session, email=email or f"{role}@example.com", password=None, role=role)


@pytest.fixture
def card(db):
    """A scorecard with one manual measure owned by an agent, valued in October and November."""
    with db.write() as s:
        owner = _user(s, "agent", "owner@example.com")
        card = b.scorecard(s, "org")
        loyalty = b.objective(s, b.perspective(s, card), "loyalty")
        trained = b.measure(s, loyalty, "trained", owner_id=owner.id, unit="%")
        b.target(s, trained, "2026-01", target=80, minimum=0, maximum=100)
        b.values(s, trained, {"2026-10": 70, "2026-11": 85})
        return card.id


def _scorecard(s) -> Scorecard:
    return s.get(Scorecard, s.scalar(select(Scorecard.id)))


def _measure(s):
    from voxpop.scorecard.models import Measure

    return s.scalar(select(Measure).where(Measure.key == "trained"))


def _score(s, period: str = "2026-11") -> float | None:
    result = evaluate(s, scorecard=_scorecard(s), period=period, zone="UTC", min_base=30, now=NOW)
    return result.perspectives[0].objectives[0].measures[0].score


def _lock(s, actor, period: str = "2026-11"):
    return review.lock_period(db_session=s, scorecard=_scorecard(s), period=period, actor=actor, zone="UTC",
                              min_base=30, now=NOW)


def test_the_measure_owner_writes_its_commentary(db, card):
    with db.write() as s:
        owner = s.scalar(select(User).where(User.email == "owner@example.com"))
        review.write_commentary(db_session=s, measure=_measure(s), period="2026-11", analysis="  Training caught up. ",
                                recommendation="Keep the Tuesday sessions.", actor=owner)
    with db.read() as s:
        state = review.review_state(db_session=s, scorecard=_scorecard(s), period="2026-11")
        note = state.commentary[_measure(s).id]
        assert (note.analysis, note.recommendation) == ("Training caught up.", "Keep the Tuesday sessions.")
        assert not state.locked


def test_another_agent_may_not_comment_but_a_manager_may(db, card):
    with db.write() as s:
        other, manager = _user(s, "agent", "other@example.com"), _user(s, "manager")
        with pytest.raises(review.ReviewRefused, match="only the owner of 'Trained'"):
            review.write_commentary(db_session=s, measure=_measure(s), period="2026-11", analysis="Mine now",
                                    recommendation="", actor=other)
        review.write_commentary(db_session=s, measure=_measure(s), period="2026-11", analysis="Fine",
                                recommendation="", actor=manager)
        assert review.review_state(db_session=s, scorecard=_scorecard(s),
                                   period="2026-11").commentary[_measure(s).id].author_id == manager.id


def test_commentary_needs_words_and_a_period_of_the_measures_kind(db, card):
    with db.write() as s:
        manager = _user(s, "manager")
        with pytest.raises(review.ReviewError, match="write an analysis or a recommendation"):
            review.write_commentary(db_session=s, measure=_measure(s), period="2026-11", analysis=" ",
                                    recommendation="", actor=manager)
        with pytest.raises(review.ReviewError, match="2026-Q4 is a quarter, but these measures are reported by month"):
            review.write_commentary(db_session=s, measure=_measure(s), period="2026-Q4", analysis="x",
                                    recommendation="", actor=manager)
        with pytest.raises(review.ReviewError, match="period 'November' is not a month; write 2026-11") as caught:
            review.write_commentary(db_session=s, measure=_measure(s), period="November", analysis="x",
                                    recommendation="", actor=manager)
        assert caught.value.field == "period"


def test_locking_keeps_the_scores_of_the_period_as_they_were(db, card):
    with db.write() as s:
        manager = _user(s, "manager")
        before = _score(s)
        locked = _lock(s, manager)
        assert locked.locked_by_id == manager.id and locked.locked_at == NOW
        assert locked.snapshot["period"] == "2026-11" and locked.snapshot["key"] == "org"
    with db.write() as s:  # a value changed behind the review's back (not through the refusing services)
        s.scalar(select(MeasureValue).where(MeasureValue.period == "2026-11")).value = 20.0
    with db.read() as s:
        result = evaluate(s, scorecard=_scorecard(s), period="2026-11", zone="UTC", min_base=30, now=NOW)
        assert result.locked and _score(s) == before
        assert _score(s, "2026-10") is not None  # other periods stay live


def test_a_locked_period_refuses_commentary_values_and_a_second_lock(db, card):
    with db.write() as s:
        manager, owner = _user(s, "manager"), s.scalar(select(User).where(User.email == "owner@example.com"))
        _lock(s, manager)
        with pytest.raises(review.ReviewError, match="2026-11 is locked after its review, so its commentary cannot"):
            review.write_commentary(db_session=s, measure=_measure(s), period="2026-11", analysis="Late words",
                                    recommendation="", actor=owner)
        with pytest.raises(review.ReviewError, match="its values cannot change; an admin can unlock"):
            review.refuse_if_locked(db_session=s, scorecard_id=_scorecard(s).id, period="2026-11", what="values")
        review.refuse_if_locked(db_session=s, scorecard_id=_scorecard(s).id, period="2026-10", what="values")
        with pytest.raises(review.ReviewError, match="locked already"):
            _lock(s, manager)


def test_only_managers_and_admins_lock(db, card):
    with db.write() as s:
        for role in ("analyst", "agent", "viewer"):
            with pytest.raises(review.ReviewRefused, match="only a manager or an admin locks"):
                _lock(s, _user(s, role))
        assert not review.is_locked(db_session=s, scorecard_id=_scorecard(s).id, period="2026-11")


def test_an_admin_unlocks_with_a_reason_and_the_audit_log_keeps_it(db, card):
    with db.write() as s:
        manager, admin = _user(s, "manager"), _user(s, "admin")
        _lock(s, manager)
        with pytest.raises(review.ReviewRefused, match="only an admin unlocks"):
            review.unlock_period(db_session=s, scorecard=_scorecard(s), period="2026-11", actor=manager,
                                 reason="typo")
        with pytest.raises(review.ReviewError, match="write the reason"):
            review.unlock_period(db_session=s, scorecard=_scorecard(s), period="2026-11", actor=admin, reason="")
        review.unlock_period(db_session=s, scorecard=_scorecard(s), period="2026-11", actor=admin,
                             reason="The October survey was re-imported")
    with db.read() as s:
        assert not review.is_locked(db_session=s, scorecard_id=_scorecard(s).id, period="2026-11")
        entries = {entry.action: entry for entry in s.scalars(select(AuditEntry))}
        assert entries["scorecard.lock"].target == "org/2026-11"
        unlocked = entries["scorecard.unlock"]
        assert unlocked.target == "org/2026-11" and unlocked.details["reason"] == "The October survey was re-imported"
        assert unlocked.details["locked_by"] == manager.id
        assert not evaluate(s, scorecard=_scorecard(s), period="2026-11", zone="UTC", min_base=30, now=NOW).locked
    with db.write() as s:
        with pytest.raises(review.ReviewError, match="2026-11 is not locked"):
            review.unlock_period(db_session=s, scorecard=_scorecard(s), period="2026-11",
                                 actor=s.scalar(select(User).where(User.role == "admin")), reason="again")


def test_action_items_have_owners_and_are_ticked_by_them_after_the_lock_too(db, card):
    with db.write() as s:
        manager, owner = _user(s, "manager"), s.scalar(select(User).where(User.email == "owner@example.com"))
        other = _user(s, "agent", "other@example.com")
        with pytest.raises(review.ReviewRefused, match="only a manager or an admin records"):
            review.add_action(db_session=s, scorecard=_scorecard(s), period="2026-11", text="Do it", owner_id=None,
                              due=None, measure_id=None, actor=owner)
        with pytest.raises(review.ReviewError, match="write the text"):
            review.add_action(db_session=s, scorecard=_scorecard(s), period="2026-11", text=" ", owner_id=None,
                              due=None, measure_id=None, actor=manager)
        with pytest.raises(review.ReviewError, match="choose the action's owner"):
            review.add_action(db_session=s, scorecard=_scorecard(s), period="2026-11", text="Do it",
                              owner_id=999_999, due=None, measure_id=None, actor=manager)
        action = review.add_action(db_session=s, scorecard=_scorecard(s), period="2026-11",
                                   text="Book two more sessions", owner_id=owner.id, due=date(2026, 12, 20),
                                   measure_id=_measure(s).id, actor=manager)
        _lock(s, manager)
        with pytest.raises(review.ReviewRefused, match="only the action's owner"):
            review.mark_action(db_session=s, action=action, done=True, actor=other)
        review.mark_action(db_session=s, action=action, done=True, actor=owner)
        assert review.review_state(db_session=s, scorecard=_scorecard(s), period="2026-11").actions[0].done


@pytest.mark.parametrize(("period", "words"), [
    ("0001-01", "'0001-01' is before 1900: pick a later period, such as 2026-11"),
    ("1899-12", "'1899-12' is before 1900"),
    ("9999-12", "'9999-12' has not started yet: pick 2026-12 or an earlier period"),
    ("2030-01", "'2030-01' has not started yet"),
    ("2027-Q1", "'2027-Q1' has not started yet: pick 2026-Q4 or an earlier period"),
])
def test_a_period_no_page_can_show_is_never_locked(db, card, period, words):
    with db.write() as s:
        with pytest.raises(review.ReviewError, match=words) as refused:
            _lock(s, _user(s, "admin"), period)
        assert refused.value.field == "period"
    with db.read() as s:
        assert review.get_review(db_session=s, scorecard=_scorecard(s), period=period) is None


@pytest.mark.parametrize(("period", "words"), [("0001-01", "before 1900"), ("9999-12", "has not started yet")])
def test_commentary_and_actions_of_a_period_no_page_can_show_are_refused_and_nothing_is_stored(db, card, period,
                                                                                               words):
    with db.write() as s:
        manager = _user(s, "manager")
        with pytest.raises(review.ReviewError, match=words) as refused:
            review.write_commentary(db_session=s, measure=_measure(s), period=period, analysis="x",
                                    recommendation="", actor=manager)
        assert refused.value.field == "period"
        with pytest.raises(review.ReviewError, match=words):
            review.add_action(db_session=s, scorecard=_scorecard(s), period=period, text="Call back", owner_id=None,
                              due=None, measure_id=None, actor=manager)
    with db.read() as s:
        state = review.review_state(db_session=s, scorecard=_scorecard(s), period=period)
        assert state.commentary == {} and state.actions == []


def test_the_running_period_may_be_locked_and_a_label_is_read_without_its_spaces(db, card):
    with db.write() as s:
        locked = _lock(s, _user(s, "admin"), " 2026-12 ")
        assert locked.period == "2026-12" and locked.locked_at is not None
