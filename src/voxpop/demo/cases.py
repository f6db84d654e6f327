"""The demo's closed loop: Northwind's case team, its rules file (demo/case-rules.yaml), 18 months of cases opened
from the demo's own responses, two improvement initiatives and an alert rule.

The workspace generator (demo.workspace) writes responses in time order and asks `History.consider` about each
one a rule would keep. A case's story (who owns it, when the customer was first reached, by call or e-mail,
reassignments, waiting on the customer, resolution, root cause, reopening) is drawn at once, so the customer's
later answers can show what the contact did: detractors who were reached move up a group more often, and stay
and buy again a little more often than the 5% of customers held out at random. Steps after `now` have not
happened yet, which leaves the newest cases new, in progress or waiting, and a few of them overdue.

Cases of the last RECENT_DAYS go through cases.service exactly as staff make them. Older, finished history
is replayed by `replay`, which writes the rows the service would write for the same steps in bulk (tests/demo
checks the two agree): the service takes ~3 ms a case, and the demo must stay fast.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from voxpop.accounts.models import AuditEntry, Department, User
from voxpop.cases import service
from voxpop.cases.initiatives import Target, move_stage, save_initiative
from voxpop.cases.matching import title_of
from voxpop.cases.models import AlertRule, Case, CaseEvent, CasePolicy, CaseRule, CaseTrigger, RootCause
from voxpop.cases.rules import apply_rules, load_rules
from voxpop.cases.statuses import check_move, is_reopen
from voxpop.collection.models import Invitation
from voxpop.core.business_time import BusinessWeek, add_business_hours
from voxpop.store.ids import token_hash
from voxpop.surveys.models import Survey
from voxpop.text.codebook import DEFAULT_CODEBOOK, tag_comment
from voxpop.text.sentiment import score_sentiment

HERE = Path(__file__).parent
RULES_FILE = HERE / "case-rules.yaml"
# Northwind's case handlers besides the demo logins (agent@ and manager@ work in Customer Service).
CASE_TEAM = [
    ("sam.service@northwind.example", "agent", "Customer Service", "Sam Okafor"),
    ("priya.service@northwind.example", "agent", "Customer Service", "Priya Nair"),
    ("dana.digital@northwind.example", "agent", "Digital", "Dana Keller"),
    ("mo.digital@northwind.example", "manager", "Digital", "Mo Haddad"),
    ("leo.logistics@northwind.example", "agent", "Logistics", "Leo Brandt"),
    ("lena.logistics@northwind.example", "manager", "Logistics", "Lena Vos"),
]
RECENT_DAYS = 7  # cases opened since then go through cases.service one by one
HOLDOUT = {"nps-detractor": 0.05}  # as the rules file says
CONSENT = 0.75  # unhappy customers who say we may contact them
ON_TIME = 0.88  # first contacts within the deadline (Bain aims at about 90%)
UNTOUCHED = 0.1  # of the newest cases, those nobody has looked at yet
# A detractor stays unhappy in later answers (in the generator's mood), less so once a case reached them.
GRUDGE = 1.3
RECOVERY = 0.5
# Reached detractors buy a little more often and lapse a little less than those nobody called.
CONTACTED_BEHAVIOUR = (0.75, 0.22)

# The root cause a comment's theme points to, and the usual causes of a survey's cases without a comment.
THEME_CAUSES = {"late": "late-delivery", "damaged": "damaged-in-transit", "delivery": "late-delivery",
                "quality": "product-fault", "app_website": "app-fault", "returns_refunds": "refund-delay",
                "wait_time": "support-wait", "staff": "staff-conduct", "price": "price-surprise"}
USUAL_CAUSES = {
    "post-purchase": {"late-delivery": 30, "product-fault": 22, "app-fault": 10, "price-surprise": 8,
                      "damaged-in-transit": 8, "wrong-item": 8, "refund-delay": 6, "expectation-gap": 8},
    "support-csat": {"support-wait": 35, "refund-delay": 20, "staff-conduct": 12, "late-delivery": 13,
                     "expectation-gap": 10, "wrong-item": 10},
}
ACTIONS = {
    "late-delivery": ["Chased the courier and refunded the shipping", "Sent a replacement by express delivery",
                      "Apologised and gave a 10% voucher for the next order"],
    "damaged-in-transit": ["Sent a replacement and a prepaid return label", "Refunded the damaged item"],
    "product-fault": ["Replaced the product under warranty", "Refunded in full and passed the fault to Product",
                      "Arranged a repair of the zip"],
    "app-fault": ["Placed the order by phone and logged the app bug", "Reset the account; fixed in app 4.2.1"],
    "refund-delay": ["Pushed the refund through the same day", "Refunded and added a goodwill voucher"],
    "support-wait": ["Called back, solved the question and apologised for the wait",
                     "Answered the open e-mail and gave a voucher"],
    "staff-conduct": ["Apologised; the store manager spoke with the team", "Apologised and coached the agent"],
    "price-surprise": ["Explained the shipping costs and refunded them once", "Applied the missing discount"],
    "wrong-item": ["Sent the right item and collected the wrong one", "Refunded and sent the right size"],
    "expectation-gap": ["Listened, explained what we offer, no fault found", "Explained the policy; customer happy"],
}
CALLS = ["Called the customer and talked it through", "Called; they explained what went wrong",
         "Called back as promised", "Reached them on the second try"]
EMAILS = ["E-mailed an apology and asked for the order number", "E-mailed: sorry about your order",
          "Replied to the customer by e-mail"]
WAITING = ["Waiting for photos of the item", "Waiting for the order number", "Asked them to try the fix and tell us"]
REASSIGN = {"other": ["Needs Logistics: the parcel is with the courier", "Lost parcel: Logistics will chase it"],
            "same": ["Sam is on leave this week", "Rebalancing the queue", "Customer asked for a German speaker"]}
Step = tuple  # (at, action, details): action contact | assign | status | answered


@dataclass
class Loop:
    """What the rules file made, and the people who work the cases, as ids."""

    policy: CasePolicy
    week: BusinessWeek
    zone: str
    rules: dict[str, CaseRule]
    causes: dict[str, int]
    departments: dict[str, int]
    handlers: dict[int, list[int]]  # department id -> its agents and managers, agents first
    users: dict[int, User]
    route: Callable[[dict[str, str], int | None], int | None]


@dataclass
class Story:
    """One case as it happens: opened by a rule for a response, then its steps in time order."""

    rule: str
    survey: str
    number: int  # the response's position in its survey's batch (key demo:N)
    customer: str
    score: int
    opened_at: datetime
    department_id: int | None
    owner_id: int | None
    consent: bool | None
    steps: list[Step] = field(default_factory=list)

    def closes_at(self) -> datetime | None:
        """When the case was closed for the last time, or None while it is open."""
        moves = [(at, details["to"]) for at, action, details in self.steps if action == "status"]
        return moves[-1][0] if moves and moves[-1][1] == "closed" else None

    def first_contact(self) -> datetime | None:
        return next((at for at, action, _ in self.steps if action == "contact"), None)


def add_case_team(db_session: Session, *, password_hash: str) -> None:
    """Northwind's agents and managers in Customer Service, Digital and Logistics (the demo's password)."""
    from voxpop.accounts import service as accounts

    for email, role, department, name in CASE_TEAM:
        if db_session.scalar(select(User.id).where(User.email == email)) is None:
            user = accounts.create_user(db_session=db_session, email=email, password=None, role=role, name=name,
                                        department=department)
            user.password_hash = password_hash


def apply_case_rules(db_session: Session, *, now: datetime, zone: str) -> Loop:
    """Apply demo/case-rules.yaml as `voxpop cases rules apply` would; rules match responses from `now` on."""
    rules = load_rules(RULES_FILE.read_text(encoding="utf-8"), source="demo/case-rules.yaml")
    apply_rules(db_session=db_session, rules=rules, now=now, source="demo/case-rules.yaml")
    policy = service.get_policy(db_session=db_session)
    handlers: dict[int, list[int]] = {}
    users = {user.id: user for user in db_session.scalars(select(User).order_by(User.id))}
    for user in sorted(users.values(), key=lambda user: (user.role != "agent", user.id)):
        if user.role in service.CASE_HANDLERS and user.department_id is not None:
            handlers.setdefault(user.department_id, []).append(user.id)
    routed: dict[tuple, int | None] = {}

    def route(attributes: dict[str, str], fallback: int | None) -> int | None:
        key = (tuple(sorted(attributes.items())), fallback)
        if key not in routed:  # a few dozen combinations: ask the service once for each
            routed[key] = service.route(db_session=db_session, attributes=attributes, fallback=fallback,
                                        policy=policy)
        return routed[key]

    return Loop(policy=policy, week=service.business_week(policy, zone=zone), zone=zone,
                rules={rule.key: rule for rule in db_session.scalars(select(CaseRule))},
                causes=dict(db_session.execute(select(RootCause.key, RootCause.id)).all()),
                departments=dict(db_session.execute(select(Department.name, Department.id)).all()),
                handlers=handlers, users=users, route=route)


def complains_about_delivery(text: str | None, language: str) -> bool:
    """Whether the comment pipeline would tag the comment 'delivery' with a negative sentiment (English only:
    the pipeline scores no German sentiment)."""
    if not text or language != "en":
        return False
    return (any(tag.theme == "delivery" for tag in tag_comment(DEFAULT_CODEBOOK, text))
            and score_sentiment(text).label == "negative")


class History:
    """The cases, held-out responses and joins the rules made of the demo's responses, drawn as they arrive."""

    def __init__(self, loop: Loop, *, seed: int, now: datetime):
        self.loop, self.now = loop, now
        self.rng = random.Random(seed * 7919 + 14)  # its own stream: the responses stay as they were drawn
        self.stories: list[Story] = []
        self.held_out: list[tuple[str, str, int, str, datetime]] = []  # rule, survey, number, customer, at
        self.joined: list[tuple[Story, str, int, datetime]] = []
        self.open: dict[tuple[str, str], Story] = {}
        self.arm: dict[tuple[str, str], bool] = {}  # (rule, customer) -> held out
        self.reached: dict[str, datetime] = {}  # detractors first reached, when
        self.unhappy: dict[str, datetime] = {}  # customers who were detractors, since when

    def mood(self, customer: str, moment: datetime) -> float:
        """How a customer's earlier detractor answer, and a case that reached them, colour what they say at
        `moment`: a detractor stays unhappy, less so once someone called."""
        unhappy, reached = self.unhappy.get(customer), self.reached.get(customer)
        return ((-GRUDGE if unhappy is not None and unhappy < moment else 0.0)
                + (RECOVERY if reached is not None and reached < moment else 0.0))

    def consider(self, rule: str, *, survey: str, number: int, customer: str, submitted_at: datetime,
                 attributes: dict[str, str], score: int, consent: bool | None, comment: str | None) -> None:
        """A response the rule keeps: it joins the customer's open case, is held out, or opens a case."""
        if rule == "nps-detractor":
            self.unhappy.setdefault(customer, submitted_at)
        current = self.open.get((rule, customer))
        if current is not None:
            closes = current.closes_at()
            if closes is None or closes > submitted_at:
                current.steps.append((submitted_at, "answered", {"survey": survey, "number": number, "score": score}))
                current.steps.sort(key=lambda step: step[0])
                self.joined.append((current, survey, number, submitted_at))
                return
        # The holdout is drawn once per customer and rule, as cases.matching draws it: a customer stays in one arm.
        if (rule, customer) not in self.arm:
            self.arm[(rule, customer)] = self.rng.random() < HOLDOUT.get(rule, 0.0)
        if self.arm[(rule, customer)]:
            self.held_out.append((rule, survey, number, customer, submitted_at))
            return
        story = plan_story(self.rng, self.loop, rule=rule, survey=survey, number=number, customer=customer,
                           submitted_at=submitted_at, attributes=attributes, score=score, consent=consent,
                           comment=comment, now=self.now)
        self.stories.append(story)
        self.open[(rule, customer)] = story
        reached = story.first_contact()
        if rule == "nps-detractor" and reached is not None and customer not in self.reached:
            self.reached[customer] = reached

    @property
    def contacted(self) -> set[str]:
        """Customers a detractor case reached by now."""
        return {customer for customer, at in self.reached.items() if at <= self.now}


