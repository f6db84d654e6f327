"""The review meeting: a period's measures with their scores, each owner's analysis and recommendation, action items,
and locking the period; and people's values: entering, approving and importing them. Pages here, JSON twins under
/api/v1/scorecards/{key}/review and /values (writes send the CSRF token in X-CSRF-Token).

Every staff role reads; measure owners write the commentary of their own measures; managers and admins write any,
record action items and lock; an admin unlocks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from voxpop.accounts.models import User
from voxpop.core.wording import as_sentence
from voxpop.scorecard import entries, review
from voxpop.scorecard.evaluation import evaluate, target_in_force
from voxpop.scorecard.models import ActionItem, Measure, MeasureTarget, MeasureValue, Scorecard
from voxpop.scorecard.schemas import ScorecardPublic, scorecard_public
from voxpop.scorecard.service import get_scorecard
from voxpop.scorecard.views import Period, PeriodError, choose_period, scorecard_kind, staff_name
from voxpop.store.base import utcnow
from voxpop.web.auth import DbDep, SettingsDep, client_address, require_role, verify_csrf
from voxpop.web.navigation import ALL_STAFF
from voxpop.web.problems import problem, problem_responses
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])  # mounted under /api/v1 by the app
CSRF = [Depends(verify_csrf)]
Staff = Annotated[User, Depends(require_role(*ALL_STAFF))]  # every staff role reads the review
Key = Annotated[str, Path(max_length=64, description="The scorecard's key.")]
PeriodParam = Annotated[str, Query(max_length=10, description="2026-11 or 2026-Q4 (default: the last ended "
                                                              "period).")]
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # an action item or an entered value
MAX_CSV = 200_000  # bytes of a values file: thousands of rows; more is a wrong file


class CommentaryPublic(BaseModel):
    measure_key: str
    measure_name: str
    analysis: str
    recommendation: str
    author: str | None
    updated_at: datetime


class ActionItemPublic(BaseModel):
    id: int
    text: str
    owner_id: int | None
    owner: str | None
    due: date | None
    done: bool
    measure_key: str | None
    measure_name: str | None = Field(description="The measure's name, as the review's action items list it.")


class ReviewPublic(BaseModel):
    """A period's review: the scorecard (the lock's snapshot once locked), commentary and action items."""

    key: str
    period: str
    locked: bool
    locked_at: datetime | None
    locked_by: str | None
    scorecard: ScorecardPublic
    bands: dict[str, tuple[float, float]] = Field(description="Each stabilised measure's band in force in the period "
                                                              "(low, high) by measure key: its target, best inside.")
    commentary: list[CommentaryPublic]
    actions: list[ActionItemPublic]


class CommentaryCreate(BaseModel):
    measure: str = Field(max_length=64, description="The measure's key.")
    period: str = Field(max_length=10)
    analysis: str = Field("", max_length=review.MAX_TEXT)
    recommendation: str = Field("", max_length=review.MAX_TEXT)


class ActionItemCreate(BaseModel):
    period: str = Field(max_length=10)
    text: str = Field(max_length=review.MAX_TEXT)
    owner_id: int | None = Field(None, ge=1, le=2**31 - 1)
    due: date | None = None
    measure: str | None = Field(None, max_length=64, description="The measure's key, if the action is about one.")


class ActionItemUpdate(BaseModel):
    done: bool


class PeriodLock(BaseModel):
    period: str = Field(max_length=10)
    reason: str = Field("", max_length=review.MAX_TEXT, description="Why an admin unlocks (for the audit log).")


def scorecard_or_404(db_session, key: str) -> Scorecard:
    """The scorecard with this key, or a 404 the error handlers turn into a page or a problem."""
    scorecard = get_scorecard(db_session=db_session, key=key)
    if scorecard is None:
        raise HTTPException(404)
    return scorecard


def chosen_period(db_session, scorecard: Scorecard, period: str, settings) -> Period:
    """The period asked for, or the last that ended; ReviewError (field period) saying what to write instead."""
    try:
        return choose_period(period, kind=scorecard_kind(db_session, scorecard), now=utcnow(),
                             zone=settings.timezone)
    except PeriodError as exc:
        raise review.ReviewError(str(exc), field="period") from None


def _measure_by_key(db_session, scorecard: Scorecard, key: str | None) -> Measure | None:
    if not key:
        return None
    measure = db_session.scalar(select(Measure).where(Measure.scorecard_id == scorecard.id, Measure.key == key))
    if measure is None:
        raise review.ReviewError(f"this scorecard has no measure {key!r}; choose one from its list", field="measure")
    return measure


def _review_public(db_session, scorecard: Scorecard, period: str, settings) -> ReviewPublic:
    result = evaluate(db_session, scorecard=scorecard, period=period, zone=settings.timezone,
                      min_base=settings.min_base, now=utcnow())
    state = review.review_state(db_session=db_session, scorecard=scorecard, period=period)
    measures = {m.id: m for m in db_session.scalars(select(Measure).where(Measure.scorecard_id == scorecard.id))}
    locked_by = db_session.get(User, state.review.locked_by_id) if state.locked and state.review.locked_by_id else None
    return ReviewPublic(
        key=scorecard.key, period=period, locked=state.locked,
        locked_at=state.review.locked_at if state.locked else None, locked_by=staff_name(locked_by),
        scorecard=scorecard_public(result),
        bands={measures[measure_id].key: band
               for measure_id, band in stabilise_bands(db_session, measures=measures.values(), period=period).items()},
        commentary=[CommentaryPublic(measure_key=measures[note.measure_id].key,
                                     measure_name=measures[note.measure_id].name, analysis=note.analysis,
                                     recommendation=note.recommendation,
                                     author=staff_name(db_session.get(User, note.author_id)) if note.author_id else None,
                                     updated_at=note.updated_at)
                    for note in state.commentary.values()],
        actions=[ActionItemPublic(id=action.id, text=action.text, owner_id=action.owner_id,
                                  owner=staff_name(db_session.get(User, action.owner_id)) if action.owner_id else None,
                                  due=action.due, done=action.done,
                                  measure_key=measures[action.measure_id].key
                                  if action.measure_id in measures else None,
                                  measure_name=measures[action.measure_id].name
                                  if action.measure_id in measures else None)
                 for action in state.actions])


def stabilise_bands(db_session, *, measures: Iterable[Measure], period: str) -> dict[int, tuple[float, float]]:
    """Each stabilise measure's band in force in `period` (low, high) by measure id: its target in words ("8 to 16"),
    since a stabilised measure's scored target is the band, not one number."""
    stabilised = {measure.id for measure in measures if measure.scoring == "stabilise"}
    if not stabilised:
        return {}
    rows = db_session.scalars(select(MeasureTarget).where(MeasureTarget.measure_id.in_(stabilised))).all()
    bands = {}
    for measure_id in stabilised:
        row = target_in_force([row for row in rows if row.measure_id == measure_id], period)
        if row is not None and row.low is not None and row.high is not None:
            bands[measure_id] = (row.low, row.high)
    return bands


