"""The case queues: who may see which cases, the filters of the queue page, the order by next deadline, the counts
per status for its tabs, and assigning many cases at once (all or nothing).

Who sees what is decided here and nowhere else: every list, count and single case goes through `visible`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from voxpop.accounts.models import Department, User
from voxpop.analysis.periods import FIRST_DAY, LAST_DAY, within_days
from voxpop.cases import service
from voxpop.cases.models import Case, CaseRule
from voxpop.cases.schemas import CaseListPublic, CasePublic
from voxpop.cases.statuses import LABELS, PRIORITIES, RUNNING, STATUSES
from voxpop.customers.models import Customer

SCOPES = {"mine": "My cases", "department": "My department", "all": "All"}
SORTS = {"deadline": "Next deadline first", "opened": "Newest first", "priority": "Priority"}
CASE_WORKERS = ("admin", "manager", "agent")  # may change a case; analysts and viewers read
BULK_ASSIGNERS = ("admin", "manager")
# Overdue means a deadline still running (statuses.RUNNING): a resolved case has met its deadlines.
NEXT_DUE = case((Case.first_contact_at.is_(None), Case.first_contact_due), else_=Case.resolve_due)


@dataclass(frozen=True)
class Reader:
    """Who is reading when nobody is logged in: the command line, run by whoever runs the server, reads every case."""

    id: int = 0
    role: str = "admin"
    department_id: int | None = None


EVERYONE = Reader()
CASE_COLUMNS = ["id", "title", "status", "priority", "rule", "department", "owner", "customer", "opened_at",
                "first_contact_due", "resolve_due", "first_contact_at", "resolved_at", "closed_at", "overdue"]


class QueueError(ValueError):
    """A filter that cannot be applied, said so the user can fix it; `field` names the form field."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CaseQuery:
    """The queue's tab and filters; empty means any."""

    scope: str = "all"
    statuses: tuple[str, ...] = ()
    priority: str | None = None
    department_id: int | None = None
    owner_id: int | None = None
    rule: str | None = None
    overdue: bool = False
    opened_since: date | None = None
    opened_until: date | None = None
    sort: str = "deadline"

    def check(self) -> CaseQuery:
        """The query itself, or QueueError naming the filter that cannot be applied."""
        if self.scope not in SCOPES:
            raise QueueError(f"the queue is mine, department or all, not {self.scope!r}", field="scope")
        for status in self.statuses:
            if status not in STATUSES:
                raise QueueError(f"there is no status {status!r}; choose from {', '.join(STATUSES)}", field="status")
        if self.priority and self.priority not in PRIORITIES:
            raise QueueError(f"there is no priority {self.priority!r}; choose from {', '.join(PRIORITIES)}",
                             field="priority")
        if self.sort not in SORTS:
            raise QueueError(f"sort by deadline, opened or priority, not {self.sort!r}", field="sort")
        for name, day in (("since", self.opened_since), ("until", self.opened_until)):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                raise QueueError(f"{name} must be a date from {FIRST_DAY} to {LAST_DAY}, not {day}", field=name)
        if self.opened_since and self.opened_until and self.opened_since > self.opened_until:
            raise QueueError("the first day comes after the last day; swap them", field="since")
        return self


def default_scope(user) -> str:
    """The tab a queue opens on: an agent's or manager's own cases, everyone else's view of all."""
    return "mine" if user.role in ("agent", "manager") else "all"


def visible(user) -> ColumnElement[bool]:
    """The cases this user may see: agents their department's (and any they own); every other role all."""
    if user.role != "agent":
        return true()
    mine = Case.owner_id == user.id
    return or_(Case.department_id == user.department_id, mine) if user.department_id is not None else mine


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """An open case past its first-contact deadline with no contact yet, or past its resolve deadline."""
    return and_(Case.status.in_(RUNNING), or_(and_(Case.first_contact_at.is_(None), Case.first_contact_due < now),
                                              Case.resolve_due < now))


def conditions(user, query: CaseQuery, *, now: datetime, zone: str, with_status: bool = True) -> list:
    """The WHERE of the queue: who may see, the tab, and the filters (the status filter left out for the counts)."""
    where = [visible(user)]
    if query.scope == "mine":
        where.append(Case.owner_id == user.id)
    elif query.scope == "department":
        where.append(Case.department_id == user.department_id if user.department_id is not None else false())
    if with_status and query.statuses:
        where.append(Case.status.in_(query.statuses))
    if query.priority:
        where.append(Case.priority == query.priority)
    if query.department_id is not None:
        where.append(Case.department_id == query.department_id)
    if query.owner_id is not None:
        where.append(Case.owner_id == query.owner_id)
    if query.rule:
        where.append(Case.rule_id.in_(select(CaseRule.id).where(CaseRule.key == query.rule)))
    if query.overdue:
        where.append(overdue_condition(now))
    where += within_days(Case.opened_at, query.opened_since, query.opened_until, zone)
    return where


def _order(sort: str) -> list:
    if sort == "opened":
        return [Case.opened_at.desc(), Case.id.desc()]
    if sort == "priority":
        rank = case({priority: position for position, priority in enumerate(PRIORITIES)}, value=Case.priority)
        return [rank, NEXT_DUE.is_(None), NEXT_DUE, Case.id]
    # Closed and resolved cases have nothing due: they sink below every case with a deadline to meet, newest first.
    is_running = Case.status.in_(RUNNING)
    due = case((is_running, NEXT_DUE))
    return [case((is_running, 0), else_=1), due.is_(None), due, Case.opened_at.desc(), Case.id.desc()]