def _hours_later(moment: datetime, hours: float, week: BusinessWeek) -> datetime:
    return add_business_hours(moment, max(hours, 0.05), week)


def root_cause(rng: random.Random, survey: str, comment: str | None) -> str:
    """The cause a case is closed with: what the customer wrote about, else what such cases usually are."""
    if comment and rng.random() < 0.8:
        themes = [tag.theme for tag in tag_comment(DEFAULT_CODEBOOK, comment)]
        for theme in ("damaged", "late", *themes):
            if theme in themes and theme in THEME_CAUSES:
                return THEME_CAUSES[theme]
    causes = USUAL_CAUSES[survey]
    return rng.choices(list(causes), weights=list(causes.values()))[0]


def plan_story(rng: random.Random, loop: Loop, *, rule: str, survey: str, number: int, customer: str,
               submitted_at: datetime, attributes: dict[str, str], score: int, consent: bool | None,
               comment: str | None, now: datetime) -> Story:
    """Draw one case's life: first contact mostly within its deadline, some reassigned or waiting on the
    customer, resolved, closed with a root cause, one in ten reopened; steps after `now` are dropped."""
    week = loop.week
    case_rule = loop.rules[rule]
    opened = submitted_at + timedelta(minutes=rng.randint(1, 9))  # the worker's next tick
    department = loop.route(attributes, case_rule.department_id)
    team = loop.handlers.get(department, [])
    owner = rng.choice(team[:3]) if team else None
    story = Story(rule, survey, number, customer, score, opened, department, owner, consent)
    target = float((loop.policy.first_contact_hours or {}).get(case_rule.priority, 24))
    cause = root_cause(rng, survey, comment)
    steps = story.steps
    if (now - opened).days < 14 and rng.random() < UNTOUCHED:
        return story  # nobody has looked at it yet: new, and overdue once its deadline passes
    at = opened
    if owner is not None and len(team) > 1 and rng.random() < 0.08:
        other = rng.choice([person for person in team if person != owner])
        at = _hours_later(at, rng.uniform(0.5, 6), week)
        steps.append((at, "assign", {"owner": other, "department": department, "actor": other,
                                     "reason": rng.choice(REASSIGN["same"])}))
        owner = other
    actor = owner
    if consent is False:  # they asked not to be called: the team checks the order and fixes what it can
        at = _hours_later(at, target * rng.betavariate(1.5, 2.5), week)
        steps.append((at, "status", {"to": "resolved", "actor": actor,
                                     "note": "The customer asked not to be contacted; order checked"}))
    else:
        hours = target * (rng.betavariate(1.3, 2.6) if rng.random() < ON_TIME else rng.uniform(1.05, 2.6))
        at = _hours_later(at, hours, week)
        kind = "meeting" if attributes.get("segment") == "business" and rng.random() < 0.15 else (
            "email" if rng.random() < 0.35 else "call")
        steps.append((at, "contact", {"kind": kind, "actor": actor,
                                      "note": rng.choice(EMAILS if kind == "email" else CALLS)}))
        if cause in ("late-delivery", "damaged-in-transit") and department != loop.departments.get("Logistics") \
                and rng.random() < 0.12 and loop.handlers.get(loop.departments.get("Logistics")):
            logistics = loop.departments["Logistics"]
            at = _hours_later(at, rng.uniform(0.2, 3), week)
            new_owner = rng.choice(loop.handlers[logistics])
            steps.append((at, "assign", {"owner": new_owner, "department": logistics, "actor": actor,
                                         "reason": rng.choice(REASSIGN["other"])}))
            actor = new_owner
        if rng.random() < 0.45:
            at = at + timedelta(minutes=rng.randint(5, 40))
        else:
            if rng.random() < 0.4:
                at = at + timedelta(minutes=rng.randint(10, 60))
                steps.append((at, "status", {"to": "waiting", "actor": actor, "note": rng.choice(WAITING)}))
                at = at + timedelta(days=rng.uniform(1, 8))
                steps.append((at, "status", {"to": "in_progress", "actor": actor, "note": "The customer replied"}))
            at = _hours_later(at, rng.uniform(2, 30), week)
            kind = "email" if rng.random() < 0.5 else "call"
            steps.append((at, "contact", {"kind": kind, "actor": actor,
                                          "note": rng.choice(EMAILS if kind == "email" else CALLS)}))
            at = at + timedelta(minutes=rng.randint(5, 60))
        steps.append((at, "status", {"to": "resolved", "actor": actor, "note": None}))
    close = {"to": "closed", "actor": actor, "note": None, "root_cause": cause,
             "action_taken": rng.choice(ACTIONS[cause]), "issue_resolved": rng.random() < 0.86}
    at = _hours_later(at, rng.uniform(1, 20), week)
    steps.append((at, "status", close))
    if rng.random() < 0.1:  # the customer came back: reopened, fixed again
        at = at + timedelta(days=rng.uniform(1, 12))
        steps.append((at, "status", {"to": "in_progress", "actor": actor, "note": "The customer wrote back: "
                                     "the problem is not solved"}))
        at = _hours_later(at, rng.uniform(0.5, 12), week)
        steps.append((at, "contact", {"kind": "call", "actor": actor, "note": rng.choice(CALLS)}))
        at = at + timedelta(minutes=rng.randint(10, 90))
        steps.append((at, "status", {"to": "resolved", "actor": actor, "note": None}))
        at = _hours_later(at, rng.uniform(1, 16), week)
        steps.append((at, "status", dict(close, action_taken=rng.choice(ACTIONS[cause]), issue_resolved=True)))
    story.steps[:] = [step for step in steps if step[0] <= now]
    return story


