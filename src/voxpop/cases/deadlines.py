"""Watching case deadlines: a step of the case worker warns the owner before a deadline and escalates to the
department's managers after it, each once.

Two deadlines run per case, in business hours of the workspace (see cases.service.deadlines), and only while the
case is running (statuses.RUNNING: new, in progress or waiting, as the queue's overdue): first contact, while
nobody has reached the customer yet, and resolution, while the case is not resolved. "Once" holds even if
two workers run this at the same moment: each warning or escalation is claimed with a conditional UPDATE
(... WHERE warned_at IS NULL) and only the worker whose UPDATE changed the row tells anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from voxpop.accounts.models import User
from voxpop.cases.models import Case
from voxpop.cases.service import add_event, business_week, case_link, case_summary, get_policy
from voxpop.cases.statuses import RUNNING
from voxpop.core.business_time import BusinessWeek, add_business_hours, business_hours_between
from voxpop.notify.events import queue_event
from voxpop.notify.outbox import queue_mail
from voxpop.store.database import Database


@dataclass(frozen=True)
class Deadline:
    """One of a case's two clocks, and the columns that say it was warned about and escalated."""

    name: str
    label: str
    due: InstrumentedAttribute
    warned_at: InstrumentedAttribute
    escalated_at: InstrumentedAttribute
    running: ColumnElement[bool]  # while this holds, the clock runs


DEADLINES = (
    Deadline("first_contact", "first contact", Case.first_contact_due, Case.first_contact_warned_at,
             Case.first_contact_escalated_at, Case.first_contact_at.is_(None)),
    Deadline("resolve", "resolution", Case.resolve_due, Case.resolve_warned_at, Case.resolve_escalated_at,
             Case.resolved_at.is_(None)),
)


def _running(deadline: Deadline) -> ColumnElement[bool]:
    return Case.status.in_(RUNNING) & deadline.due.is_not(None) & deadline.running


def claim(*, db_session: Session, case_id: int, column: InstrumentedAttribute, deadline: Deadline,
          now: datetime) -> bool:
    """Set `column` (a warned_at or escalated_at) to `now` if it is still empty and the clock still runs; True
    if this call set it. Another worker's UPDATE of the same row waits for this transaction, then finds the
    column set and changes nothing."""
    result = db_session.execute(
        update(Case).where(Case.id == case_id, column.is_(None), _running(deadline))
        .values({column: now}).execution_options(synchronize_session=False))
    return result.rowcount == 1


def escalation_recipients(*, db_session: Session, department_id: int | None) -> list[User]:
    """Who hears of a missed deadline: the active managers of the case's department, else the active admins."""
    managers = []
    if department_id is not None:
        managers = db_session.scalars(select(User).where(
            User.role == "manager", User.department_id == department_id, User.is_active.is_(True)).order_by(User.id)).all()
    return list(managers) or list(db_session.scalars(
        select(User).where(User.role == "admin", User.is_active.is_(True)).order_by(User.id)))


def _when(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def _hours(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0") + (" business hour" if value == 1 else " business hours")


def warn(*, db_session: Session, case: Case, deadline: Deadline, now: datetime, week: BusinessWeek,
         public_url: str) -> list[str]:
    """Tell the case's owner (without one, whoever would hear of the escalation) that a deadline is near; returns
    the addresses told."""
    due = getattr(case, deadline.due.key)
    owner = db_session.get(User, case.owner_id) if case.owner_id else None
    people = [owner] if owner is not None and owner.is_active else escalation_recipients(
        db_session=db_session, department_id=case.department_id)
    left = _hours(business_hours_between(now, due, week))
    for person in people:
        queue_mail(db_session=db_session, kind="case.warning", recipient=person.email, related=f"case:{case.id}",
                   subject=f"Case {case.id}: {deadline.label} due in {left}",
                   body_text=f"Case {case.id} ({case.title}) needs its {deadline.label} by {_when(due, week.zone)}, "
                             f"{left} from now.\n\nOpen the case: {case_link(case, public_url)}\n",
                   headers={"Auto-Submitted": "auto-generated"})
    told = [person.email for person in people]
    add_event(db_session=db_session, case=case, kind="warned", at=now, deadline=deadline.name, due=due.isoformat(),
              told=told)
    return told


def escalate(*, db_session: Session, case: Case, deadline: Deadline, now: datetime, week: BusinessWeek,
             public_url: str) -> list[str]:
    """Tell the department's managers (or the admins) that a deadline was missed, on the timeline and by a
    case.updated webhook; returns the addresses told."""
    due = getattr(case, deadline.due.key)
    owner = db_session.get(User, case.owner_id) if case.owner_id else None
    held_by = f"{owner.name or owner.email}" if owner is not None else "nobody (the case has no owner)"
    people = escalation_recipients(db_session=db_session, department_id=case.department_id)
    late = _hours(business_hours_between(due, now, week))
    for person in people:
        queue_mail(db_session=db_session, kind="case.escalated", recipient=person.email, related=f"case:{case.id}",
                   subject=f"Case {case.id} is overdue: {deadline.label} was due {_when(due, week.zone)}",
                   body_text=f"Case {case.id} ({case.title}) missed its {deadline.label} deadline of "
                             f"{_when(due, week.zone)} by {late}. It is a {case.priority} case held by {held_by}.\n\n"
                             f"Open the case: {case_link(case, public_url)}\n",
                   headers={"Auto-Submitted": "auto-generated"})
    told = [person.email for person in people]
    add_event(db_session=db_session, case=case, kind="escalated", at=now, deadline=deadline.name,
              due=due.isoformat(), told=told)
    queue_event(db_session=db_session, event="case.updated", data=case_summary(case) | {"escalated": deadline.name},
                at=now)
    return told


def watch_deadlines(db: Database, *, now: datetime, zone: str, public_url: str, limit: int = 200) -> int:
    """One step of the case worker: warn of deadlines within the policy's warn_before_hours business hours, and
    escalate those missed; returns how many warnings and escalations were made."""
    made = 0
    with db.write() as db_session:
        policy = get_policy(db_session=db_session)
        week = business_week(policy, zone=zone)
        # A deadline is near when it falls before the moment warn_before_hours business hours from now.
        near = add_business_hours(now, float(policy.warn_before_hours), week)
        for deadline in DEADLINES:
            running = _running(deadline)
            soon = db_session.scalars(select(Case.id).where(
                running, deadline.warned_at.is_(None), deadline.escalated_at.is_(None), deadline.due > now,
                deadline.due <= near).order_by(deadline.due, Case.id).limit(limit)).all()
            for case_id in soon:
                if claim(db_session=db_session, case_id=case_id, column=deadline.warned_at, deadline=deadline, now=now):
                    warn(db_session=db_session, case=db_session.get(Case, case_id), deadline=deadline, now=now,
                         week=week, public_url=public_url)
                    made += 1
            missed = db_session.scalars(select(Case.id).where(
                running, deadline.escalated_at.is_(None), deadline.due <= now,
            ).order_by(deadline.due, Case.id).limit(limit)).all()
            for case_id in missed:
                if claim(db_session=db_session, case_id=case_id, column=deadline.escalated_at, deadline=deadline,
                         now=now):
                    escalate(db_session=db_session, case=db_session.get(Case, case_id), deadline=deadline, now=now,
                             week=week, public_url=public_url)
                    made += 1
    return made
