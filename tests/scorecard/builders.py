"""Small builders for scorecard tests: a scorecard's rows written straight through the models, and approved values.

    with db.write() as s:
        card = scorecard(s, "org")
        customer = perspective(s, card, "customer")
        loyalty = objective(s, customer, "loyalty")
        nps = measure(s, loyalty, "nps", scoring="linear")
        target(s, nps, "2026-01", target=40, minimum=0, maximum=60)
        values(s, nps, {"2026-10": 35, "2026-11": 42})
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from voxpop.scorecard.models import Measure, MeasureTarget, MeasureValue, Objective, Perspective, Scorecard


def _added(db_session: Session, row):
    db_session.add(row)
    db_session.flush()
    return row


def scorecard(db_session: Session, key: str = "org", *, name: str | None = None,
              parent: Scorecard | None = None) -> Scorecard:
    return _added(db_session, Scorecard(key=key, name=name or key.title(), parent_id=parent.id if parent else None))


def perspective(db_session: Session, card: Scorecard, key: str = "customer", *, name: str | None = None,
                position: int = 0) -> Perspective:
    return _added(db_session, Perspective(scorecard_id=card.id, key=key, name=name or key.replace("_", " ").title(),
                                          position=position))


def objective(db_session: Session, in_perspective: Perspective, key: str, *, weight: float = 1.0, position: int = 0,
              rolls_up_to: Objective | None = None, owner_id: int | None = None) -> Objective:
    return _added(db_session, Objective(
        scorecard_id=in_perspective.scorecard_id, perspective_id=in_perspective.id, key=key,
        name=key.replace("_", " ").title(), weight=weight, position=position, owner_id=owner_id,
        rolls_up_to_id=rolls_up_to.id if rolls_up_to else None))


def measure(db_session: Session, of_objective: Objective, key: str, *, scoring: str = "linear",
            direction: str = "up", period: str = "month", weight: float = 1.0, unit: str = "",
            source: dict | None = None, position: int = 0, owner_id: int | None = None) -> Measure:
    """A measure; manual (values people enter) unless `source` says otherwise."""
    return _added(db_session, Measure(
        scorecard_id=of_objective.scorecard_id, objective_id=of_objective.id, key=key,
        name=key.replace("_", " ").title(), scoring=scoring, direction=direction, period=period, weight=weight,
        unit=unit, source=source or {"kind": "manual"}, position=position, owner_id=owner_id))


def target(db_session: Session, of_measure: Measure, from_period: str, **thresholds) -> MeasureTarget:
    """The target row in force from `from_period`: target, baseline, minimum, maximum, goal, red_flag, low, high,
    rules."""
    return _added(db_session, MeasureTarget(measure_id=of_measure.id, from_period=from_period,
                                            rules=thresholds.pop("rules", []), **thresholds))


def values(db_session: Session, of_measure: Measure, by_period: dict[str, float | tuple[float, int]], *,
           approved: bool = True, approved_by_id: int | None = None) -> list[MeasureValue]:
    """Values typed in per period (a number, or (value, n)), approved unless `approved` is False."""
    rows = []
    for period, entry in by_period.items():
        value, n = entry if isinstance(entry, tuple) else (entry, None)
        rows.append(_added(db_session, MeasureValue(
            measure_id=of_measure.id, period=period, value=float(value), n=n,
            approved_at=datetime(2026, 1, 1, tzinfo=UTC) if approved else None, approved_by_id=approved_by_id)))
    return rows