def _title(rule: CaseRule, story: Story) -> str:
    return title_of(rule, "CSAT" if story.survey == "support-csat" else "NPS", story.score, story.survey)


def run_story(db_session: Session, story: Story, loop: Loop, *, response_ids: dict[tuple[str, int], int],
              customer_id: int | None) -> Case:
    """Open and work one case through cases.service, as the rule's worker and the staff would, on past times."""
    rule = loop.rules[story.rule]
    case = service.open_case(db_session=db_session, title=_title(rule, story), priority=rule.priority,
                             department_id=story.department_id, owner_id=story.owner_id, rule_id=rule.id,
                             response_id=response_ids[(story.survey, story.number)], customer_id=customer_id,
                             contact_consent=story.consent, opened_at=story.opened_at, zone=loop.zone, notify=False)
    for at, action, details in story.steps:
        actor = loop.users.get(details.get("actor"))
        if action == "contact":
            service.log_contact(db_session=db_session, case=case, kind=details["kind"], note=details["note"],
                                actor=actor, at=at, notify=False)
        elif action == "assign":
            service.assign(db_session=db_session, case=case, owner_id=details["owner"],
                           department_id=details["department"], actor=actor, reason=details["reason"], at=at,
                           notify=False)
        elif action == "status":
            service.change_status(db_session=db_session, case=case, to=details["to"], actor=actor,
                                  note=details["note"], root_cause_id=loop.causes.get(details.get("root_cause")),
                                  action_taken=details.get("action_taken"),
                                  issue_resolved=details.get("issue_resolved"), at=at, notify=False, zone=loop.zone)
        else:
            service.add_event(db_session=db_session, case=case, kind="answered_again", at=at,
                              note=_answered_note(story, details["score"]),
                              response_id=response_ids[(details["survey"], details["number"])],
                              score=details["score"])
    return case


