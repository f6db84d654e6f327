"""Is closing the loop working? The loop's measures per department and period, each with its n and interval.

The Python API (documented in docs/improvement.md):

    from voxpop.cases.loop_metrics import loop_metrics, holdout_effect
    with db.read() as db_session:
        rows = loop_metrics(db_session, zone="Europe/Berlin", period="quarter", now=now, min_base=30)
        effect = holdout_effect(db_session, now=now, min_base=30)

The database counts (one grouped query over the cases, a period's month in the workspace zone); core.estimates
turns counts into shares with Wilson intervals and core.comparisons compares two of them. Only the medians read
per-case times, those of one department-period at a time, because business hours are counted in Python
(core.business_time). A case belongs to the period it was opened in.

Contacted against not contacted detractors is confounded (agents call the customers they can reach, and those
are not like the others); the random holdout (CaseTrigger outcome "held_out") is not, so its difference in
retention is a causal estimate of what opening a case does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Interval, and_, case, cast, exists, func, literal, or_, select, true
from sqlalchemy.orm import Session, aliased

from voxpop.accounts.models import Department
from voxpop.analysis.periods import within_days
from voxpop.cases.models import Case, CaseEvent, CaseRoute, CaseRule, CaseTrigger
from voxpop.cases.service import KINDS_OF_CONTACT, business_week, policy_or_defaults
from voxpop.collection.models import Answer, Response, response_attributes
from voxpop.core import comparisons, estimates
from voxpop.core.business_time import BusinessWeek, business_hours_between
from voxpop.core.comparisons import Difference
from voxpop.core.counts import CUTS
from voxpop.core.estimates import Estimate
from voxpop.core.power import Median, median_interval, sample_size_two_proportions
from voxpop.customers.models import Transaction
from voxpop.dashboard.metrics import local_months
from voxpop.surveys.models import Question

PERIODS = ("month", "quarter")
RETENTION_DAYS = 365  # a detractor is retained when they buy again within a year of the case (non-contractual)
REPEAT_DAYS = 90  # ... and made a repeat purchase when they buy within 90 days
DETECT_POINTS = 6.0  # the difference in retention the holdout should be able to detect, in points (Bain: 70% → 76%)
BASE_RETENTION = 0.70  # the retention assumed for the sample size until the holdout has its own
NO_DEPARTMENT = "No department"
ALL_DEPARTMENTS = "All departments"
EVERY = -1  # the department_id of a row that sums every department (`by_department=False`)


@dataclass(frozen=True)
class Contrast:
    """A share in two groups and their difference (A − B, in points); the difference is None while a group is
    empty."""

    a: Estimate
    b: Estimate
    difference: Difference | None


@dataclass(frozen=True)
class LoopRow:
    department_id: int | None
    department: str
    period: str  # "2026-11" for a month, "2026-Q4" for a quarter
    cases: int
    first_contact_in_target: Estimate  # % of cases whose first contact came by its deadline
    hours_to_first_contact: Median  # business hours
    hours_to_resolution: Median
    resolved_at_first_contact: Estimate  # % of resolved cases with a logged contact resolved at the first one
    reopened: Estimate
    recovery: Estimate  # % of followed-up detractors who answered again and moved up a group
    retention: Contrast  # contacted (a) against not contacted (b) detractors: confounded
    repeat_purchase: Contrast


@dataclass(frozen=True)
class HoldoutEffect:
    """Retention of the customers whose case was opened (a) against those held out at random (b): causal."""

    retention: Contrast
    days: int
    per_arm_needed: int  # customers each arm needs to detect `detect_points` at 80% power, α = 0.05 two-sided
    detect_points: float
    base_retention: float  # the held-out arm's retention the sample size starts from (or BASE_RETENTION)


def period_of(month: str, period: str) -> str:
    """'2026-11-01' as '2026-11' (month) or '2026-Q4' (quarter)."""
    day = date.fromisoformat(month[:10])
    return f"{day.year}-{day.month:02d}" if period == "month" else f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def period_bounds(label: str, zone: str) -> tuple[datetime, datetime]:
    """The UTC instants a period ('2026-11' or '2026-Q4') starts and ends at, in the workspace zone."""
    year, part = label.split("-")
    first_month = 3 * int(part[1]) - 2 if part.startswith("Q") else int(part)
    months = 3 if part.startswith("Q") else 1
    start = date(int(year), first_month, 1)
    index = start.year * 12 + start.month - 1 + months
    end = date(index // 12, index % 12 + 1, 1)
    local = ZoneInfo(zone)
    return datetime.combine(start, time(), local), datetime.combine(end, time(), local)


def _day(moment, dialect: str, days: int = 0):
    """The UTC date of a timestamp column, `days` later: SQLite's date() modifier, PostgreSQL's interval."""
    if dialect == "sqlite":
        return func.date(moment, f"+{days} days")
    return cast(moment + literal(timedelta(days=days), Interval()), Date) if days else cast(moment, Date)


def bought_within(customer, moment, days: int, dialect: str):
    """Whether the customer bought (a sale line) on one of the `days` days after the day of `moment`."""
    return exists().where(Transaction.customer_id == customer, Transaction.kind == "sale",
                          Transaction.day > _day(moment, dialect), Transaction.day <= _day(moment, dialect, days))


def nps_score(response_id):
    """The score of the response's NPS answer (its first NPS question), for a correlated subquery."""
    return (select(Answer.score).join(Question, Question.id == Answer.question_id)
            .where(Answer.response_id == response_id, Question.kind == "nps", Answer.score.is_not(None))
            .order_by(Question.position).limit(1).scalar_subquery())


