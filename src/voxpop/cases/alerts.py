"""Alert rules on the control charts: a metric of a survey, with a response filter, watched month by month. Each
signal the run rules find is told to the rule's owner once (an e-mail, and an `alert.signal` webhook), in the
words every chart uses (web.signals), and can open a draft initiative.

The chart is the dashboard's (dashboard.service.monthly_counts, dashboard.trends.survey_trends): the month that
has not ended is left out of the limits and the rules, as on the dashboard. A signal is known by its rule and the
first month of its run, so a run that goes on for another month is the same signal, told once. A run that
had ended before the alert was made is recorded (the page lists it) but told to nobody.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voxpop.accounts.models import User
from voxpop.accounts.service import audit
from voxpop.analysis.periods import current_period
from voxpop.cases.initiatives import InitiativeError, Target, save_initiative, target_from
from voxpop.cases.models import AlertRule, AlertSignal, Initiative
from voxpop.collection.filters import FilterError, response_conditions
from voxpop.dashboard.schemas import TrendPublic
from voxpop.dashboard.service import monthly_counts
from voxpop.dashboard.trends import survey_trends
from voxpop.notify.events import queue_event
from voxpop.notify.outbox import queue_mail

log = logging.getLogger("voxpop.cases")
ALERT_METRICS = ("nps", "csat", "ces")  # the metrics the dashboard charts month by month


@dataclass(frozen=True)
class FoundSignal:
    period: str  # the first month of the run, "2026-09-01": the signal's identity with its rule
    rule: str
    sentence: str
    periods: tuple[str, ...]


def save_alert(*, db_session: Session, actor: User | None, name: str, owner_id: int | None, target: Target,
               alert: AlertRule | None = None) -> AlertRule:
    """Create an alert rule, or change `alert`, after checking its fields."""
    name = (name or "").strip()
    if not name:
        raise InitiativeError("give the alert a name", field="name")
    if len(name) > 200:
        raise InitiativeError("the name is at most 200 characters long", field="name")
    if target.metric not in ALERT_METRICS:
        raise InitiativeError(f"an alert watches {', '.join(ALERT_METRICS)}", field="metric")
    if owner_id is None or db_session.get(User, owner_id) is None:
        raise InitiativeError("choose the user the alert tells", field="owner")
    created = alert is None
    if created:
        alert = AlertRule(active=True)
        db_session.add(alert)
    alert.name, alert.owner_id, alert.target = name, owner_id, target.as_json()
    db_session.flush()
    if actor is not None:
        audit(db_session=db_session, actor=actor, action="alert.create" if created else "alert.update",
              target=f"alert:{alert.id}", after={"name": name, "owner_id": owner_id, "target": alert.target})
    return alert


def set_active(*, db_session: Session, alert: AlertRule, active: bool, actor: User | None) -> AlertRule:
    """Pause an alert rule, or resume it."""
    alert.active = active
    if actor is not None:
        audit(db_session=db_session, actor=actor, action="alert.resume" if active else "alert.pause",
              target=f"alert:{alert.id}")
    return alert


def alert_trend(db_session: Session, target: Target, *, now: datetime, zone: str, min_base: int) -> TrendPublic | None:
    """The target's monthly control chart as the dashboard draws it, or None while it has fewer than 3 ended
    months."""
    response_filter = target.response_filter()
    monthly = monthly_counts(db_session.connection(), response_filter,
                             conditions=response_conditions(response_filter, zone=zone), zone=zone)
    ours = [record for record in monthly if record["survey"] == target.survey and record["question"] == target.question]
    return survey_trends(ours, current=current_period(now, zone), min_base=min_base).get(target.survey)


def signals_of(trend: TrendPublic | None) -> list[FoundSignal]:
    """The chart's signals, each named by its rule and the first month of its run."""
    if trend is None:
        return []
    return [FoundSignal(signal.periods[0], signal.rule, signal.sentence, tuple(signal.periods))
            for signal in trend.signals]


