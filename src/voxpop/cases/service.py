"""Cases: opening one, moving it through its statuses, assigning it, and recording contact. Plain functions with
keyword-only arguments; the caller owns the transaction, and every change writes a timeline event, an audit
entry (when staff made it) and the notifications it causes (queued in the same transaction, see voxpop.notify).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voxpop.accounts.models import Department, User
from voxpop.accounts.service import audit
from voxpop.cases.models import Case, CaseEvent, CasePolicy, CaseRoute, RootCause
from voxpop.cases.statuses import LABELS, OPEN, PRIORITIES, IllegalMove, check_move, is_reopen
from voxpop.core.business_time import BusinessWeek, add_business_hours
from voxpop.notify.events import queue_event
from voxpop.notify.outbox import queue_mail
from voxpop.store.base import utcnow

# Bain's practice: contact every detractor within 24 hours (Reichheld & Markey, The Ultimate Question 2.0).
DEFAULT_FIRST_CONTACT_HOURS = {"urgent": 4, "high": 8, "normal": 24, "low": 40}
DEFAULT_RESOLVE_HOURS = {"urgent": 16, "high": 40, "normal": 80, "low": 160}
CASE_HANDLERS = ("agent", "manager")  # the roles a case can be assigned to automatically
KINDS_OF_CONTACT = ("email", "call", "meeting")


class CaseError(ValueError):
    """A case change that cannot be made, said so the user can fix it; `field` names the form field."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


def policy_or_defaults(*, db_session: Session) -> CasePolicy:
    """The workspace's case policy, or (not stored, so a read session can call this) the defaults it would get."""
    return db_session.scalar(select(CasePolicy).order_by(CasePolicy.id).limit(1)) or CasePolicy(
        first_contact_hours=dict(DEFAULT_FIRST_CONTACT_HOURS), resolve_hours=dict(DEFAULT_RESOLVE_HOURS),
        workday_start="09:00", workday_end="17:00", workdays=[1, 2, 3, 4, 5], warn_before_hours=4.0,
        assignment="least-open", followup_days=14)


def get_policy(*, db_session: Session) -> CasePolicy:
    """The workspace's case policy, stored with the defaults the first time it is asked for."""
    policy = policy_or_defaults(db_session=db_session)
    if policy.id is None:
        db_session.add(policy)
        db_session.flush()
    return policy


def business_week(policy: CasePolicy, *, zone: str) -> BusinessWeek:
    """The policy's working week in the workspace's time zone."""
    return BusinessWeek(zone=zone, start=time.fromisoformat(policy.workday_start), end=time.fromisoformat(policy.workday_end),
                        workdays=frozenset(policy.workdays or (1, 2, 3, 4, 5)))


@dataclass(frozen=True)
class Deadlines:
    first_contact: datetime
    resolve: datetime


def deadlines(policy: CasePolicy, *, priority: str, opened_at: datetime, zone: str) -> Deadlines:
    """When a case opened at `opened_at` must first reach the customer, and be resolved, in business hours."""
    week = business_week(policy, zone=zone)
    first = float((policy.first_contact_hours or DEFAULT_FIRST_CONTACT_HOURS).get(priority, 24))
    resolve = float((policy.resolve_hours or DEFAULT_RESOLVE_HOURS).get(priority, 80))
    return Deadlines(add_business_hours(opened_at, first, week), add_business_hours(opened_at, resolve, week))


def route(*, db_session: Session, attributes: dict[str, str], fallback: int | None, policy: CasePolicy) -> int | None:
    """The department a case goes to: the first route whose attribute value the response has, else the rule's
    department (`fallback`), else the policy's default."""
    for case_route in db_session.scalars(select(CaseRoute).order_by(CaseRoute.position, CaseRoute.id)):
        if attributes.get(case_route.attribute) == case_route.value:
            return case_route.department_id
    return fallback if fallback is not None else policy.default_department_id