def _answered_note(story: Story, score: int) -> str:
    # As cases.matching writes it when a customer with an open case answers again.
    return f"answered again: {'CSAT' if story.survey == 'support-csat' else 'NPS'} {score}"


def replay(db_session: Session, stories: list[Story], loop: Loop, *, response_ids: dict[tuple[str, int], int],
           customer_ids: dict[str, int]) -> list[int]:
    """Write finished cases in bulk: the case rows, timeline events and audit entries that cases.service writes
    for the same steps (tests/demo compares the two). Returns the cases' ids, in the stories' order."""
    rows, timelines, audits = [], [], []
    for story in stories:
        rule = loop.rules[story.rule]
        due = service.deadlines(loop.policy, priority=rule.priority, opened_at=story.opened_at, zone=loop.zone)
        response_id = response_ids[(story.survey, story.number)]
        customer_id = customer_ids.get(story.customer)
        case = {"title": _title(rule, story)[:300], "status": "new", "priority": rule.priority,
                "department_id": story.department_id, "owner_id": story.owner_id, "rule_id": rule.id,
                "response_id": response_id, "customer_id": customer_id, "contact_consent": story.consent,
                "opened_at": story.opened_at, "updated_at": story.opened_at, "first_contact_due": due.first_contact,
                "resolve_due": due.resolve, "first_contact_at": None, "resolved_at": None, "closed_at": None,
                "root_cause_id": None, "action_taken": None, "issue_resolved": None, "resolved_at_first_contact": None,
                "followup_due_at": None, "reopened": 0}
        events = [_event(story.opened_at, "opened", None, to_status="new", rule_id=rule.id, response_id=response_id)]
        if story.owner_id is not None:
            events.append(_event(story.opened_at, "assigned", None, owner_id=story.owner_id,
                                 department_id=story.department_id))
        contacts = 0
        for at, action, details in story.steps:
            actor = details.get("actor")
            if action == "contact":
                contacts += 1
                case["first_contact_at"] = case["first_contact_at"] or at
                events.append(_event(at, details["kind"], actor, note=details["note"].strip() or None))
                if case["status"] == "new":
                    case["status"] = "in_progress"
                    events.append(_event(at, "status", actor, from_status="new", to_status="in_progress"))
                audits.append((len(rows), actor, f"case.{details['kind']}", {}))
            elif action == "assign":
                moved = case["owner_id"] is not None and case["owner_id"] != details["owner"]
                events.append(_event(at, "reassigned" if moved else "assigned", actor,
                                     note=(details["reason"] or "").strip() or None, owner_id=details["owner"],
                                     department_id=details["department"], previous_owner_id=case["owner_id"],
                                     previous_department_id=case["department_id"]))
                case["owner_id"], case["department_id"] = details["owner"], details["department"]
                audits.append((len(rows), actor, "case.assign", {"owner_id": details["owner"],
                                                                  "department_id": details["department"]}))
            elif action == "status":
                previous, to = case["status"], details["to"]
                _move(case, previous, details, at, loop, contacts=contacts)
                events.append(_event(at, "reopened" if is_reopen(previous, to) else "status", actor,
                                     note=details["note"], from_status=previous, to_status=to,
                                     **({"root_cause_id": case["root_cause_id"], "issue_resolved": case["issue_resolved"]}
                                        if to == "closed" else {})))
                audits.append((len(rows), actor, "case.status", {"from_status": previous, "to_status": to}))
            else:
                events.append(_event(at, "answered_again", None, note=_answered_note(story, details["score"]),
                                     response_id=response_ids[(details["survey"], details["number"])],
                                     score=details["score"]))
            if action != "answered":
                case["updated_at"] = at
        rows.append(case)
        timelines.append(events)
    if not rows:
        return []
    table = Case.__table__
    ids = list(db_session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars())
    db_session.execute(insert(CaseEvent.__table__), [dict(event, case_id=case_id) for case_id, events in
                                                     zip(ids, timelines) for event in events])
    entries = [{"actor_id": actor, "action": action, "target": f"case:{ids[index]}", "client": "", "details": details}
               for index, actor, action, details in audits if actor is not None]
    if entries:
        db_session.execute(insert(AuditEntry.__table__), entries)
    return ids