def _people(db_session) -> list[tuple[int, str]]:
    """Who an action can be given to: the active staff."""
    users = db_session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.name, User.email))
    return [(user.id, user.name or user.email) for user in users]


def _errors(error: Exception | None, form: str) -> dict[str, object]:
    """A form's error in the summary, linked to its field, and at the field."""
    if error is None:
        return {"errors": [], "field_errors": {}}
    words = as_sentence(str(error))
    target = f"{form}-{getattr(error, 'field', None) or 'text'}"
    return {"errors": [(target, words)], "field_errors": {target: words}}


def _named(scorecard: Scorecard) -> dict[str, str]:
    """What a page says of the scorecard, read while its session is open."""
    return {"key": scorecard.key, "name": scorecard.name}


def _review_page(request: Request, db, settings, user, key: str, period: str, *, error: Exception | None = None,
                 form: str = "", values: dict | None = None, status_code: int = 200):
    with db.read() as db_session:
        scorecard = scorecard_or_404(db_session, key)
        try:
            picker = chosen_period(db_session, scorecard, period, settings)
        except review.ReviewError as exc:
            return render(request, "scorecard/review.html", {
                "scorecard": _named(scorecard), "period": period, "public": None, "json_href": None,
            } | _errors(exc, "period"), status_code=422)
        period = picker.label
        public = _review_public(db_session, scorecard, period, settings)
        measures = list(db_session.scalars(select(Measure).where(Measure.scorecard_id == scorecard.id)
                                           .order_by(Measure.position, Measure.id)))
        page = {
            "scorecard": _named(scorecard), "people": _people(db_session),
            "may_comment": {m.key for m in measures if review.may_comment(user, m)},
            "measure_options": [(m.key, m.name) for m in measures],
        }
    return render(request, "scorecard/review.html", page | {
        "period": period, "public": public, "commentary": {note.measure_key: note for note in public.commentary},
        "can_edit": user.role in review.EDITORS, "can_unlock": user.role == "admin",
        "user_id": user.id, "form": form, "values": values or {}, "saved": request.query_params.get("saved", ""),
        "picker": picker, "timezone": settings.timezone,
        "json_href": f"/api/v1/scorecards/{key}/review?" + urlencode({"period": period}),
    } | _errors(error, form), status_code=status_code)