def choose_owner(*, db_session: Session, department_id: int | None, policy: CasePolicy) -> int | None:
    """Who in the department gets the next case: the one with fewest open cases (least-open), or the one whose
    last assignment is oldest (round-robin). Ties go to the lowest user id, so the choice is repeatable."""
    if department_id is None:
        return None
    people = select(User.id).where(User.department_id == department_id, User.is_active.is_(True),
                                   User.role.in_(CASE_HANDLERS))
    if policy.assignment == "round-robin":
        # One expression object for the column and the GROUP BY: PostgreSQL matches them by their bind parameters.
        owner = CaseEvent.details["owner_id"].as_integer()
        last = (select(owner.label("owner"), func.max(CaseEvent.id).label("last"))
                .where(CaseEvent.kind == "assigned").group_by(owner).subquery())
        statement = (select(User.id).outerjoin(last, last.c.owner == User.id).where(User.id.in_(people))
                     .order_by(func.coalesce(last.c.last, 0), User.id))
    else:
        open_cases = (select(Case.owner_id, func.count().label("n")).where(Case.status.in_(OPEN))
                      .group_by(Case.owner_id).subquery())
        statement = (select(User.id).outerjoin(open_cases, open_cases.c.owner_id == User.id).where(User.id.in_(people))
                     .order_by(func.coalesce(open_cases.c.n, 0), User.id))
    return db_session.scalar(statement.limit(1))


def add_event(*, db_session: Session, case: Case, kind: str, actor: User | None = None, note: str | None = None,
              at: datetime | None = None, from_status: str | None = None, to_status: str | None = None,
              **details) -> CaseEvent:
    """Add one entry to the case's timeline."""
    event = CaseEvent(case_id=case.id, kind=kind, actor_id=actor.id if actor else None, note=note, at=at or utcnow(),
                      from_status=from_status, to_status=to_status, details=details)
    db_session.add(event)
    return event


def case_summary(case: Case) -> dict:
    """The case as webhooks carry it: ids and states, never the customer's words or address."""
    return {"id": case.id, "status": case.status, "priority": case.priority, "rule_id": case.rule_id,
            "department_id": case.department_id, "owner_id": case.owner_id, "customer_id": case.customer_id,
            "opened_at": case.opened_at, "first_contact_due": case.first_contact_due, "resolve_due": case.resolve_due,
            "first_contact_at": case.first_contact_at, "resolved_at": case.resolved_at, "closed_at": case.closed_at,
            "root_cause_id": case.root_cause_id}


def case_link(case: Case, public_url: str) -> str:
    return f"{public_url.rstrip('/')}/cases/{case.id}"


def _tell_owner(*, db_session: Session, case: Case, kind: str, subject: str, body: str, public_url: str) -> None:
    owner = db_session.get(User, case.owner_id) if case.owner_id else None
    if owner is not None and owner.is_active:
        queue_mail(db_session=db_session, kind=kind, recipient=owner.email, subject=subject,
                   body_text=f"{body}\n\nOpen the case: {case_link(case, public_url)}\n", related=f"case:{case.id}")


def open_case(*, db_session: Session, title: str, priority: str = "normal", department_id: int | None = None,
              owner_id: int | None = None, rule_id: int | None = None, response_id: int | None = None,
              customer_id: int | None = None, contact_consent: bool | None = None, actor: User | None = None,
              opened_at: datetime | None = None, zone: str = "UTC", public_url: str = "", notify: bool = True) -> Case:
    """Open a case: its deadlines from the policy, an owner chosen in its department unless one is given, an
    'opened' event, and (with `notify`) an e-mail to the owner and a `case.opened` webhook. The demo and
    history backfills pass notify=False: nobody should be e-mailed about a case of last year."""
    if priority not in PRIORITIES:
        raise CaseError(f"priority must be one of {', '.join(PRIORITIES)}, not {priority!r}", field="priority")
    policy = get_policy(db_session=db_session)
    opened_at = opened_at or utcnow()
    due = deadlines(policy, priority=priority, opened_at=opened_at, zone=zone)
    if owner_id is None:
        owner_id = choose_owner(db_session=db_session, department_id=department_id, policy=policy)
    case = Case(title=title[:300], priority=priority, department_id=department_id, owner_id=owner_id, rule_id=rule_id,
                response_id=response_id, customer_id=customer_id, contact_consent=contact_consent, status="new",
                opened_at=opened_at, updated_at=opened_at, first_contact_due=due.first_contact,
                resolve_due=due.resolve)
    db_session.add(case)
    db_session.flush()
    add_event(db_session=db_session, case=case, kind="opened", actor=actor, at=opened_at, to_status="new",
              rule_id=rule_id, response_id=response_id)
    if owner_id is not None:
        add_event(db_session=db_session, case=case, kind="assigned", actor=actor, at=opened_at, owner_id=owner_id,
                  department_id=department_id)
    if owner_id is not None and notify:
        _tell_owner(db_session=db_session, case=case, kind="case.assigned", subject=f"Case {case.id} is yours: {case.title}",
                    body=f"A {priority} case was assigned to you. First contact is due by "
                         f"{due.first_contact:%Y-%m-%d %H:%M} UTC.", public_url=public_url)
    if actor is not None:
        audit(db_session=db_session, actor=actor, action="case.open", target=f"case:{case.id}")
    if notify:
        queue_event(db_session=db_session, event="case.opened", data=case_summary(case), at=opened_at)
    return case


