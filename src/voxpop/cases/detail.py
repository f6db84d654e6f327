"""Everything on a case page: the case, its deadlines in words, the customer (contact details, earlier responses with
their NPS and CSAT, purchases), the response that opened it (results.responses shows it, as the one-response page
does), and the timeline with who did what. GET /cases/{id} and GET /api/v1/cases/{id} both show `case_detail`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voxpop.accounts.models import Department, User
from voxpop.cases import queues, service
from voxpop.cases.models import Case, CaseEvent, CaseRule, RootCause
from voxpop.cases.schemas import (
    CaseCustomerPublic,
    CaseDetailPublic,
    CaseEventPublic,
    CasePublic,
    DeadlinePublic,
    EarlierResponsePublic,
    OptionPublic,
)
from voxpop.cases.statuses import LABELS, MOVES
from voxpop.collection.models import Answer, Response
from voxpop.core.business_time import BusinessWeek, business_hours_between
from voxpop.core.wording import counted
from voxpop.customers.models import Customer, Transaction
from voxpop.results.responses import LISTED, response_detail
from voxpop.results.schemas import PurchasePublic
from voxpop.surveys.models import Question, Survey

DEADLINE_NAMES = {"first_contact": "first contact", "resolve": "resolution"}
CONTACT_WORDS = {"email": "E-mail to the customer", "call": "Call with the customer",
                 "meeting": "Meeting with the customer"}


class CaseNotFound(LookupError):
    """No such case, or not one this user may see."""


def hours_words(hours: float) -> str:
    """Business hours as people say them: 'under 1 business hour', '1 business hour', '12 business hours'."""
    whole = round(abs(hours))
    return "under 1 business hour" if whole == 0 else counted(whole, "business hour")


def deadline_words(name: str, *, due: datetime | None, met_at: datetime | None, opened_at: datetime,
                   running: bool, now: datetime, week: BusinessWeek) -> DeadlinePublic:
    """One deadline in words: due in, overdue by, met after (and whether late), or not running."""
    what = "first contact" if name == "first_contact" else "resolution"
    if met_at is not None:
        taken = business_hours_between(opened_at, met_at, week)
        late = due is not None and met_at > due
        words = f"{what} after {hours_words(taken)}" + (
            f", {hours_words(business_hours_between(due, met_at, week))} late" if late else ", within target")
        return DeadlinePublic(name=name, due=due, met_at=met_at, business_hours=round(taken, 1), words=words,
                              overdue=False)
    if due is None or not running:
        return DeadlinePublic(name=name, due=due, met_at=None, business_hours=None, words=f"no {what} due",
                              overdue=False)
    left = business_hours_between(now, due, week)
    overdue = due < now
    words = f"{what} overdue by {hours_words(left)}" if overdue else f"{what} due in {hours_words(left)}"
    return DeadlinePublic(name=name, due=due, met_at=None, business_hours=round(left, 1), words=words,
                          overdue=overdue)


def case_deadlines(item: Case, *, now: datetime, week: BusinessWeek) -> list[DeadlinePublic]:
    running = item.status in queues.RUNNING
    return [deadline_words("first_contact", due=item.first_contact_due, met_at=item.first_contact_at,
                           opened_at=item.opened_at, running=running, now=now, week=week),
            deadline_words("resolve", due=item.resolve_due, met_at=item.resolved_at, opened_at=item.opened_at,
                           running=running, now=now, week=week)]


def earlier_responses(db_session: Session, *, customer_id: int, response_id: int | None) -> list[EarlierResponsePublic]:
    """The customer's other responses, newest first, each with its NPS and CSAT score where it asked them."""
    others = db_session.execute(
        select(Response.id, Response.public_id, Survey.key, Survey.title, Response.submitted_at)
        .join(Survey, Survey.id == Response.survey_id)
        .where(Response.customer_id == customer_id, Response.id != (response_id or 0))
        .order_by(Response.submitted_at.desc(), Response.id.desc()).limit(LISTED)).all()
    scores: dict[tuple[int, str], tuple[int, int | None, int | None]] = {}
    for row in db_session.execute(
            select(Answer.response_id, Question.kind, Answer.score, Question.scale_min, Question.scale_max)
            .join(Question, Question.id == Answer.question_id)
            .where(Answer.response_id.in_([other.id for other in others]), Question.kind.in_(("nps", "csat")),
                   Answer.score.is_not(None)).order_by(Answer.id)):
        scores.setdefault((row.response_id, row.kind), (row.score, row.scale_min, row.scale_max))
    listed = []
    for other in others:
        nps, csat = scores.get((other.id, "nps")), scores.get((other.id, "csat"))
        listed.append(EarlierResponsePublic(
            public_id=other.public_id, survey=other.key, survey_title=other.title, submitted_at=other.submitted_at,
            nps=nps[0] if nps else None, csat=csat[0] if csat else None,
            csat_scale=f"{csat[1]}–{csat[2]}" if csat else None))
    return listed