@router.get("/scorecards/{key}/review", include_in_schema=False)
def review_page(request: Request, user: Staff, db: DbDep, settings: SettingsDep, key: Key, period: PeriodParam = ""):
    return _review_page(request, db, settings, user, key, period)


@api.get("/scorecards/{key}/review", response_model=ReviewPublic, responses=problem_responses(404, 422))
def review_json(request: Request, user: Staff, db: DbDep, settings: SettingsDep, key: Key, period: PeriodParam = ""):
    """A period's review: the scored scorecard (the snapshot taken at the lock, once locked), each measure's
    analysis and recommendation, and the action items."""
    with db.read() as db_session:
        scorecard = scorecard_or_404(db_session, key)
        try:
            period = chosen_period(db_session, scorecard, period, settings).label
        except review.ReviewError as exc:
            return _problem(request, exc)
        return _review_public(db_session, scorecard, period, settings)


def _problem(request: Request, exc: review.ReviewError | entries.EntryError, status: int = 422, *,
             code: str = "invalid-review", field: str | None = None):
    """A refused write as application/problem+json, naming the field at fault (`field` overrides the error's)."""
    words = as_sentence(str(exc))
    return problem(status, words, code=code, instance=request.url.path,
                   errors=[{"field": field or exc.field or "body", "message": words}])


def _back(key: str, period: str, saved: str, anchor: str = "") -> RedirectResponse:
    query = urlencode({"period": period, "saved": saved})
    return RedirectResponse(f"/scorecards/{key}/review?{query}" + (f"#{anchor}" if anchor else ""), status_code=303)


# ---- the writes: one function each, called by the form and by its JSON twin ------------------------------------


def _comment(db, key: str, change: CommentaryCreate, user) -> None:
    with db.write() as db_session:
        scorecard = scorecard_or_404(db_session, key)
        measure = _measure_by_key(db_session, scorecard, change.measure)
        if measure is None:
            raise review.ReviewError("choose the measure to comment on", field="measure")
        review.write_commentary(db_session=db_session, measure=measure, period=change.period,
                                analysis=change.analysis, recommendation=change.recommendation, actor=user)


def _add_action(db, key: str, change: ActionItemCreate, user) -> int:
    with db.write() as db_session:
        scorecard = scorecard_or_404(db_session, key)
        measure = _measure_by_key(db_session, scorecard, change.measure)
        return review.add_action(db_session=db_session, scorecard=scorecard, period=change.period, text=change.text,
                                 owner_id=change.owner_id, due=change.due,
                                 measure_id=measure.id if measure else None, actor=user).id


def _mark_action(db, key: str, action_id: int, done: bool, user) -> str:
    with db.write() as db_session:
        scorecard = scorecard_or_404(db_session, key)
        action = db_session.get(ActionItem, action_id)
        if action is None or action.scorecard_id != scorecard.id:
            raise HTTPException(404)
        review.mark_action(db_session=db_session, action=action, done=done, actor=user)
        return action.period


def _lock(request: Request, db, settings, key: str, change: PeriodLock, user, *, unlock: bool) -> None:
    with db.write() as db_session:
        scorecard = scorecard_or_404(db_session, key)
        if unlock:
            review.unlock_period(db_session=db_session, scorecard=scorecard, period=change.period, actor=user,
                                 reason=change.reason, client=client_address(request, settings))
        else:
            review.lock_period(db_session=db_session, scorecard=scorecard, period=change.period, actor=user,
                               zone=settings.timezone, min_base=settings.min_base, now=utcnow(),
                               client=client_address(request, settings))


