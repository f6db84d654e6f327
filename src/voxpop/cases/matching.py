"""Rules at work: which responses a rule keeps, as SQL on `responses`, and what is done with each.

One set of conditions serves three uses:
- `run_rules`, the worker step: each active rule on the responses submitted since it became active that it has
  not kept yet; a kept response opens a case, joins the customer's open case of that rule, or is held out;
- `preview`: how many cases a rule would have opened over a stretch of history;
- `backfill`: the rules on stored responses from before they became active, on request only.

Answer tests and attributes are the response filter's own (collection.filters.response_conditions); a theme or
sentiment is read from the text pipeline's analysis of the response's comment.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voxpop.analysis.periods import day_start, within_days
from voxpop.cases.models import Case, CaseRule, CaseTrigger
from voxpop.cases.service import add_event, get_policy, open_case, route
from voxpop.collection.filters import parse_response_filter, response_conditions
from voxpop.collection.models import Answer, AttributeSetValue, Response
from voxpop.core.wording import counted
from voxpop.store.database import Database
from voxpop.surveys.models import Question, Survey
from voxpop.text.models import CommentAnalysis
from voxpop.text.verbatims import has_theme

IMPORTED = "import"  # the channel of responses imported from export files: history, whenever they were given
CHUNK = 20  # responses per write transaction: the single writer is never held long, so submissions never wait
CONSENTING = ("yes", "y", "true", "ja", "oui", "si", "sí")
# A response older than this when a backfill opens its case opens it quietly: nobody should be e-mailed about a
# case of last year, and the queue shows it to its owner anyway.
NOTIFY_WITHIN = timedelta(days=3)
# The preview's guess at how long a case stays open: a customer's further matching answers within this many
# days of a case would join it, not open another.
OPEN_DAYS = 14


def rule_conditions(rule: CaseRule, *, zone: str, after_response_id: int = 0) -> list[ColumnElement[bool]]:
    """The rule's conditions on `responses`: its survey, the response filter's answer tests and attributes, and
    the comment's theme and sentiment; only responses above `after_response_id` when one is given."""
    stored = rule.conditions or {}
    response_filter = parse_response_filter(today=date.today(), answer=stored.get("answer", []),
                                            attribute=stored.get("attribute", []))
    conditions = response_conditions(response_filter, zone=zone, after_response_id=after_response_id)
    if after_response_id:
        conditions.append(Response.id > after_response_id)
    if rule.survey_id is not None:
        conditions.append(Response.survey_id == rule.survey_id)
    comment = []
    if stored.get("theme"):
        comment.append(has_theme(stored["theme"]))
    if stored.get("sentiment"):
        comment.append(CommentAnalysis.sentiment_label == stored["sentiment"])
    if comment:
        # Only an analysed comment can carry a theme or a sentiment: a response whose comment the worker has not
        # analysed yet does not match *yet*, writes no trigger, and is looked at again on the next tick.
        commented = (select(Answer.response_id).join(CommentAnalysis, CommentAnalysis.answer_id == Answer.id)
                     .where(*comment))
        if after_response_id:
            commented = commented.where(Answer.response_id > after_response_id)
        conditions.append(Response.id.in_(commented))
    return conditions


def holdout_unit(customer_id: int | None, public_id: str) -> str:
    """What the holdout is drawn for: the customer (so a customer stays in one arm whatever they answer later),
    or, for an anonymous response, the response itself."""
    return f"customer:{customer_id}" if customer_id is not None else public_id


