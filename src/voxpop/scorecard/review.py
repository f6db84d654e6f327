"""The review meeting of a scorecard's period: owners' analysis and recommendation per measure, action items with
owners, and locking the period.

Locking stores the evaluated scorecard as the review's snapshot: from then on the period's scores are that snapshot
(evaluation.evaluate returns it), and its values, approvals and commentary cannot change until an admin unlocks it.
Action items stay open to add and tick after the lock: they are what the meeting handed out, done afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.accounts.models import User
from voxpop.accounts.service import audit
from voxpop.scorecard import periods
from voxpop.scorecard.evaluation import evaluate, result_to_json
from voxpop.scorecard.models import ActionItem, Commentary, Measure, Review, Scorecard
from voxpop.store.base import utcnow

EDITORS = ("admin", "manager")  # lock the period, comment on any measure, add and tick any action
MAX_TEXT = 5000


class ReviewError(ValueError):
    """A review change that cannot be made, said so the user can fix it; `field` names the form field at fault."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class ReviewRefused(ReviewError):
    """The user's role, or not owning the measure, does not allow the change (403 on the pages and the API)."""


@dataclass(frozen=True)
class ReviewState:
    """What the review page shows besides the scores: the lock, the commentary by measure id, the actions."""

    period: str
    review: Review | None
    commentary: dict[int, Commentary]
    actions: list[ActionItem]

    @property
    def locked(self) -> bool:
        return self.review is not None and self.review.locked_at is not None


def check_period(period: str, *, kind: str | None = None, now: datetime | None = None,
                 zone: str | None = None) -> str:
    """The period label if the scorecard can show it (periods.check_period), or ReviewError naming the period."""
    try:
        return periods.check_period(period, now=now, zone=zone, kind=kind)
    except periods.PeriodError as exc:
        raise ReviewError(str(exc), field="period") from None


def get_review(*, db_session: Session, scorecard: Scorecard, period: str) -> Review | None:
    """The review row of the scorecard's period, if one was ever locked."""
    return db_session.scalar(select(Review).where(Review.scorecard_id == scorecard.id, Review.period == period))


def is_locked(*, db_session: Session, scorecard_id: int, period: str) -> bool:
    """Whether the scorecard's period is locked (its scores are the snapshot taken at the lock)."""
    locked_at = db_session.scalar(select(Review.locked_at).where(Review.scorecard_id == scorecard_id,
                                                                 Review.period == period))
    return locked_at is not None


def refuse_if_locked(*, db_session: Session, scorecard_id: int, period: str, what: str) -> None:
    """ReviewError when the period is locked: `what` (values, approvals, commentary) of a locked period stay put."""
    if is_locked(db_session=db_session, scorecard_id=scorecard_id, period=period):
        raise ReviewError(f"{period} is locked after its review, so its {what} cannot change; "
                          "an admin can unlock the period first", field="period")


def may_comment(user: User, measure: Measure) -> bool:
    """The measure's owner writes its commentary; an admin or manager may write any measure's."""
    return user.role in EDITORS or (measure.owner_id is not None and measure.owner_id == user.id)


def review_state(*, db_session: Session, scorecard: Scorecard, period: str) -> ReviewState:
    """The lock, the commentary and the action items of the scorecard's period."""
    measure_ids = select(Measure.id).where(Measure.scorecard_id == scorecard.id)
    notes = db_session.scalars(select(Commentary).where(Commentary.period == period,
                                                        Commentary.measure_id.in_(measure_ids))).all()
    actions = db_session.scalars(select(ActionItem).where(ActionItem.scorecard_id == scorecard.id,
                                                          ActionItem.period == period)
                                 .order_by(ActionItem.done, ActionItem.due.is_(None), ActionItem.due,
                                           ActionItem.id)).all()
    return ReviewState(period=period, review=get_review(db_session=db_session, scorecard=scorecard, period=period),
                       commentary={note.measure_id: note for note in notes}, actions=list(actions))