# ---- forms -----------------------------------------------------------------------------------------------------


@router.post("/scorecards/{key}/review/commentary", include_in_schema=False, dependencies=CSRF)
def commentary_form(request: Request, user: Staff, db: DbDep, settings: SettingsDep, key: Key,
                    measure: Annotated[str, Form(max_length=64)] = "",
                    period: Annotated[str, Form(max_length=10)] = "",
                    analysis: Annotated[str, Form(max_length=review.MAX_TEXT)] = "",
                    recommendation: Annotated[str, Form(max_length=review.MAX_TEXT)] = ""):
    """Save a measure's analysis and recommendation for the period."""
    change = CommentaryCreate.model_construct(measure=measure, period=period, analysis=analysis,
                                              recommendation=recommendation)
    try:
        _comment(db, key, change, user)
    except review.ReviewError as exc:
        status = 403 if isinstance(exc, review.ReviewRefused) else 422
        return _review_page(request, db, settings, user, key, period, error=exc, form=f"m-{measure}",
                            values={"analysis": analysis, "recommendation": recommendation}, status_code=status)
    return _back(key, period, "commentary", f"m-{measure}")


@router.post("/scorecards/{key}/review/actions", include_in_schema=False, dependencies=CSRF)
def action_form(request: Request, user: Staff, db: DbDep, settings: SettingsDep, key: Key,
                period: Annotated[str, Form(max_length=10)] = "",
                text: Annotated[str, Form(max_length=review.MAX_TEXT)] = "",
                owner: Annotated[str, Form(max_length=12)] = "",
                due: Annotated[str, Form(max_length=20)] = "",
                measure: Annotated[str, Form(max_length=64)] = ""):
    """Record an action item of the review."""
    values = {"text": text, "owner": owner, "due": due, "measure": measure}
    try:
        if owner and not (owner.isdigit() and 1 <= int(owner) < 2**31):
            raise review.ReviewError("choose the action's owner from the list of staff", field="owner")
        try:
            due_day = date.fromisoformat(due) if due else None
        except ValueError:
            raise review.ReviewError(f"{due!r} is not a day; write it as 2026-12-31", field="due") from None
        _add_action(db, key, ActionItemCreate.model_construct(period=period, text=text,
                                                              owner_id=int(owner) if owner else None,
                                                              due=due_day, measure=measure or None), user)
    except review.ReviewError as exc:
        status = 403 if isinstance(exc, review.ReviewRefused) else 422
        return _review_page(request, db, settings, user, key, period, error=exc, form="action", values=values,
                            status_code=status)
    return _back(key, period, "action", "actions")


@router.post("/scorecards/{key}/review/actions/{action_id}", include_in_schema=False, dependencies=CSRF)
def action_done_form(request: Request, user: Staff, db: DbDep, settings: SettingsDep, key: Key, action_id: ItemId,
                     done: Annotated[str, Form(max_length=5)] = "",
                     period: Annotated[str, Form(max_length=10)] = ""):
    """Tick an action item done, or open it again."""
    try:
        period = _mark_action(db, key, action_id, done == "yes", user)
    except review.ReviewError as exc:
        return _review_page(request, db, settings, user, key, period, error=exc, form="action", status_code=403)
    return _back(key, period, "done" if done == "yes" else "reopened", "actions")


@router.post("/scorecards/{key}/review/lock", include_in_schema=False, dependencies=CSRF)
def lock_form(request: Request, user: Staff, db: DbDep, settings: SettingsDep, key: Key,
              period: Annotated[str, Form(max_length=10)] = "",
              unlock: Annotated[str, Form(max_length=5)] = "",
              reason: Annotated[str, Form(max_length=review.MAX_TEXT)] = ""):
    """Lock the period (its scores become the snapshot), or unlock it (admins, with a reason)."""
    try:
        _lock(request, db, settings, key, PeriodLock.model_construct(period=period, reason=reason), user,
              unlock=unlock == "yes")
    except review.ReviewError as exc:
        status = 403 if isinstance(exc, review.ReviewRefused) else 422
        return _review_page(request, db, settings, user, key, period, error=exc,
                            form="unlock" if unlock == "yes" else "lock", values={"reason": reason},
                            status_code=status)
    return _back(key, period, "unlocked" if unlock == "yes" else "locked")