def held_out(rule_key: str, unit: str, share: float) -> bool:
    """The random holdout, drawn from a hash of the rule and the unit (holdout_unit: the customer, or an
    anonymous response), so a rerun, a second worker or the customer's next answer decides the same."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{rule_key}:{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


@dataclass(frozen=True)
class Candidate:
    """A response a rule keeps, with what acting on it needs, read before the write transaction so the single
    writer is held only for the writes."""

    response_id: int
    public_id: str
    customer_id: int | None
    submitted_at: datetime
    attribute_set_id: int | None
    survey_key: str
    label: str = ""  # the first answer test's question, as a title says it: NPS, CSAT, or its key
    score: int | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    consent: bool | None = None


def _pending(rule: CaseRule, *, zone: str, history: bool, since: datetime | None = None,
             before: datetime | None = None, after_id: int = 0) -> list[ColumnElement[bool]]:
    """The responses the rule keeps and has not kept yet: live ones submitted since it became active (the
    worker's), or history (a backfill's): those submitted before, and imported ones whenever they were given."""
    conditions = [*rule_conditions(rule, zone=zone, after_response_id=after_id),
                  ~exists().where(CaseTrigger.rule_id == rule.id, CaseTrigger.response_id == Response.id)]
    if history:
        conditions.append(or_(Response.submitted_at < rule.active_from, Response.channel == IMPORTED))
    else:
        conditions += [Response.submitted_at >= rule.active_from, Response.channel != IMPORTED]
    if since is not None:
        conditions.append(Response.submitted_at >= since)
    if before is not None:
        conditions.append(Response.submitted_at < before)
    return conditions


def _candidates(db_session: Session, rule: CaseRule, *, zone: str, history: bool, since: datetime | None = None,
                before: datetime | None = None, limit: int, after_id: int = 0) -> list[Candidate]:
    """The pending responses (see _pending), in id order, with their score, attributes and consent."""
    statement = (select(Response.id, Response.public_id, Response.customer_id, Response.submitted_at,
                        Response.attribute_set_id, Survey.key)
                 .join(Survey, Survey.id == Response.survey_id)
                 .where(*_pending(rule, zone=zone, history=history, since=since, before=before, after_id=after_id))
                 .order_by(Response.id).limit(limit))
    rows = db_session.execute(statement).all()
    if not rows:
        return []
    ids = [row[0] for row in rows]
    tests = (rule.conditions or {}).get("answer") or []
    titled = _answers(db_session, ids, tests[0].partition(":")[0].strip()) if tests else {}
    consents = _answers(db_session, ids, rule.consent_question) if rule.consent_question else {}
    sets = {row[4] for row in rows if row[4] is not None}
    attributes: dict[int, dict[str, str]] = {}
    for set_id, name, value in db_session.execute(select(AttributeSetValue.set_id, AttributeSetValue.name,
                                                         AttributeSetValue.value)
                                                  .where(AttributeSetValue.set_id.in_(sets))):
        attributes.setdefault(set_id, {})[name] = value
    candidates = []
    for row in rows:
        kind, score, _ = (titled.get(row[0]) or [(None, None, None)])[0]
        label = (kind.upper() if kind in ("nps", "csat", "ces") else tests[0].partition(":")[0].strip()) if tests else ""
        consent = (any((choice or "").strip().lower() in CONSENTING or (given is not None and given > 0)
                       for _, given, choice in consents.get(row[0], ())) if rule.consent_question else None)
        candidates.append(Candidate(*row, label=label, score=score, attributes=attributes.get(row[4], {}),
                                    consent=consent))
    return candidates


def _answers(db_session: Session, response_ids: list[int], question: str) -> dict[int, list[tuple]]:
    """Each response's answers to the question with this key: (kind, score, choice)."""
    found: dict[int, list[tuple]] = {}
    for response_id, kind, score, choice in db_session.execute(
            select(Answer.response_id, Question.kind, Answer.score, Answer.choice)
            .join(Question, Question.id == Answer.question_id)
            .where(Answer.response_id.in_(response_ids), Question.key == question)):
        found.setdefault(response_id, []).append((kind, score, choice))
    return found


def title_of(rule: CaseRule, label: str, score: int | None, survey_key: str) -> str:
    """'NPS 3 — relationship-nps', or the rule's name when its first test is not a score."""
    if label and score is not None:
        return f"{label} {score} — {survey_key}"
    return f"{rule.name} — {survey_key}"