def _event(at: datetime, kind: str, actor: int | None, *, note: str | None = None, from_status: str | None = None,
           to_status: str | None = None, **details) -> dict:
    return {"at": at, "kind": kind, "actor_id": actor, "note": note, "from_status": from_status,
            "to_status": to_status, "details": details}


def _move(case: dict, previous: str, details: dict, at: datetime, loop: Loop, *, contacts: int) -> None:
    """A status change's effect on the case's fields, as cases.service.change_status makes it."""
    to = details["to"]
    check_move(previous, to)
    if is_reopen(previous, to):
        case["reopened"] += 1
        case["resolved_at"] = case["closed_at"] = None
        # A new resolve deadline from the reopening (the replayed history is never warned, so no stamps to clear).
        case["resolve_due"] = service.deadlines(loop.policy, priority=case["priority"], opened_at=at,
                                                zone=loop.zone).resolve
    if to == "resolved":
        case["resolved_at"] = at
        case["resolved_at_first_contact"] = service.resolved_at_first_contact(contacts)
    if to == "closed":  # only from resolved: resolved_at is set
        case["closed_at"] = at
        case["root_cause_id"] = loop.causes[details["root_cause"]]
        case["action_taken"] = details["action_taken"].strip()
        case["issue_resolved"] = details["issue_resolved"]
        if case["contact_consent"] and loop.policy.followup_survey_id is not None and case["customer_id"] is not None:
            case["followup_due_at"] = at + timedelta(days=loop.policy.followup_days)
    case["status"] = to