# ---- JSON twins ------------------------------------------------------------------------------------------------


def _json_write(request: Request, db, settings, key: str, period: str, write):
    try:
        write()
    except review.ReviewError as exc:
        return _problem(request, exc, 403 if isinstance(exc, review.ReviewRefused) else 422)
    with db.read() as db_session:
        return _review_public(db_session, scorecard_or_404(db_session, key), period, settings)


@api.post("/scorecards/{key}/review/commentary", response_model=ReviewPublic, dependencies=CSRF,
          responses=problem_responses(403, 404, 422))
def commentary_json(request: Request, user: Staff, db: DbDep, settings: SettingsDep, key: Key,
                    change: CommentaryCreate):
    """Save a measure's analysis and recommendation for the period: its owner, a manager or an admin; refused
    once the period is locked."""
    return _json_write(request, db, settings, key, change.period, lambda: _comment(db, key, change, user))


@api.post("/scorecards/{key}/review/actions", response_model=ReviewPublic, dependencies=CSRF,
          responses=problem_responses(403, 404, 422))
def action_json(request: Request, user: Staff, db: DbDep, settings: SettingsDep, key: Key, change: ActionItemCreate):
    """Record an action item of the period's review (managers and admins)."""
    return _json_write(request, db, settings, key, change.period, lambda: _add_action(db, key, change, user))


@api.post("/scorecards/{key}/review/actions/{action_id}", response_model=ActionItemPublic, dependencies=CSRF,
          responses=problem_responses(403, 404))
def action_done_json(request: Request, user: Staff, db: DbDep, key: Key, action_id: ItemId,
                     change: ActionItemUpdate):
    """Tick an action item done (or open it again): its owner, a manager or an admin."""
    try:
        _mark_action(db, key, action_id, change.done, user)
    except review.ReviewError as exc:
        return _problem(request, exc, 403)
    with db.read() as db_session:
        action = db_session.get(ActionItem, action_id)
        owner = db_session.get(User, action.owner_id) if action.owner_id else None
        measure = db_session.get(Measure, action.measure_id) if action.measure_id else None
        return ActionItemPublic(id=action.id, text=action.text, owner_id=action.owner_id, owner=staff_name(owner),
                                due=action.due, done=action.done, measure_key=measure.key if measure else None,
                                measure_name=measure.name if measure else None)


@api.post("/scorecards/{key}/review/lock", response_model=ReviewPublic, dependencies=CSRF,
          responses=problem_responses(403, 404, 422))
def lock_json(request: Request, user: Staff, db: DbDep, settings: SettingsDep, key: Key, change: PeriodLock):
    """Lock the period (managers and admins): its scores become the snapshot, its values, approvals and commentary
    stay as they are."""
    return _json_write(request, db, settings, key, change.period,
                       lambda: _lock(request, db, settings, key, change, user, unlock=False))


@api.post("/scorecards/{key}/review/unlock", response_model=ReviewPublic, dependencies=CSRF,
          responses=problem_responses(403, 404, 422))
def unlock_json(request: Request, user: Staff, db: DbDep, settings: SettingsDep, key: Key, change: PeriodLock):
    """Unlock a locked period (admins, with a reason kept in the audit log)."""
    return _json_write(request, db, settings, key, change.period,
                       lambda: _lock(request, db, settings, key, change, user, unlock=True))


# ---- people's values -------------------------------------------------------------------------------------------


class MeasureValuePublic(BaseModel):
    id: int
    measure_key: str
    measure_name: str
    period: str
    value: float
    n: int | None
    comment: str
    origin: str  # manual | csv
    entered_by: str | None
    entered_at: datetime
    approved: bool
    approved_by: str | None
    approved_at: datetime | None


class ManualMeasurePublic(BaseModel):
    key: str
    name: str
    unit: str
    owner: str | None
    value: MeasureValuePublic | None  # the period's value, approved or waiting for its owner
    may_enter: bool
    may_approve: bool


class ValuesPublic(BaseModel):
    """The manual measures of a period with their values, and the values waiting for this user's approval."""

    key: str
    period: str
    locked: bool
    measures: list[ManualMeasurePublic]
    pending: list[MeasureValuePublic]