def resolved_at_first_contact(contacts: int) -> bool | None:
    """Whether a case resolved after `contacts` logged contacts was resolved at the first: None without any."""
    return contacts == 1 if contacts else None


def change_status(*, db_session: Session, case: Case, to: str, actor: User | None, note: str | None = None,
                  root_cause_id: int | None = None, action_taken: str | None = None,
                  issue_resolved: bool | None = None, at: datetime | None = None, followup_days: int | None = None,
                  client: str = "", notify: bool = True, zone: str = "UTC") -> CaseEvent:
    """Move the case to status `to`, if the workflow allows it. Closing asks for an active root cause, the action
    taken, and whether the customer's issue was resolved. Reopening is refused while the customer has another
    case of the same rule open, and gives the case a new resolve deadline from the reopening (in business hours
    of `zone`)."""
    try:
        check_move(case.status, to)
    except IllegalMove as exc:
        raise CaseError(str(exc), field="status") from None
    at = at or utcnow()
    if to == "closed":
        cause = db_session.get(RootCause, root_cause_id) if root_cause_id is not None else None
        if cause is None or not cause.active:
            raise CaseError("choose the root cause before closing the case" if cause is None else
                            f"the root cause {cause.name!r} is no longer in use; choose an active one",
                            field="root_cause")
        if not (action_taken or "").strip():
            raise CaseError("say what action was taken before closing the case", field="action_taken")
        if issue_resolved is None:
            raise CaseError("say whether the customer's issue was resolved before closing the case",
                            field="issue_resolved")
    previous = case.status
    if is_reopen(previous, to):
        if case.customer_id is not None and case.rule_id is not None:
            # One open case per customer and rule (the partial unique index): a newer one takes the reopening.
            other = db_session.scalar(select(Case.id).where(
                Case.customer_id == case.customer_id, Case.rule_id == case.rule_id, Case.status != "closed",
                Case.id != case.id).limit(1))
            if other is not None:
                raise CaseError(f"case {other} is open for this customer and rule; work on that one", field="status")
        case.reopened += 1
        case.resolved_at = None
        case.closed_at = None
        # The resolve clock starts again from the reopening; first contact was made (or not) and stays as it is.
        policy = policy_or_defaults(db_session=db_session)
        case.resolve_due = deadlines(policy, priority=case.priority, opened_at=at, zone=zone).resolve
        case.resolve_warned_at = case.resolve_escalated_at = None
    if to == "resolved":
        case.resolved_at = at
        # No first contact is made up here: a case resolved without reaching the customer (who asked not to be
        # called) must not count as contacted within target, nor as resolved at first contact.
        contacts = db_session.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.kind.in_(KINDS_OF_CONTACT)))
        case.resolved_at_first_contact = resolved_at_first_contact(contacts)
    if to == "closed":  # only a resolved case closes, so resolved_at is set
        case.closed_at = at
        case.root_cause_id = root_cause_id
        case.action_taken = action_taken.strip()
        case.issue_resolved = issue_resolved
        policy = get_policy(db_session=db_session)
        days = policy.followup_days if followup_days is None else followup_days
        if case.contact_consent and policy.followup_survey_id is not None and case.customer_id is not None:
            case.followup_due_at = at + timedelta(days=days)
    case.status = to
    case.updated_at = at
    event = add_event(db_session=db_session, case=case, kind="reopened" if is_reopen(previous, to) else "status",
                      actor=actor, note=note, at=at, from_status=previous, to_status=to,
                      **({"root_cause_id": root_cause_id, "issue_resolved": issue_resolved} if to == "closed" else {}))
    if actor is not None:
        audit(db_session=db_session, actor=actor, action="case.status", target=f"case:{case.id}", client=client,
              from_status=previous, to_status=to)
    if notify:
        queue_event(db_session=db_session, event="case.closed" if to == "closed" else "case.updated",
                    data=case_summary(case), at=at)
    return event