def write_history(db_session: Session, history: History, *, response_ids: dict[tuple[str, int], int],
                  customer_ids: dict[str, int], seed: int) -> None:
    """Write the cases (recent ones through cases.service, finished older ones in bulk), every rule's triggers
    (opened, joined, held out) and the follow-up invitations already sent."""
    loop, now = history.loop, history.now
    recent = now - timedelta(days=RECENT_DAYS)
    finished = [story for story in history.stories if story.opened_at < recent and story.closes_at() is not None]
    case_ids = dict(zip(map(id, finished), replay(db_session, finished, loop, response_ids=response_ids,
                                                   customer_ids=customer_ids)))
    # A session of its own on the same transaction: its flushes see only the cases it makes, not the surveys and
    # users the demo's session holds, which makes each of the service's flushes several times cheaper.
    with Session(bind=db_session.connection(), autoflush=True) as work:
        for story in history.stories:
            if id(story) not in case_ids:
                case = run_story(work, story, loop, response_ids=response_ids,
                                 customer_id=customer_ids.get(story.customer))
                case_ids[id(story)] = case.id
        work.flush()
    triggers = [{"rule_id": loop.rules[story.rule].id, "response_id": response_ids[(story.survey, story.number)],
                 "outcome": "opened", "case_id": case_ids[id(story)], "customer_id": customer_ids.get(story.customer),
                 "at": story.opened_at, "backfill": False} for story in history.stories]
    triggers += [{"rule_id": loop.rules[story.rule].id, "response_id": response_ids[(survey, number)],
                  "outcome": "joined", "case_id": case_ids[id(story)], "customer_id": customer_ids.get(story.customer),
                  "at": at, "backfill": False} for story, survey, number, at in history.joined]
    triggers += [{"rule_id": loop.rules[rule].id, "response_id": response_ids[(survey, number)],
                  "outcome": "held_out", "case_id": None, "customer_id": customer_ids.get(customer),
                  "at": at + timedelta(minutes=1), "backfill": False}
                 for rule, survey, number, customer, at in history.held_out]
    db_session.execute(insert(CaseTrigger.__table__), triggers)
    _followups_sent(db_session, loop, now=now, seed=seed)