def _case_facts(db_session: Session, *, zone: str, now: datetime, since: date | None, until: date | None,
                department_id: int | None, retention_days: int, repeat_days: int):
    """One row per case with what the counts need (its month, flags, its detractor's next score), or None when
    no case is in the days."""
    dialect = db_session.get_bind().dialect.name
    conditions = within_days(Case.opened_at, since, until, zone)
    if department_id is not None:
        conditions.append(Case.department_id == department_id)
    first, last = db_session.execute(select(func.min(Case.opened_at), func.max(Case.opened_at)).where(*conditions)).one()
    if first is None:
        return None
    first_answer = aliased(Response)
    later, later_answer, later_question = aliased(Response), aliased(Answer), aliased(Question)
    # The detractor's first answer to the same survey after the first contact: did they move up a group?
    next_score = (select(later_answer.score).join(later, later.id == later_answer.response_id)
                  .join(later_question, later_question.id == later_answer.question_id)
                  # survey_id + 0: SQLite would otherwise walk the survey's responses by time, not the customer's
                  .where(later.customer_id == Case.customer_id, later.survey_id + 0 == first_answer.survey_id,
                         later.submitted_at > Case.first_contact_at, later_question.kind == "nps",
                         later_answer.score.is_not(None))
                  .order_by(later.submitted_at, later.id).limit(1).scalar_subquery())
    contacted = exists().where(CaseEvent.case_id == Case.id, CaseEvent.kind.in_(KINDS_OF_CONTACT))
    return (select(Case.department_id.label("department_id"),
                   local_months(Case.opened_at, zone, first, last).label("month"),
                   Case.first_contact_due, Case.first_contact_at, Case.resolved_at, Case.resolved_at_first_contact,
                   Case.reopened, Case.customer_id,
                   nps_score(Case.response_id).label("score"),
                   case((contacted, next_score), else_=None).label("next_score"),
                   case((contacted, 1), else_=0).label("contacted"),
                   case((Case.opened_at <= now - timedelta(days=retention_days), 1), else_=0).label("retention_known"),
                   case((bought_within(Case.customer_id, Case.opened_at, retention_days, dialect), 1),
                        else_=0).label("retained"),
                   case((Case.opened_at <= now - timedelta(days=repeat_days), 1), else_=0).label("repeat_known"),
                   case((bought_within(Case.customer_id, Case.opened_at, repeat_days, dialect), 1),
                        else_=0).label("repeated"))
            .outerjoin(first_answer, first_answer.id == Case.response_id)
            .where(*conditions).subquery("facts"))