def _text(value: str, field: str, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ReviewError(f"write the {field.replace('_', ' ')}", field=field)
    if len(value) > MAX_TEXT:
        raise ReviewError(f"the {field.replace('_', ' ')} has {len(value):,} characters; keep it to {MAX_TEXT:,}",
                          field=field)
    return value


def write_commentary(*, db_session: Session, measure: Measure, period: str, analysis: str, recommendation: str,
                     actor: User) -> Commentary:
    """Save the owner's analysis and recommendation of a measure for a period (one per measure and period)."""
    if not may_comment(actor, measure):
        raise ReviewRefused(f"only the owner of {measure.name!r}, a manager or an admin writes its commentary",
                          field="analysis")
    period = check_period(period, kind=measure.period)
    refuse_if_locked(db_session=db_session, scorecard_id=measure.scorecard_id, period=period, what="commentary")
    analysis, recommendation = _text(analysis, "analysis"), _text(recommendation, "recommendation")
    if not analysis and not recommendation:
        raise ReviewError("write an analysis or a recommendation", field="analysis")
    note = db_session.scalar(select(Commentary).where(Commentary.measure_id == measure.id,
                                                      Commentary.period == period))
    if note is None:
        note = Commentary(measure_id=measure.id, period=period)
        db_session.add(note)
    note.analysis, note.recommendation, note.author_id, note.updated_at = analysis, recommendation, actor.id, utcnow()
    db_session.flush()
    return note


def add_action(*, db_session: Session, scorecard: Scorecard, period: str, text: str, owner_id: int | None,
               due: date | None, measure_id: int | None, actor: User) -> ActionItem:
    """Record an action item of the review, with its owner and due date (managers and admins)."""
    if actor.role not in EDITORS:
        raise ReviewRefused("only a manager or an admin records the review's action items", field="text")
    period = check_period(period)
    text = _text(text, "text", required=True)
    if owner_id is not None:
        owner = db_session.get(User, owner_id)
        if owner is None or not owner.is_active:
            raise ReviewError("choose the action's owner from the list of staff", field="owner")
    if measure_id is not None:
        measure = db_session.get(Measure, measure_id)
        if measure is None or measure.scorecard_id != scorecard.id:
            raise ReviewError("choose the measure from this scorecard's list", field="measure")
    action = ActionItem(scorecard_id=scorecard.id, period=period, text=text, owner_id=owner_id, due=due,
                        measure_id=measure_id)
    db_session.add(action)
    db_session.flush()
    return action


def mark_action(*, db_session: Session, action: ActionItem, done: bool, actor: User) -> ActionItem:
    """Tick an action item done (or open it again): its owner, a manager or an admin."""
    if actor.role not in EDITORS and action.owner_id != actor.id:
        raise ReviewRefused("only the action's owner, a manager or an admin ticks it", field="done")
    action.done = done
    db_session.flush()
    return action


def lock_period(*, db_session: Session, scorecard: Scorecard, period: str, actor: User, zone: str, min_base: int,
                now: datetime, client: str = "") -> Review:
    """Lock the period: its evaluated scorecard becomes the review's snapshot (managers and admins)."""
    if actor.role not in EDITORS:
        raise ReviewRefused("only a manager or an admin locks a period", field="period")
    period = check_period(period, now=now, zone=zone)
    review = get_review(db_session=db_session, scorecard=scorecard, period=period)
    if review is not None and review.locked_at is not None:
        raise ReviewError(f"{period} is locked already", field="period")
    result = evaluate(db_session, scorecard=scorecard, period=period, zone=zone, min_base=min_base, now=now)
    if review is None:
        review = Review(scorecard_id=scorecard.id, period=period)
        db_session.add(review)
    review.snapshot = result_to_json(result)
    review.locked_at, review.locked_by_id = now, actor.id
    audit(db_session=db_session, actor=actor, action="scorecard.lock", target=f"{scorecard.key}/{period}",
          client=client)
    db_session.flush()
    return review


def unlock_period(*, db_session: Session, scorecard: Scorecard, period: str, actor: User, reason: str,
                  client: str = "") -> Review:
    """Unlock a locked period (admins only, with a reason for the audit log); its scores are live again."""
    if actor.role != "admin":
        raise ReviewRefused("only an admin unlocks a period", field="period")
    review = get_review(db_session=db_session, scorecard=scorecard, period=period)
    if review is None or review.locked_at is None:
        raise ReviewError(f"{period} is not locked", field="period")
    reason = _text(reason, "reason", required=True)
    audit(db_session=db_session, actor=actor, action="scorecard.unlock", target=f"{scorecard.key}/{period}",
          client=client, reason=reason, locked_at=review.locked_at.isoformat(), locked_by=review.locked_by_id)
    review.locked_at, review.locked_by_id, review.snapshot = None, None, None
    db_session.flush()
    return review