def watch_alerts(db, *, now: datetime, zone: str, public_url: str, min_base: int = 30) -> int:
    """One worker step: for every active alert rule, record each new signal of its chart once, e-mail the owner
    and queue an `alert.signal` webhook in the same transaction; returns how many new signals were recorded. Signals whose run had ended before the alert was made are
    recorded without telling anyone: a new alert does not send its chart's history."""
    with db.read() as db_session:
        alerts = [(alert.id, alert.target) for alert in
                  db_session.scalars(select(AlertRule).where(AlertRule.active.is_(True)).order_by(AlertRule.id))]
        found = {}
        for alert_id, stored in alerts:
            try:
                target = target_from(stored)
                if target is not None:
                    found[alert_id] = signals_of(alert_trend(db_session, target, now=now, zone=zone,
                                                             min_base=min_base))
            except (FilterError, KeyError, TypeError) as exc:  # a target stored by hand that no longer reads
                log.warning("alert %s cannot be watched: %s", alert_id, exc)
    recorded = 0
    for alert_id, signals in found.items():
        if not signals:
            continue
        with db.write() as db_session:
            alert = db_session.get(AlertRule, alert_id)
            if alert is None or not alert.active:
                continue
            made = current_period(alert.created_at, zone)
            for signal in signals:
                # A run that had ended before the alert was made is history, not news: recorded, not told.
                recorded += _record(db_session, alert, signal, now=now, public_url=public_url,
                                    tell=signal.periods[-1] >= made)
    return recorded


def _record(db_session: Session, alert: AlertRule, signal: FoundSignal, *, now: datetime, public_url: str,
            tell: bool = True) -> int:
    """Record one signal and (with `tell`) tell the owner, unless it was recorded before (then 0)."""
    if db_session.get(AlertSignal, (alert.id, signal.period, signal.rule)) is not None:
        return 0
    try:
        with db_session.begin_nested():  # another server may record the same signal at the same moment
            db_session.add(AlertSignal(alert_id=alert.id, period=signal.period, rule=signal.rule,
                                       message=signal.sentence, found_at=now))
    except IntegrityError:
        return 0
    if not tell:
        return 1
    link = f"{public_url.rstrip('/')}/improvement/alerts/{alert.id}"
    owner = db_session.get(User, alert.owner_id) if alert.owner_id else None
    if owner is not None and owner.is_active:
        queue_mail(db_session=db_session, kind="alert.signal", recipient=owner.email,
                   subject=f"Alert {alert.name}: {signal.sentence.split(':')[0]}",
                   body_text=f"{signal.sentence}.\n\nThe alert watches {target_from(alert.target).describe()}.\n\n"
                             f"See the chart, or open an initiative from this signal: {link}\n",
                   related=f"alert:{alert.id}")
    queue_event(db_session=db_session, event="alert.signal", at=now, data={
        "alert_id": alert.id, "alert": alert.name, "target": alert.target, "period": signal.period,
        "rule": signal.rule, "message": signal.sentence, "periods": list(signal.periods)})
    return 1


def draft_from_signal(*, db_session: Session, alert: AlertRule, signal: AlertSignal, actor: User | None) -> Initiative:
    """A draft initiative (stage Plan) from a signal: its title and problem say what the chart showed, its target
    is the alert's; the signal remembers it, so a second click opens the same one."""
    if signal.initiative_id is not None and db_session.get(Initiative, signal.initiative_id) is not None:
        return db_session.get(Initiative, signal.initiative_id)
    target = target_from(alert.target)
    initiative = save_initiative(
        db_session=db_session, actor=actor, title=f"{alert.name}: {signal.message.split(':')[0]}"[:200],
        problem=f"{signal.message}. Found by the alert {alert.name!r} on {signal.found_at:%Y-%m-%d}.",
        owner_id=alert.owner_id, target=target, draft=True)
    signal.initiative_id = initiative.id
    return initiative