def _counts(facts, now: datetime):
    """The grouped counts per department and month of the workspace zone (one query, grouped outside the CASE
    of months, as PostgreSQL will not group by a CASE with parameters written twice)."""
    c = facts.c

    def count(*tests):
        return func.count(case((and_(*tests), 1)))

    detractor = c.score <= CUTS.detractor_max
    # Decided as of `now`: contacted by then, or its deadline passed; a deadline still running counts for neither.
    contacted_by_now = c.first_contact_at <= now
    decided = and_(c.first_contact_due.is_not(None), or_(contacted_by_now, c.first_contact_due <= now))
    groups = (c.department_id, c.month)
    return select(
        *groups, func.count().label("cases"),
        count(decided).label("first_contact_decided"),
        count(contacted_by_now, c.first_contact_at <= c.first_contact_due).label("first_contact_in_target"),
        # Resolved at first contact: of the resolved cases with at least one logged contact (one resolved without
        # reaching the customer was resolved at no contact, whatever an older row says).
        count(c.resolved_at_first_contact.is_not(None), c.contacted == 1).label("resolved"),
        count(c.resolved_at_first_contact.is_(True), c.contacted == 1).label("resolved_at_first_contact"),
        count(or_(c.resolved_at.is_not(None), c.reopened > 0)).label("ever_resolved"),
        count(c.reopened > 0).label("reopened"),
        count(detractor, c.next_score.is_not(None)).label("answered_again"),
        count(detractor, c.next_score > CUTS.detractor_max).label("moved_up"),
        *(count(detractor, c.customer_id.is_not(None), c[f"{name}_known"] == 1, c.contacted == flag, *extra)
          .label(f"{name}_{group}{suffix}")
          for name in ("retention", "repeat") for group, flag in (("contacted", 1), ("not_contacted", 0))
          for suffix, extra in (("", ()), ("_yes", (c["retained" if name == "retention" else "repeated"] == 1,)))),
    ).group_by(*groups)


ADDITIVE = ("cases", "first_contact_decided", "first_contact_in_target", "resolved", "resolved_at_first_contact",
            "ever_resolved", "reopened", "answered_again", "moved_up", "retention_contacted", "retention_contacted_yes",
            "retention_not_contacted", "retention_not_contacted_yes", "repeat_contacted", "repeat_contacted_yes",
            "repeat_not_contacted", "repeat_not_contacted_yes")


def contrast(*, a: tuple[int, int], b: tuple[int, int], min_base: int, confidence: float = 0.95) -> Contrast:
    """Two shares from (successes, n) and their difference in points, with core.comparisons' interval."""
    first = estimates.proportion(successes=a[0], n=a[1], min_base=min_base, confidence=confidence)
    second = estimates.proportion(successes=b[0], n=b[1], min_base=min_base, confidence=confidence)
    difference = (comparisons.proportion_difference(a=a, b=b, confidence=confidence) if a[1] and b[1] else None)
    return Contrast(first, second, difference)