def case_customer(db_session: Session, item: Case) -> CaseCustomerPublic | None:
    """The customer as the case page shows them, with what they bought."""
    customer = db_session.get(Customer, item.customer_id) if item.customer_id is not None else None
    if customer is None:
        return None
    count, revenue, last = db_session.execute(
        select(func.count(), func.coalesce(func.sum(Transaction.amount), 0.0), func.max(Transaction.day))
        .where(Transaction.customer_id == customer.id)).one()
    purchases = db_session.execute(
        select(Transaction.day, Transaction.amount, Transaction.kind, Transaction.product)
        .where(Transaction.customer_id == customer.id)
        .order_by(Transaction.day.desc(), Transaction.id.desc()).limit(LISTED)).all()
    return CaseCustomerPublic(
        external_id=customer.external_id, email=customer.email,
        attributes={str(name): str(value) for name, value in (customer.attributes or {}).items()},
        may_contact=item.contact_consent,
        earlier_responses=earlier_responses(db_session, customer_id=customer.id, response_id=item.response_id),
        purchase_count=count, revenue=float(revenue), last_purchase=last,
        purchases=[PurchasePublic(day=row.day, amount=row.amount, kind=row.kind, product=row.product)
                   for row in purchases])


def _person(people: dict[int, str], user_id) -> str:
    return people.get(user_id, "a former user") if user_id is not None else "nobody"


def event_words(event: CaseEvent, *, people: dict[int, str], departments: dict[int, str],
                causes: dict[int, str]) -> str:
    """What a timeline entry says."""
    details = event.details or {}
    if event.kind == "opened":
        return "Opened by a rule" if details.get("rule_id") else "Opened"
    if event.kind == "status":
        words = f"{LABELS.get(event.from_status, event.from_status)} → {LABELS.get(event.to_status, event.to_status)}"
        if event.to_status == "closed" and details.get("root_cause_id") in causes:
            words += f" (root cause: {causes[details['root_cause_id']]}; issue " + (
                "resolved)" if details.get("issue_resolved") else "not resolved)")
        return words
    if event.kind == "reopened":
        return f"Reopened (was {LABELS.get(event.from_status, event.from_status).lower()})"
    if event.kind in ("assigned", "reassigned"):
        department = departments.get(details.get("department_id"))
        to = _person(people, details.get("owner_id")) + (f" in {department}" if department else "")
        if event.kind == "reassigned":
            return f"Reassigned from {_person(people, details.get('previous_owner_id'))} to {to}"
        return f"Assigned to {to}"
    if event.kind in CONTACT_WORDS:
        return CONTACT_WORDS[event.kind]
    if event.kind == "note":
        return "Note"
    deadline = DEADLINE_NAMES.get(details.get("deadline"), "a deadline")
    if event.kind == "warned":
        return f"Owner warned: {deadline} due soon"
    if event.kind == "escalated":
        return f"Escalated: {deadline} overdue"
    if event.kind == "followup_sent":
        return "Follow-up survey sent"
    if event.kind == "followup_skipped":  # the contacts' gate refused: the note gives the reason
        return "Follow-up survey not sent"
    if event.kind == "answered_again":
        return "The customer answered again"
    return event.kind.replace("_", " ").capitalize()


def timeline(db_session: Session, item: Case) -> list[CaseEventPublic]:
    """The case's events, oldest first, with the names of the people in them."""
    events = db_session.scalars(select(CaseEvent).where(CaseEvent.case_id == item.id)
                                .order_by(CaseEvent.at, CaseEvent.id)).all()
    ids = {event.actor_id for event in events} | {
        value for event in events for key, value in (event.details or {}).items()
        if key in ("owner_id", "previous_owner_id") and isinstance(value, int)}
    people = {row.id: row.name or row.email for row in db_session.execute(
        select(User.id, User.name, User.email).where(User.id.in_([i for i in ids if i is not None])))}
    departments = dict(db_session.execute(select(Department.id, Department.name)).all())
    causes = dict(db_session.execute(select(RootCause.id, RootCause.name)).all())
    return [CaseEventPublic(id=event.id, at=event.at, kind=event.kind,
                            words=event_words(event, people=people, departments=departments, causes=causes),
                            actor=people.get(event.actor_id) if event.actor_id is not None else None,
                            from_status=event.from_status, to_status=event.to_status, note=event.note)
            for event in events]


def case_detail(*, db_session: Session, user, case_id: int, now: datetime, zone: str) -> CaseDetailPublic:
    """The case page's content; raises CaseNotFound when the case does not exist or the user may not see it."""
    listed: CasePublic | None = queues.one_case(db_session=db_session, user=user, case_id=case_id, now=now)
    if listed is None:
        raise CaseNotFound(f"There is no case {case_id}; the queue lists the cases you can open.")
    item = db_session.get(Case, case_id)
    week = service.business_week(service.policy_or_defaults(db_session=db_session), zone=zone)
    public_id = db_session.scalar(select(Response.public_id).where(Response.id == item.response_id)) \
        if item.response_id is not None else None
    rule_name = db_session.scalar(select(CaseRule.name).where(CaseRule.id == item.rule_id)) \
        if item.rule_id is not None else None
    cause = db_session.get(RootCause, item.root_cause_id) if item.root_cause_id is not None else None
    return CaseDetailPublic(
        case=listed, rule_name=rule_name, deadlines=case_deadlines(item, now=now, week=week),
        customer=case_customer(db_session, item),
        response=response_detail(db_session.connection(), public_id=public_id) if public_id else None,
        root_cause=cause.name if cause else None, action_taken=item.action_taken, issue_resolved=item.issue_resolved,
        reopened=item.reopened, moves=[OptionPublic(value=to, label=LABELS[to]) for to in MOVES[item.status]],
        events=timeline(db_session, item))