class ValueCreate(BaseModel):
    measure: str = Field(max_length=64, description="The measure's key.")
    period: str = Field(max_length=10)
    value: float
    n: int | None = Field(None, ge=0, le=2**31 - 1)
    comment: str = Field("", max_length=entries.MAX_COMMENT)


class ValuesImport(BaseModel):
    text: str = Field(max_length=MAX_CSV, description="CSV: measure,period,value,comment (and n).")


class ValuesImportPublic(BaseModel):
    rows: int
    entered: int
    unchanged: int
    approved: int
    measures: list[str]


def _manual(db_session, scorecard: Scorecard) -> list[Measure]:
    measures = db_session.scalars(select(Measure).where(Measure.scorecard_id == scorecard.id)
                                  .order_by(Measure.position, Measure.id))
    return [m for m in measures if (m.source or {}).get("kind", "manual") == "manual"]


def _value_public(db_session, value: MeasureValue, measure: Measure) -> MeasureValuePublic:
    entered_by = db_session.get(User, value.entered_by_id) if value.entered_by_id else None
    approved_by = db_session.get(User, value.approved_by_id) if value.approved_by_id else None
    return MeasureValuePublic(id=value.id, measure_key=measure.key, measure_name=measure.name, period=value.period,
                              value=value.value, n=value.n, comment=value.comment, origin=value.origin,
                              entered_by=staff_name(entered_by), entered_at=value.entered_at,
                              approved=value.approved_at is not None, approved_by=staff_name(approved_by),
                              approved_at=value.approved_at)


def _may_approve(user, measure: Measure) -> bool:
    return user.role == "admin" or measure.owner_id == user.id  # as entries.approve_value allows


def _values_public(db_session, scorecard: Scorecard, period: str, user) -> ValuesPublic:
    measures = _manual(db_session, scorecard)
    by_id = {m.id: m for m in measures}
    rows = db_session.scalars(select(MeasureValue).where(MeasureValue.measure_id.in_(by_id))
                              .order_by(MeasureValue.period.desc(), MeasureValue.id)).all() if by_id else []
    of_period = {row.measure_id: row for row in rows if row.period == period}
    kind = "quarter" if "Q" in period else "month"
    return ValuesPublic(
        key=scorecard.key, period=period,
        locked=review.is_locked(db_session=db_session, scorecard_id=scorecard.id, period=period),
        measures=[ManualMeasurePublic(
            key=m.key, name=m.name, unit=m.unit,
            owner=staff_name(db_session.get(User, m.owner_id)) if m.owner_id else None,
            value=_value_public(db_session, of_period[m.id], m) if m.id in of_period else None,
            may_enter=user.role in entries.EDITORS or m.owner_id == user.id, may_approve=_may_approve(user, m))
            for m in measures if m.period == kind],
        pending=[_value_public(db_session, row, by_id[row.measure_id]) for row in rows
                 if row.approved_at is None and _may_approve(user, by_id[row.measure_id])])


def _enter(db, key: str, change: ValueCreate, user) -> None:
    with db.write() as db_session:
        scorecard = scorecard_or_404(db_session, key)
        measure = _measure_by_key(db_session, scorecard, change.measure)
        if measure is None:
            raise entries.EntryError("choose the measure to enter a value for", field="measure")
        review.refuse_if_locked(db_session=db_session, scorecard_id=scorecard.id, period=change.period.strip(),
                                what="values")
        entries.enter_value(db_session=db_session, measure=measure, period=change.period, value=change.value,
                            comment=change.comment, actor=user, n=change.n)


def _approve(db, key: str, value_id: int, user) -> str:
    with db.write() as db_session:
        scorecard = scorecard_or_404(db_session, key)
        value = db_session.get(MeasureValue, value_id)
        measure = db_session.get(Measure, value.measure_id) if value is not None else None
        if measure is None or measure.scorecard_id != scorecard.id:
            raise HTTPException(404)
        review.refuse_if_locked(db_session=db_session, scorecard_id=scorecard.id, period=value.period,
                                what="approvals")
        entries.approve_value(db_session=db_session, value=value, actor=user)
        return value.period