def loop_metrics(db_session: Session, *, zone: str, now: datetime, min_base: int, period: str = "month",
                 since: date | None = None, until: date | None = None, department_id: int | None = None,
                 week: BusinessWeek | None = None, retention_days: int = RETENTION_DAYS,
                 repeat_days: int = REPEAT_DAYS, confidence: float = 0.95, by_department: bool = True) -> list[LoopRow]:
    """The loop's measures per department and period (month or quarter, in the workspace zone) of the cases opened
    since..until (days in the zone, both included), newest period first; `week` is the policy's business week
    the times are counted in (default: the policy's). With by_department=False, one row per period sums every
    department (its department_id is EVERY)."""
    if period not in PERIODS:
        raise ValueError(f"period must be month or quarter, not {period!r}")
    if week is None:
        week = business_week(policy_or_defaults(db_session=db_session), zone=zone)
    facts = _case_facts(db_session, zone=zone, now=now, since=since, until=until, department_id=department_id,
                        retention_days=retention_days, repeat_days=repeat_days)
    if facts is None:
        return []
    totals: dict[tuple[int | None, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(ADDITIVE, 0))
    for record in db_session.execute(_counts(facts, now)).mappings():
        key = (record["department_id"] if by_department else EVERY, period_of(str(record["month"]), period))
        for name in ADDITIVE:
            totals[key][name] += int(record[name] or 0)
    names = dict(db_session.execute(select(Department.id, Department.name)).all())
    rows = []
    for (department, label), counted in totals.items():
        first_hours, resolve_hours = _durations(db_session, department_id=department if by_department else department_id,
                                                label=label, zone=zone, week=week, since=since, until=until,
                                                every=not by_department and department_id is None)
        name = ALL_DEPARTMENTS if department == EVERY else names.get(department, NO_DEPARTMENT)
        rows.append(_row(counted, department=department, name=name, label=label,
                         first_hours=first_hours, resolve_hours=resolve_hours, min_base=min_base,
                         confidence=confidence))
    rows.sort(key=lambda row: row.department)
    return sorted(rows, key=lambda row: row.period, reverse=True)


def _row(counted: dict[str, int], *, department: int | None, name: str, label: str, first_hours: list[float],
         resolve_hours: list[float], min_base: int, confidence: float) -> LoopRow:
    """One department-period's measures from its counts and its cases' business hours."""

    def share(successes: str, n: str) -> Estimate:
        return estimates.proportion(successes=counted[successes], n=counted[n], min_base=min_base,
                                    confidence=confidence)

    def compared(measure: str) -> Contrast:
        return contrast(a=(counted[f"{measure}_contacted_yes"], counted[f"{measure}_contacted"]),
                        b=(counted[f"{measure}_not_contacted_yes"], counted[f"{measure}_not_contacted"]),
                        min_base=min_base, confidence=confidence)

    return LoopRow(
        department_id=department, department=name, period=label, cases=counted["cases"],
        first_contact_in_target=share("first_contact_in_target", "first_contact_decided"),
        hours_to_first_contact=median_interval(first_hours, confidence=confidence),
        hours_to_resolution=median_interval(resolve_hours, confidence=confidence),
        resolved_at_first_contact=share("resolved_at_first_contact", "resolved"),
        reopened=share("reopened", "ever_resolved"),
        recovery=share("moved_up", "answered_again"),
        retention=compared("retention"), repeat_purchase=compared("repeat"),
    )


def _durations(db_session: Session, *, department_id: int | None, label: str, zone: str, week: BusinessWeek,
               since: date | None, until: date | None, every: bool = False) -> tuple[list[float], list[float]]:
    """Business hours to first contact and to resolution of one department-period's cases."""
    start, end = period_bounds(label, zone)
    local = ZoneInfo(zone)
    if since:
        start = max(start, datetime.combine(since, time(), local))
    if until:
        end = min(end, datetime.combine(until + timedelta(days=1), time(), local))
    department = (true() if every else Case.department_id.is_(None) if department_id is None
                  else Case.department_id == department_id)
    first, resolved = [], []
    for opened, contacted, resolved_at in db_session.execute(
            select(Case.opened_at, Case.first_contact_at, Case.resolved_at)
            .where(department, Case.opened_at >= start, Case.opened_at < end,
                   or_(Case.first_contact_at.is_not(None), Case.resolved_at.is_not(None)))):
        if contacted is not None:
            first.append(business_hours_between(opened, contacted, week))
        if resolved_at is not None:
            resolved.append(business_hours_between(opened, resolved_at, week))
    return first, resolved


def trigger_department(policy_department: int | None):
    """The department of a trigger: its case's for one that opened a case; for one held out, the department the
    case would have gone to (the first of today's routes whose attribute value the response has, else the rule's,
    else the policy's default), as cases.service.route decides when a case is opened."""
    routed = (select(CaseRoute.department_id)
              .join(response_attributes, and_(response_attributes.c.name == CaseRoute.attribute,
                                              response_attributes.c.value == CaseRoute.value))
              .where(response_attributes.c.response_id == CaseTrigger.response_id)
              .order_by(CaseRoute.position, CaseRoute.id).limit(1).scalar_subquery())
    rule_department = select(CaseRule.department_id).where(CaseRule.id == CaseTrigger.rule_id).scalar_subquery()
    opened_in = select(Case.department_id).where(Case.id == CaseTrigger.case_id).scalar_subquery()
    fallbacks = (routed, rule_department, *(() if policy_department is None else (literal(policy_department),)))
    return case((CaseTrigger.case_id.is_not(None), opened_in), else_=func.coalesce(*fallbacks))


def holdout_effect(db_session: Session, *, now: datetime, min_base: int, since: date | None = None,
                   until: date | None = None, zone: str = "UTC", days: int = RETENTION_DAYS,
                   detect_points: float = DETECT_POINTS, confidence: float = 0.95,
                   department_id: int | None = None) -> HoldoutEffect:
    """Retention of the customers a rule with a holdout opened a case for, against those it held out at random,
    among those whose `days` have passed; and how many each arm needs to detect `detect_points`. Each customer
    counts once a rule, in the arm of their first trigger of it (the holdout is drawn per customer, see
    cases.matching.held_out), from that trigger's moment; with `department_id`, only the customers whose first
    trigger was (or, held out, would have been) that department's case."""
    dialect = db_session.get_bind().dialect.name
    first = (select(CaseTrigger.rule_id, CaseTrigger.customer_id, CaseTrigger.outcome, CaseTrigger.at,
                    func.row_number().over(partition_by=(CaseTrigger.rule_id, CaseTrigger.customer_id),
                                           order_by=(CaseTrigger.at, CaseTrigger.response_id)).label("nth"),
                    *([trigger_department(policy_or_defaults(db_session=db_session).default_department_id)
                       .label("department_id")] if department_id is not None else []))
             .where(CaseTrigger.outcome.in_(("opened", "held_out")), CaseTrigger.customer_id.is_not(None),
                    CaseTrigger.rule_id.in_(select(CaseRule.id).where(CaseRule.holdout_share > 0)))
             .subquery("first_triggers"))
    conditions = [first.c.nth == 1, first.c.at <= now - timedelta(days=days)]
    conditions += within_days(first.c.at, since, until, zone)
    if department_id is not None:
        conditions.append(first.c.department_id == department_id)
    retained = bought_within(first.c.customer_id, first.c.at, days, dialect)
    counts = {outcome: (int(yes or 0), int(n)) for outcome, n, yes in db_session.execute(
        select(first.c.outcome, func.count(), func.count(case((retained, 1))))
        .where(*conditions).group_by(first.c.outcome))}
    opened, held_out = counts.get("opened", (0, 0)), counts.get("held_out", (0, 0))
    compared = contrast(a=opened, b=held_out, min_base=min_base, confidence=confidence)
    base = held_out[0] / held_out[1] if held_out[1] >= min_base else BASE_RETENTION
    base = min(max(base, 0.01), 0.99 - detect_points / 100)  # keep base + the difference a share below 1
    needed = sample_size_two_proportions(p1=base, p2=base + detect_points / 100)
    return HoldoutEffect(compared, days, needed, detect_points, round(base, 4))