def assign(*, db_session: Session, case: Case, owner_id: int | None, department_id: int | None, actor: User | None,
           reason: str | None = None, at: datetime | None = None, public_url: str = "", client: str = "",
           notify: bool = True) -> CaseEvent:
    """Give the case to another owner or department. Taking a case from someone asks for a reason."""
    if owner_id is not None:
        owner = db_session.get(User, owner_id)
        if owner is None or not owner.is_active:
            raise CaseError("choose an active user to own the case", field="owner")
        if department_id is not None and owner.department_id not in (None, department_id) and owner.role != "admin":
            raise CaseError(f"{owner.name or owner.email} is not in that department", field="owner")
    if department_id is not None and db_session.get(Department, department_id) is None:
        raise CaseError("choose an existing department", field="department")
    is_reassignment = case.owner_id is not None and case.owner_id != owner_id
    if is_reassignment and not (reason or "").strip():
        raise CaseError("say why the case moves to someone else", field="reason")
    at = at or utcnow()
    previous_owner, previous_department = case.owner_id, case.department_id
    case.owner_id, case.department_id, case.updated_at = owner_id, department_id, at
    event = add_event(db_session=db_session, case=case, kind="reassigned" if is_reassignment else "assigned",
                      actor=actor, note=(reason or "").strip() or None, at=at, owner_id=owner_id,
                      department_id=department_id, previous_owner_id=previous_owner,
                      previous_department_id=previous_department)
    if owner_id is not None and owner_id != previous_owner and notify:
        _tell_owner(db_session=db_session, case=case, kind="case.assigned", subject=f"Case {case.id} is yours: {case.title}",
                    body=f"Case {case.id} was assigned to you" + (f": {reason.strip()}" if reason and reason.strip() else "."),
                    public_url=public_url)
    if actor is not None:
        audit(db_session=db_session, actor=actor, action="case.assign", target=f"case:{case.id}", client=client,
              owner_id=owner_id, department_id=department_id)
    if notify:
        queue_event(db_session=db_session, event="case.updated", data=case_summary(case), at=at)
    return event


def log_contact(*, db_session: Session, case: Case, kind: str, note: str, actor: User | None, at: datetime | None = None,
                client: str = "", notify: bool = True, **details) -> CaseEvent:
    """Record a contact with the customer (an e-mail sent from the case, a call or a meeting). The first one
    stops the first-contact clock, and a new case moves to in progress."""
    if kind not in KINDS_OF_CONTACT:
        raise CaseError(f"a contact is one of {', '.join(KINDS_OF_CONTACT)}", field="kind")
    if case.status == "closed":
        raise CaseError("this case is closed; reopen it to record more contact", field="kind")
    at = at or utcnow()
    if case.first_contact_at is None:
        case.first_contact_at = at
    event = add_event(db_session=db_session, case=case, kind=kind, actor=actor, note=note.strip() or None, at=at, **details)
    if case.status == "new":
        case.status = "in_progress"
        add_event(db_session=db_session, case=case, kind="status", actor=actor, at=at, from_status="new",
                  to_status="in_progress")
    case.updated_at = at
    if actor is not None:
        audit(db_session=db_session, actor=actor, action=f"case.{kind}", target=f"case:{case.id}", client=client)
    if notify:
        queue_event(db_session=db_session, event="case.updated", data=case_summary(case), at=at)
    return event


def status_label(status: str) -> str:
    return LABELS.get(status, status)