def _import(db, key: str, text: str, user) -> entries.ImportReport:
    """Import the CSV, all or nothing; a row that would change a locked period's value refuses the whole file."""
    with db.write() as db_session:
        scorecard = scorecard_or_404(db_session, key)
        started = utcnow()
        report = entries.import_values(db_session=db_session, scorecard=scorecard, text=text, actor=user)
        changed = db_session.scalars(select(MeasureValue.period).join(Measure, Measure.id == MeasureValue.measure_id)
                                     .where(Measure.scorecard_id == scorecard.id,
                                            MeasureValue.entered_at >= started)).all()
        for period in sorted(set(changed)):
            # raising rolls the whole import back, as an error in any row does
            review.refuse_if_locked(db_session=db_session, scorecard_id=scorecard.id, period=period, what="values")
        return report


def _values_page(request: Request, db, settings, user, key: str, period: str, *, error: Exception | None = None,
                 form: str = "", values: dict | None = None, status_code: int = 200):
    with db.read() as db_session:
        scorecard = scorecard_or_404(db_session, key)
        named = _named(scorecard)
        try:
            picker = chosen_period(db_session, scorecard, period, settings)
        except review.ReviewError as exc:
            error, form, status_code, public, picker = exc, "period", 422, None, None
        else:
            period = picker.label
            public = _values_public(db_session, scorecard, period, user)
    return render(request, "scorecard/values.html", {
        "scorecard": named, "period": period, "public": public, "form": form, "values": values or {},
        "saved": request.query_params.get("saved", ""), "columns": ",".join(entries.COLUMNS),
        "picker": picker, "timezone": settings.timezone,
        "json_href": f"/api/v1/scorecards/{key}/values?" + urlencode({"period": period}) if public else None,
    } | _errors(error, form), status_code=status_code)


def _values_back(key: str, period: str, saved: str, anchor: str = "") -> RedirectResponse:
    query = urlencode({"period": period, "saved": saved})
    return RedirectResponse(f"/scorecards/{key}/values?{query}" + (f"#{anchor}" if anchor else ""), status_code=303)


def _refused(exc: Exception) -> bool:
    """A refusal for who the user is (403), not for what they wrote (422)."""
    return isinstance(exc, review.ReviewRefused) or (isinstance(exc, entries.EntryError)
                                                     and str(exc).startswith("only "))


@router.get("/scorecards/{key}/values", include_in_schema=False)
def values_page(request: Request, user: Staff, db: DbDep, settings: SettingsDep, key: Key, period: PeriodParam = ""):
    return _values_page(request, db, settings, user, key, period)


@api.get("/scorecards/{key}/values", response_model=ValuesPublic, responses=problem_responses(404, 422))
def values_json(request: Request, user: Staff, db: DbDep, settings: SettingsDep, key: Key, period: PeriodParam = ""):
    """The manual measures of a period with their values (approved or waiting), and every value waiting for your
    approval (you own the measure, or you are an admin)."""
    with db.read() as db_session:
        scorecard = scorecard_or_404(db_session, key)
        try:
            period = chosen_period(db_session, scorecard, period, settings).label
        except review.ReviewError as exc:
            return _problem(request, exc)
        return _values_public(db_session, scorecard, period, user)


@router.post("/scorecards/{key}/values", include_in_schema=False, dependencies=CSRF)
def value_form(request: Request, user: Staff, db: DbDep, settings: SettingsDep, key: Key,
               measure: Annotated[str, Form(max_length=64)] = "", period: Annotated[str, Form(max_length=10)] = "",
               value: Annotated[str, Form(max_length=40)] = "", n: Annotated[str, Form(max_length=12)] = "",
               comment: Annotated[str, Form(max_length=entries.MAX_COMMENT)] = ""):
    """Enter (or change) a manual measure's value for the period; it counts once its owner approves it."""
    try:
        number, count = entries.check_value(value, n=n)
        _enter(db, key, ValueCreate.model_construct(measure=measure, period=period, value=number, n=count,
                                                    comment=comment), user)
    except (entries.EntryError, review.ReviewError) as exc:
        return _values_page(request, db, settings, user, key, period, error=exc, form=f"v-{measure}",
                            values={"measure": measure, "value": value, "n": n, "comment": comment},
                            status_code=403 if _refused(exc) else 422)
    return _values_back(key, period, "entered", f"v-{measure}")