def _followups_sent(db_session: Session, loop: Loop, *, now: datetime, seed: int) -> None:
    """The follow-up invitations the case worker sent when each was due (cases.followups does it live)."""
    survey_id = loop.policy.followup_survey_id
    due = db_session.execute(
        select(Case.id, Case.customer_id, Case.followup_due_at)
        .where(Case.status == "closed", Case.contact_consent.is_(True), Case.followup_due_at <= now,
               Case.followup_sent_at.is_(None), Case.customer_id.is_not(None)).order_by(Case.id)).all()
    if survey_id is None or not due:
        return
    table = Invitation.__table__
    invitations = list(db_session.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True),
        [{"survey_id": survey_id, "customer_id": customer_id,
          "token_hash": token_hash(f"northwind-followup-{seed}-{case_id}"), "created_at": sent,
          "expires_at": sent + timedelta(days=30)} for case_id, customer_id, sent in due]).scalars())
    cases = Case.__table__
    db_session.execute(update(cases).where(cases.c.id == bindparam("case")).values(
        followup_sent_at=bindparam("sent"), followup_invitation_id=bindparam("invitation")).execution_options(
        synchronize_session=False),
        [{"case": case_id, "sent": sent, "invitation": invitation}
         for (case_id, _, sent), invitation in zip(due, invitations)])
    survey = db_session.scalar(select(Survey.key).where(Survey.id == survey_id))
    db_session.execute(insert(CaseEvent.__table__), [
        dict(_event(sent, "followup_sent", None, survey=survey, invitation_id=invitation), case_id=case_id)
        for (case_id, _, sent), invitation in zip(due, invitations)])