def keep(db_session: Session, rule: CaseRule, candidate: Candidate, *, now: datetime, zone: str, public_url: str,
         notify: bool, backfill: bool = False) -> str:
    """Act on one response the rule keeps: join the customer's open case of this rule, hold it out, or open a
    case. Returns the trigger's outcome."""
    label, score = candidate.label, candidate.score
    open_one = None
    if candidate.customer_id is not None:  # an anonymous response cannot join anything: it opens a case each
        open_one = db_session.scalar(select(Case).where(Case.customer_id == candidate.customer_id,
                                                        Case.rule_id == rule.id, Case.status != "closed"))
    if open_one is not None:
        add_event(db_session=db_session, case=open_one, kind="answered_again", at=now,
                  note=f"answered again: {label} {score}" if score is not None else "answered again",
                  response_id=candidate.response_id, score=score)
        outcome, case_id = "joined", open_one.id
    elif held_out(rule.key, holdout_unit(candidate.customer_id, candidate.public_id), rule.holdout_share or 0.0):
        outcome, case_id = "held_out", None
    else:
        policy = get_policy(db_session=db_session)
        department = route(db_session=db_session, attributes=candidate.attributes, fallback=rule.department_id,
                           policy=policy)
        case = open_case(db_session=db_session, title=title_of(rule, label, score, candidate.survey_key),
                         priority=rule.priority, department_id=department, rule_id=rule.id,
                         response_id=candidate.response_id, customer_id=candidate.customer_id,
                         contact_consent=candidate.consent, opened_at=now, zone=zone,
                         public_url=public_url, notify=notify)
        outcome, case_id = "opened", case.id
    db_session.add(CaseTrigger(rule_id=rule.id, response_id=candidate.response_id, outcome=outcome, case_id=case_id,
                               customer_id=candidate.customer_id, at=now, backfill=backfill))
    db_session.flush()
    return outcome


def _work_off(db: Database, rule_id: int, candidates: list[Candidate], *, now: datetime, zone: str, public_url: str,
              notify: Callable[[Candidate], bool], backfill: bool, tally: Counter) -> None:
    """Keep each candidate in its own savepoint, CHUNK to a transaction. A response another worker kept a moment
    before (the trigger's primary key), or a case it opened for the same customer (the open-case index), is
    skipped: the other worker's trigger stands, and a skipped join is retried on the next tick."""
    for start in range(0, len(candidates), CHUNK):
        with db.write() as db_session:
            rule = db_session.get(CaseRule, rule_id)
            if rule is None:
                return
            for candidate in candidates[start:start + CHUNK]:
                try:
                    with db_session.begin_nested():
                        tally[keep(db_session, rule, candidate, now=now, zone=zone, public_url=public_url,
                                   notify=notify(candidate), backfill=backfill)] += 1
                except IntegrityError:
                    tally["skipped"] += 1


@dataclass
class Cursors:
    """What a long-running worker remembers between steps, so a step reads only new responses instead of every
    response since each rule became active (a year of them, every two seconds): per rule, the response id up to
    which every response was looked at. Every FULL_SWEEP_EVERY-th step looks at all of them again, because on
    PostgreSQL a transaction holding a lower id can commit after a higher one, and a response skipped in a race
    (another worker opened the customer's case a moment before) is retried."""

    looked_at: dict[tuple[int, datetime], int] = field(default_factory=dict)  # (rule id, active_from) -> id
    steps: int = 0


FULL_SWEEP_EVERY = 60  # steps: two minutes at the worker's default interval