@router.post("/scorecards/{key}/values/{value_id}/approve", include_in_schema=False, dependencies=CSRF)
def approve_form(request: Request, user: Staff, db: DbDep, settings: SettingsDep, key: Key, value_id: ItemId,
                 period: Annotated[str, Form(max_length=10)] = ""):
    """Approve an entered value (the measure's owner or an admin)."""
    try:
        _approve(db, key, value_id, user)
    except (entries.EntryError, review.ReviewError) as exc:
        return _values_page(request, db, settings, user, key, period, error=exc, form="pending",
                            status_code=403 if _refused(exc) else 422)
    return _values_back(key, period, "approved", "pending")


@router.post("/scorecards/{key}/values/import", include_in_schema=False, dependencies=CSRF)
def import_form(request: Request, user: Staff, db: DbDep, settings: SettingsDep, key: Key,
                period: Annotated[str, Form(max_length=10)] = "",
                text: Annotated[str, Form(max_length=MAX_CSV)] = "",
                upload: Annotated[UploadFile | None, File()] = None):
    """Import values from a CSV (uploaded or pasted): all rows or none."""
    try:
        if upload is not None and upload.filename:
            content = upload.file.read(MAX_CSV + 1)
            if len(content) > MAX_CSV:
                raise entries.EntryError(f"a values file is at most {MAX_CSV // 1000} kB; this one is larger; "
                                         "split it", field="file")
            try:
                text = content.decode("utf-8")
            except UnicodeDecodeError:
                raise entries.EntryError("the file is not UTF-8 text; save it as UTF-8 (CSV) and upload it again",
                                         field="file") from None
        if not text.strip():
            raise entries.EntryError("choose a CSV file to upload, or paste its rows", field="file")
        report = _import(db, key, text, user)
    except (entries.EntryError, review.ReviewError) as exc:
        exc.field = "file"
        return _values_page(request, db, settings, user, key, period, error=exc, form="import",
                            values={"text": text}, status_code=403 if _refused(exc) else 422)
    return _values_back(key, period, f"imported-{report.entered}", "import")


def _values_write(request: Request, db, user, key: str, period: str, write):
    try:
        write()
    except (entries.EntryError, review.ReviewError) as exc:
        return _problem(request, exc, 403 if _refused(exc) else 422, code="invalid-value")
    with db.read() as db_session:
        return _values_public(db_session, scorecard_or_404(db_session, key), period, user)


@api.post("/scorecards/{key}/values", response_model=ValuesPublic, dependencies=CSRF,
          responses=problem_responses(403, 404, 422))
def value_json(request: Request, user: Staff, db: DbDep, key: Key, change: ValueCreate):
    """Enter (or change) a manual measure's value: its owner, a manager or an admin; it counts once approved.
    Refused once the period is locked."""
    return _values_write(request, db, user, key, change.period.strip(), lambda: _enter(db, key, change, user))


@api.post("/scorecards/{key}/values/{value_id}/approve", response_model=ValuesPublic, dependencies=CSRF,
          responses=problem_responses(403, 404, 422))
def approve_json(request: Request, user: Staff, db: DbDep, key: Key, value_id: ItemId):
    """Approve an entered value (the measure's owner or an admin); refused once its period is locked."""
    try:
        period = _approve(db, key, value_id, user)
    except (entries.EntryError, review.ReviewError) as exc:
        return _problem(request, exc, 403 if _refused(exc) else 422, code="invalid-value")
    with db.read() as db_session:
        return _values_public(db_session, scorecard_or_404(db_session, key), period, user)


@api.post("/scorecards/{key}/values/import", response_model=ValuesImportPublic, dependencies=CSRF,
          responses=problem_responses(403, 404, 422))
def import_json(request: Request, user: Staff, db: DbDep, key: Key, upload: ValuesImport):
    """Import values from CSV text (measure,period,value,comment, and n): every row or none; the error names each
    row at fault."""
    try:
        report = _import(db, key, upload.text, user)
    except (entries.EntryError, review.ReviewError) as exc:
        return _problem(request, exc, 403 if _refused(exc) else 422, code="invalid-values", field="text")
    return ValuesImportPublic(rows=report.rows, entered=report.entered, unchanged=report.unchanged,
                              approved=report.approved, measures=report.measures)