# The initiative that worked: from its change date, app buyers get a call back within a day, and their scores
# rise (demo.workspace adds APP_CALLBACK_UPLIFT to their mood). The other changed nothing the data can see.
APP_CALLBACK_DAYS_AGO = 137
RETURNS_LABEL_DAYS_AGO = 92


def add_improvement(db_session: Session, *, now: datetime) -> None:
    """Two initiatives (one that worked, one that did not) and an alert rule on the monthly NPS."""
    people = {user.email: user for user in db_session.scalars(select(User))}
    departments = dict(db_session.execute(select(Department.name, Department.id)).all())
    manager = people["manager@northwind.example"]
    today = now.date()
    worked = save_initiative(
        db_session=db_session, actor=manager, title="Call back app users within a day",
        problem="App buyers are our unhappiest channel: their NPS trails the web's, and many detractors wait days "
                "for an answer. From the change date the Digital team calls back every unhappy app buyer within "
                "one business day and fixes checkout problems on the call.",
        owner_id=people["mo.digital@northwind.example"].id, department_id=departments["Digital"],
        root_causes=["app-fault"], themes=["app_website"],
        target=Target("post-purchase", "nps", "nps", (("attribute", "channel=app"),)),
        start_date=today - timedelta(days=APP_CALLBACK_DAYS_AGO + 75),
        change_date=today - timedelta(days=APP_CALLBACK_DAYS_AGO))
    for stage in ("do", "check"):
        move_stage(db_session=db_session, initiative=worked, to=stage, actor=manager)
    flat = save_initiative(
        db_session=db_session, actor=manager, title="Prepaid returns label in every parcel",
        problem="Customers who return items wait for labels and refunds, and score support low. From the change "
                "date every parcel carries a prepaid returns label.",
        owner_id=people["lena.logistics@northwind.example"].id, department_id=departments["Logistics"],
        root_causes=["refund-delay"], themes=["returns_refunds"],
        target=Target("support-csat", "csat", "csat", (("attribute", "team=returns"),)),
        start_date=today - timedelta(days=RETURNS_LABEL_DAYS_AGO + 40),
        change_date=today - timedelta(days=RETURNS_LABEL_DAYS_AGO))
    for stage in ("do", "check"):
        move_stage(db_session=db_session, initiative=flat, to=stage, actor=manager)
    db_session.add(AlertRule(name="Post-purchase NPS by month", owner_id=manager.id, created_at=now,
                             target=Target("post-purchase", "nps", "nps").as_json()))
    db_session.flush()