def case_public(row, *, now: datetime) -> CasePublic:
    """One row of the queue's query as the API shows it."""
    item: Case = row.Case
    next_due = None if item.status not in RUNNING else (
        item.first_contact_due if item.first_contact_at is None else item.resolve_due)
    overdue = item.status in RUNNING and any(
        due is not None and due < now
        for due in ((item.first_contact_due if item.first_contact_at is None else None), item.resolve_due))
    return CasePublic(
        id=item.id, title=item.title, status=item.status, status_label=LABELS[item.status], priority=item.priority,
        rule=row.rule, department_id=item.department_id, department=row.department, owner_id=item.owner_id,
        owner=(row.owner_name or row.owner_email) if item.owner_id else None, customer=row.customer,
        opened_at=item.opened_at, first_contact_due=item.first_contact_due, resolve_due=item.resolve_due,
        first_contact_at=item.first_contact_at, resolved_at=item.resolved_at, closed_at=item.closed_at,
        next_due=next_due, overdue=overdue)


def _listing():
    owner = aliased(User)
    return (select(Case, CaseRule.key.label("rule"), Department.name.label("department"),
                   owner.name.label("owner_name"), owner.email.label("owner_email"),
                   Customer.external_id.label("customer"))
            .outerjoin(CaseRule, CaseRule.id == Case.rule_id).outerjoin(Department, Department.id == Case.department_id)
            .outerjoin(owner, owner.id == Case.owner_id).outerjoin(Customer, Customer.id == Case.customer_id))


def list_cases(*, db_session: Session, user, query: CaseQuery, now: datetime, zone: str, offset: int = 0,
               limit: int | None = 50) -> CaseListPublic:
    """The cases of the user's queue that the filters keep, next deadline first, with the counts per status."""
    query.check()
    where = conditions(user, query, now=now, zone=zone)
    total = db_session.scalar(select(func.count()).select_from(Case).where(*where))
    statement = _listing().where(*where).order_by(*_order(query.sort)).offset(offset)
    rows = db_session.execute(statement.limit(limit) if limit else statement).all()
    counted = dict(db_session.execute(select(Case.status, func.count()).where(
        *conditions(user, query, now=now, zone=zone, with_status=False)).group_by(Case.status)).all())
    return CaseListPublic(cases=[case_public(row, now=now) for row in rows], total=total, offset=offset,
                          limit=limit or total, counts={status: counted.get(status, 0) for status in STATUSES})


def visible_case(*, db_session: Session, user, case_id: int, for_update: bool = False) -> Case | None:
    """The case if this user may see it, else None (the pages answer 404 either way: an agent is not told that a
    case of another department exists). `for_update` locks its row on PostgreSQL until the transaction ends, so two
    people moving the same case at once are made one after the other, each check seeing the other's move."""
    statement = select(Case).where(Case.id == case_id, visible(user))
    return db_session.scalar(statement.with_for_update() if for_update else statement)


def one_case(*, db_session: Session, user, case_id: int, now: datetime) -> CasePublic | None:
    """The case as the queue lists it, if this user may see it."""
    row = db_session.execute(_listing().where(Case.id == case_id, visible(user))).first()
    return None if row is None else case_public(row, now=now)


def bulk_assign(*, db_session: Session, user, case_ids: list[int], owner_id: int | None, department_id: int | None,
                reason: str | None, public_url: str = "", client: str = "", notify: bool = True) -> int:
    """Give each of these cases to the owner and/or department, through cases.service.assign: every one, or
    (CaseError, and the caller rolls back) none."""
    if user.role not in BULK_ASSIGNERS:
        raise service.CaseError("only managers and admins assign cases in bulk", field="cases")
    if owner_id is None and department_id is None:
        raise service.CaseError("choose an owner or a department to give the cases to", field="owner")
    wanted = sorted(set(case_ids))
    if not wanted:
        raise service.CaseError("tick the cases to assign", field="cases")
    found = {item.id: item for item in db_session.scalars(
        select(Case).where(Case.id.in_(wanted), visible(user)).order_by(Case.id).with_for_update())}
    missing = [str(case_id) for case_id in wanted if case_id not in found]
    if missing:
        raise service.CaseError(f"there is no case {', '.join(missing)}; nothing was assigned", field="cases")
    owner = db_session.get(User, owner_id) if owner_id is not None else None
    for case_id in wanted:
        item = found[case_id]
        target = department_id if department_id is not None else (
            owner.department_id if owner is not None and owner.department_id is not None else item.department_id)
        try:
            service.assign(db_session=db_session, case=item, owner_id=owner_id, department_id=target, actor=user,
                           reason=reason, public_url=public_url, client=client, notify=notify)
        except service.CaseError as exc:
            raise service.CaseError(f"case {case_id}: {exc}; nothing was assigned", field=exc.field) from None
    return len(wanted)


def case_table(listed: CaseListPublic) -> tuple[list[str], list[list]]:
    """The queue as a table (the page's CSV and the command line's): a header and a row per case."""
    def iso(moment):
        return moment.isoformat() if moment is not None else None

    return CASE_COLUMNS, [
        [item.id, item.title, item.status, item.priority, item.rule, item.department, item.owner, item.customer,
         iso(item.opened_at), iso(item.first_contact_due), iso(item.resolve_due), iso(item.first_contact_at),
         iso(item.resolved_at), iso(item.closed_at), item.overdue] for item in listed.cases]