def run_rules(db: Database, *, now: datetime, zone: str, public_url: str, limit: int = 500,
              cursors: Cursors | None = None) -> int:
    """One worker step: every active rule on the responses submitted since its `active_from` that it has not kept
    yet, in id order, at most `limit` a rule. Returns how many triggers were written. A worker that calls it
    again and again passes the same `cursors`, so each step reads only responses newer than the last."""
    sweep = cursors is None or cursors.steps % FULL_SWEEP_EVERY == 0
    if cursors is not None:
        cursors.steps += 1
    work, reached = [], {}
    with db.read() as db_session:
        newest = db_session.scalar(select(func.max(Response.id))) or 0
        for rule in db_session.scalars(select(CaseRule).where(CaseRule.paused.is_(False)).order_by(CaseRule.id)):
            mark = (rule.id, rule.active_from)
            after = 0 if sweep else cursors.looked_at.get(mark, 0)
            candidates = _candidates(db_session, rule, zone=zone, history=False, limit=limit, after_id=after)
            work.append((rule.id, candidates))
            if cursors is not None:
                reached[mark] = _looked_at(db_session, rule, after=after, newest=newest, candidates=candidates,
                                           limit=limit)
    tally: Counter = Counter()
    for rule_id, candidates in work:
        _work_off(db, rule_id, candidates, now=now, zone=zone, public_url=public_url, notify=lambda _: True,
                  backfill=False, tally=tally)
    if cursors is not None:
        cursors.looked_at = reached  # rules paused, changed or gone drop out
    return _written(tally)


def _looked_at(db_session: Session, rule: CaseRule, *, after: int, newest: int, candidates: list[Candidate],
               limit: int) -> int:
    """The id up to which this step looks at every response for the rule: the newest when the step takes every
    candidate, else the last one it takes; for a rule on a comment's theme or sentiment, not past a response whose
    comment still waits for analysis (it may match once analysed)."""
    reached = candidates[-1].response_id if len(candidates) >= limit else newest
    conditions = rule.conditions or {}
    if conditions.get("theme") or conditions.get("sentiment"):
        waiting = db_session.scalar(
            select(func.min(Answer.response_id))
            .where(Answer.response_id > after, Answer.response_id <= reached, Answer.text.is_not(None),
                   ~exists().where(CommentAnalysis.answer_id == Answer.id)))
        if waiting is not None:
            reached = waiting - 1
    return max(reached, after)


def _written(tally: Counter) -> int:
    return sum(count for outcome, count in tally.items() if outcome != "skipped")


@dataclass
class BackfillReport:
    """What a backfill did (or, in a dry run, would look at), per rule key."""

    dry_run: bool
    rules: dict[str, Counter] = field(default_factory=dict)

    def lines(self) -> list[str]:
        lines = []
        for key, tally in self.rules.items():
            if self.dry_run:
                lines.append(f"{key}: would look at {counted(tally['matching'], 'matching stored response')}")
            else:
                lines.append(f"{key}: {counted(tally['opened'], 'case')} opened, {tally['joined']:,} joined an open "
                             f"case, {tally['held_out']:,} held out")
        return lines


class BackfillError(ValueError):
    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


def backfill(db: Database, *, now: datetime, zone: str, public_url: str, rule_keys: Iterable[str] = (),
             since: date | None = None, until: date | None = None, dry_run: bool = False,
             progress: Callable[[str, int], None] = lambda key, done: None) -> BackfillReport:
    """Run the rules (all active ones, or those named) on stored responses from before each became active, and on
    imported responses, within the days given. Only on request: submitting or importing never does this. A case for a response older than
    NOTIFY_WITHIN opens without e-mail or webhook."""
    keys = list(dict.fromkeys(rule_keys))
    first = day_start(since, zone) if since else None
    after = day_start(until + timedelta(days=1), zone) if until else None
    if since and until and since > until:
        raise BackfillError(f"--since {since} is after --until {until}; swap them", field="since")
    with db.read() as db_session:
        statement = select(CaseRule).order_by(CaseRule.id)
        statement = statement.where(CaseRule.key.in_(keys)) if keys else statement.where(CaseRule.paused.is_(False))
        rules = db_session.scalars(statement).all()
        db_session.expunge_all()  # read once, used across the transactions below
    missing = sorted(set(keys) - {rule.key for rule in rules})
    if missing:
        raise BackfillError(f"there is no rule {', '.join(map(repr, missing))}; `voxpop cases rules list` shows the "
                            f"keys", field="rule")
    report = BackfillReport(dry_run=dry_run)
    for rule in rules:
        report.rules[rule.key] = tally = Counter()
        if dry_run:
            with db.read() as db_session:
                tally["matching"] = db_session.scalar(select(func.count()).select_from(Response).where(
                    *_pending(rule, zone=zone, history=True, since=first, before=after)))
            continue
        while True:
            with db.read() as db_session:
                candidates = _candidates(db_session, rule, zone=zone, history=True, since=first, before=after,
                                         limit=500)
            if not candidates:
                break
            written = _written(tally)
            _work_off(db, rule.id, candidates, now=now, zone=zone, public_url=public_url,
                      notify=lambda candidate: now - candidate.submitted_at <= NOTIFY_WITHIN, backfill=True,
                      tally=tally)
            progress(rule.key, _written(tally))
            if _written(tally) == written:
                break  # only skips: another worker or backfill is at work on the same responses
    return report


@dataclass(frozen=True)
class Preview:
    """How many cases a rule would have opened over [since, until]."""

    since: date
    until: date
    matching: int  # responses that meet the conditions
    cases: int  # after joins: a customer's further matches within OPEN_DAYS of a case join it
    held_out: int  # of those cases, the expected number held out
    weeks: list[tuple[date, int]]  # (Monday, cases) per week
    months: list[tuple[date, int]]  # (first day, cases) per calendar month the window touches
    last_month: tuple[date, int] | None  # (first day, cases) of the last full calendar month in the window
    per_week: float  # cases per full week of the window

    def sentence(self) -> str:
        parts = []
        if self.last_month is not None:
            parts.append(f"{self.last_month[1]:,} cases in {self.last_month[0]:%B %Y}")
        parts.append(f"{self.per_week:,.0f} a week")
        return "this rule would have opened " + ", ".join(parts)


def preview(db_session: Session, *, rule: CaseRule, since: date, until: date, zone: str,
            open_days: int = OPEN_DAYS) -> Preview:
    """Cases the rule would have opened per week between `since` and `until` (days in the workspace's zone).
    Joins are approximated: a case is taken to stay open `open_days`, so a customer's further matching answers
    within that time join it."""
    local = ZoneInfo(zone)
    rows = db_session.execute(
        select(Response.customer_id, Response.submitted_at)
        .where(*rule_conditions(rule, zone=zone),
               *within_days(Response.submitted_at, since, until, zone))
        .order_by(Response.submitted_at, Response.id)).all()
    opened_at: dict[int, datetime] = {}
    per_week: Counter = Counter()
    per_month: Counter = Counter()
    cases = 0
    for customer_id, submitted_at in rows:
        if customer_id is not None:
            last = opened_at.get(customer_id)
            if last is not None and submitted_at - last < timedelta(days=open_days):
                continue
            opened_at[customer_id] = submitted_at
        cases += 1
        day = submitted_at.astimezone(local).date()
        per_week[day - timedelta(days=day.weekday())] += 1
        per_month[day.replace(day=1)] += 1
    monday = since - timedelta(days=since.weekday())
    weeks = []
    while monday <= until:
        weeks.append((monday, per_week.get(monday, 0)))
        monday += timedelta(days=7)
    full_weeks = [count for start, count in weeks if start >= since and start + timedelta(days=6) <= until]
    month_end = until.replace(day=1) - timedelta(days=1) if until != _month_last_day(until) else until
    month_start = month_end.replace(day=1)
    last_month = (month_start, per_month.get(month_start, 0)) if month_start >= since else None
    months, first = [], since.replace(day=1)
    while first <= until:
        months.append((first, per_month.get(first, 0)))
        first = _month_last_day(first) + timedelta(days=1)
    share = rule.holdout_share or 0.0
    return Preview(since, until, len(rows), cases, round(cases * share), weeks, months, last_month,
                   sum(full_weeks) / len(full_weeks) if full_weeks else float(cases))


def _month_last_day(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def opened_since(db_session: Session, *, since: datetime) -> dict[int, int]:
    """Cases each rule opened since a moment, by rule id."""
    return dict(db_session.execute(select(CaseTrigger.rule_id, func.count())
                                   .where(and_(CaseTrigger.outcome == "opened", CaseTrigger.at >= since))
                                   .group_by(CaseTrigger.rule_id)).all())
