"""The rules file: which responses open a case, where cases go, the root causes they close with, and the case
policy. YAML or JSON (docs/case-rules.md has the format); applied with `voxpop cases rules apply FILE` or on the
Rules page.

Reading is in two steps. `load_rules` checks the file alone (shapes, the answer tests and attributes through the
response filter's own parsers) and `check_rules` checks it against the workspace (the survey has the question
and the attribute, the department exists, a score test stays on the question's scale). Every problem names
its place in the file, e.g. "rules[0].when.answer[1]".

`apply_rules` upserts by key. A rule whose conditions change starts again from now (`active_from`), so history
is never matched silently: only a backfill, on request, looks at responses from before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.accounts.models import Department, User
from voxpop.accounts.service import audit
from voxpop.analysis.periods import days
from voxpop.cases import matching
from voxpop.cases.models import CaseRoute, CaseRule, RootCause
from voxpop.cases.rules_schemas import (
    MonthPublic,
    PolicyPublic,
    PreviewPublic,
    RoutePublic,
    RuleDetailPublic,
    RulePublic,
    RulesPublic,
    RulesRootCausePublic,
    WeekPublic,
)
from voxpop.cases.service import DEFAULT_FIRST_CONTACT_HOURS, DEFAULT_RESOLVE_HOURS, get_policy, policy_or_defaults
from voxpop.cases.statuses import PRIORITIES
from voxpop.collection.filters import FilterError, parse_attribute, parse_response_filter
from voxpop.collection.models import AttributeSetValue
from voxpop.core.wording import listed
from voxpop.store.base import utcnow
from voxpop.store.database import Database
from voxpop.surveys.models import AttributeDefinition, Question, Survey, SurveyVersion
from voxpop.surveys.schemas import KEY, DocumentProblems, SurveyDefinition, format_location, read_mapping
from voxpop.text.codebooks import codebook_keys

Key = Annotated[str, StringConstraints(pattern=KEY)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Hours = Annotated[float, Field(gt=0, le=10_000)]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # ISO order: mon is 1
SENTIMENTS = ("negative", "neutral", "positive")
WORKDAY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)$")
MAX_HOLDOUT = 0.5  # beyond half, the rule mostly does not act: that is an experiment, not a rule
CONDITION_FIELDS = ("answer", "attribute", "theme", "sentiment")


class RulesError(ValueError):
    """A rules file that cannot be applied; `problems` holds (path in the file, what to do) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {path}: {message}" for path, message in problems)
        super().__init__(f"{source} is not a valid rules file:\n{lines}")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FollowupFile(Strict):
    survey: Key
    days: int = Field(14, ge=0, le=365)


class PerPriority(Strict):
    urgent: Hours | None = None
    high: Hours | None = None
    normal: Hours | None = None
    low: Hours | None = None


class PolicyFile(Strict):
    first_contact_hours: PerPriority | None = None
    resolve_hours: PerPriority | None = None
    workday: str | None = None
    workdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] | None = Field(None, min_length=1)
    warn_before_hours: float | None = Field(None, ge=0, le=1000)
    assignment: Literal["least-open", "round-robin"] | None = None
    default_department: Name | None = None
    followup: FollowupFile | None = None


class RouteFile(Strict):
    attribute: Key
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    department: Name


class RootCauseFile(Strict):
    key: Key
    name: Name
    theme: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class WhenFile(Strict):
    answer: list[Annotated[str, StringConstraints(max_length=270)]] = Field(default_factory=list, max_length=20)
    attribute: list[Annotated[str, StringConstraints(max_length=270)]] = Field(default_factory=list, max_length=20)
    theme: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    sentiment: Literal["negative", "neutral", "positive"] | None = None


class RuleFile(Strict):
    key: Key
    name: Name
    survey: Key | None = None
    when: WhenFile
    priority: str = "normal"
    department: Name | None = None
    consent_question: Key | None = None
    holdout: float = Field(0.0, ge=0, le=MAX_HOLDOUT)
    paused: bool = False

    def conditions(self) -> dict:
        """The conditions as CaseRule.conditions stores them, the answer tests and attributes as written."""
        stored: dict = {"answer": list(self.when.answer), "attribute": list(self.when.attribute)}
        if self.when.theme:
            stored["theme"] = self.when.theme
        if self.when.sentiment:
            stored["sentiment"] = self.when.sentiment
        return stored


class RulesFile(Strict):
    policy: PolicyFile | None = None
    routes: list[RouteFile] | None = None
    root_causes: list[RootCauseFile] | None = None
    rules: list[RuleFile] = Field(default_factory=list)


def load_rules(text: str, *, source: str) -> RulesFile:
    """Parse a YAML or JSON rules file and check it on its own (not against the workspace: see check_rules)."""
    try:
        raw = read_mapping(text, expected="a mapping with rules (and optionally policy, routes and root_causes)")
    except DocumentProblems as exc:
        raise RulesError(source, exc.problems) from None
    try:
        rules = RulesFile.model_validate(raw)
    except ValidationError as exc:
        problems = [(format_location(error["loc"]), _sentence(error)) for error in exc.errors()]
        raise RulesError(source, problems) from None
    problems = _file_problems(rules)
    if problems:
        raise RulesError(source, problems)
    return rules


def _sentence(error: dict) -> str:
    if error["type"] == "extra_forbidden":
        return "is not a field of this part of the file; check its spelling against docs/case-rules.md"
    if error["type"] == "string_pattern_mismatch":
        return "a key is lower-case letters, digits, - and _, starting with a letter"
    return error["msg"].removeprefix("Value error, ")


def _file_problems(rules: RulesFile) -> list[tuple[str, str]]:
    """What the shapes alone cannot see: duplicate keys, unknown priorities, unreadable tests, an empty rule."""
    problems: list[tuple[str, str]] = []
    for name, items in (("rules", rules.rules), ("root_causes", rules.root_causes or [])):
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.key in seen:
                problems.append((f"{name}[{index}].key", f"the key {item.key!r} is used twice; give each its own"))
            seen.add(item.key)
    for index, rule in enumerate(rules.rules):
        path = f"rules[{index}]"
        if rule.priority not in PRIORITIES:
            problems.append((f"{path}.priority", f"priority is one of {', '.join(PRIORITIES)}, not {rule.priority!r}"))
        if not rule.when.answer and not rule.when.attribute and not rule.when.theme and not rule.when.sentiment:
            problems.append((f"{path}.when", "give at least one condition (answer, attribute, theme or sentiment), "
                                             "or the rule would open a case for every response"))
        for part in ("answer", "attribute"):
            for number, text in enumerate(getattr(rule.when, part)):
                try:
                    parse_response_filter(today=date.today(), **{part: [text]})
                except FilterError as exc:
                    problems.append((f"{path}.when.{part}[{number}]", str(exc)))
    if rules.policy is not None and rules.policy.workday is not None:
        if (hours := _workday(rules.policy.workday)) is None:
            problems.append(("policy.workday", f"write the working day as HH:MM-HH:MM, e.g. 09:00-17:00, "
                                               f"not {rules.policy.workday!r}"))
        elif hours[0] >= hours[1]:
            problems.append(("policy.workday", "the working day must end after it starts"))
    if rules.policy is not None and rules.policy.workdays is not None:
        if len(set(rules.policy.workdays)) != len(rules.policy.workdays):
            problems.append(("policy.workdays", "a day is listed twice"))
    return problems


def _workday(text: str) -> tuple[str, str] | None:
    """'09:00-17:00' as ('09:00', '17:00'); 24:00 is written as 23:59, the end of the last business minute."""
    match = WORKDAY.match(text.strip())
    if match is None:
        return None
    end = f"{match.group(3)}:{match.group(4)}"
    if end > "24:00":
        return None
    return f"{match.group(1)}:{match.group(2)}", "23:59" if end == "24:00" else end


@dataclass(frozen=True)
class Workspace:
    """What the rules file may name, read once: surveys with their questions and attributes, departments, themes."""

    surveys: dict[str, int]
    declared: dict[str, set[str]]  # survey key -> the attributes its file declares (empty: it declares none)
    questions: dict[str, dict[str, tuple[str, int | None, int | None]]]  # survey -> key -> kind, scale
    attributes: set[str]
    departments: dict[str, int]
    themes: set[str]


def read_workspace(*, db_session: Session) -> Workspace:
    """The names a rules file is checked against."""
    surveys = dict(db_session.execute(select(Survey.key, Survey.id)).all())
    declared: dict[str, set[str]] = {}
    newest = dict(db_session.execute(  # ordered by number: the newest version of each survey is the last one kept
        select(Survey.key, SurveyVersion.definition).join(SurveyVersion, SurveyVersion.survey_id == Survey.id)
        .order_by(SurveyVersion.number)).all())
    for key, definition in newest.items():
        declared[key] = set(SurveyDefinition.model_validate(definition).attributes)
    questions: dict[str, dict[str, tuple[str, int | None, int | None]]] = {}
    for key, question, kind, low, high in db_session.execute(
            select(Survey.key, Question.key, Question.kind, Question.scale_min, Question.scale_max)
            .join(SurveyVersion, SurveyVersion.survey_id == Survey.id)
            .join(Question, Question.version_id == SurveyVersion.id).order_by(SurveyVersion.number)):
        questions.setdefault(key, {})[question] = (kind, low, high)  # the newest version's scale wins
    attributes = set(db_session.scalars(select(AttributeDefinition.name)))
    attributes |= set(db_session.scalars(select(AttributeSetValue.name).distinct()))
    departments = dict(db_session.execute(select(Department.name, Department.id)).all())
    themes = set(codebook_keys(db_session.connection()))
    return Workspace(surveys, declared, questions, attributes, departments, themes)


def check_rules(rules: RulesFile, workspace: Workspace) -> list[tuple[str, str]]:
    """The file against the workspace: every survey, question, attribute, department and theme it names exists."""
    problems: list[tuple[str, str]] = []
    missing_departments: set[str] = set()

    def department(path: str, name: str | None) -> None:
        if name is not None and name not in workspace.departments:
            missing_departments.add(name)
            problems.append((path, f"there is no department called {name!r}; create it on the Departments page "
                                   f"(or correct the name: the departments are {listed(workspace.departments)})"))

    def theme(path: str, key: str | None) -> None:
        if key is not None and key not in workspace.themes:
            problems.append((path, f"{key!r} is not a theme of the codebook; use one of its keys, e.g. "
                                   f"{', '.join(sorted(workspace.themes)[:5])}"))

    for index, rule in enumerate(rules.rules):
        path = f"rules[{index}]"
        if rule.survey is not None and rule.survey not in workspace.surveys:
            problems.append((f"{path}.survey", f"there is no survey with key {rule.survey!r}; apply the survey "
                                               f"first (`voxpop survey list` shows the keys)"))
            continue
        known = (workspace.questions.get(rule.survey, {}) if rule.survey
                 else {key: spec for survey in workspace.questions.values() for key, spec in survey.items()})
        where = f"survey {rule.survey!r}" if rule.survey else "any survey"
        for number, text in enumerate(rule.when.answer):
            [(question, (test, *_))] = parse_response_filter(today=date.today(), answer=[text]).answers
            problem = _answer_problem(question, test, known.get(question), where)
            if problem:
                problems.append((f"{path}.when.answer[{number}]", f"{text!r}: {problem}"))
        declared = workspace.declared.get(rule.survey, set()) if rule.survey else set()
        for number, text in enumerate(rule.when.attribute):
            name, _ = parse_attribute(text)
            if declared and name not in declared:
                problems.append((f"{path}.when.attribute[{number}]", f"survey {rule.survey!r} does not declare the "
                                 f"attribute {name!r}; its attributes are {', '.join(sorted(declared))}"))
            elif not declared and name not in workspace.attributes:
                problems.append((f"{path}.when.attribute[{number}]", f"no response has the attribute {name!r}; "
                                 f"the workspace's attributes are {listed(workspace.attributes)}"))
        theme(f"{path}.when.theme", rule.when.theme)
        department(f"{path}.department", rule.department)
        if rule.consent_question is not None and rule.consent_question not in known:
            problems.append((f"{path}.consent_question", f"{where} has no question {rule.consent_question!r}"))
    for index, route in enumerate(rules.routes or []):
        if route.attribute not in workspace.attributes:
            problems.append((f"routes[{index}].attribute", f"no response has the attribute {route.attribute!r}; "
                             f"the workspace's attributes are {listed(workspace.attributes)}"))
        department(f"routes[{index}].department", route.department)
    for index, cause in enumerate(rules.root_causes or []):
        theme(f"root_causes[{index}].theme", cause.theme)
    if rules.policy is not None:
        department("policy.default_department", rules.policy.default_department)
        if rules.policy.followup is not None and rules.policy.followup.survey not in workspace.surveys:
            problems.append(("policy.followup.survey", f"there is no survey with key "
                                                       f"{rules.policy.followup.survey!r}; apply the survey first"))
    return problems


def _answer_problem(question: str, test, spec: tuple[str, int | None, int | None] | None, where: str) -> str | None:
    """Why an answer test cannot match on this question, if it cannot: the question is missing, or a score test
    leaves its scale."""
    if spec is None:
        return f"{where} has no question {question!r}"
    kind, low, high = spec
    if kind == "nps":
        low, high = (low if low is not None else 0), (high if high is not None else 10)
    elif kind == "csat":
        low, high = (low if low is not None else 1), (high if high is not None else 5)
    if test is None or test.low is None or low is None or high is None or test.choices:
        return None
    if test.low < low or test.high > high:
        scale = "the NPS scale" if kind == "nps" else f"the {kind.upper() if kind in ('csat', 'ces') else kind} scale"
        return f"leaves the question's scale; {scale} is {low}-{high}"
    return None


@dataclass
class Change:
    """One line of what applying the file does (or would do)."""

    part: str  # rule, route, root cause, policy
    key: str
    action: str  # create, update, unchanged, deactivate, replace
    details: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        words = {"create": "new", "update": "changed", "unchanged": "unchanged", "deactivate": "no longer in the "
                 "file: kept for closed cases, no longer offered", "replace": "replaced"}[self.action]
        return f"{self.part} {self.key}".rstrip() + f": {words}" + (f" ({'; '.join(self.details)})" if self.details else "")


@dataclass
class ApplyReport:
    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> list[Change]:
        return [change for change in self.changes if change.action != "unchanged"]

    def lines(self) -> list[str]:
        return [change.sentence() for change in self.changes]


def apply_rules(*, db_session: Session, rules: RulesFile, actor: User | None = None, dry_run: bool = False,
                now: datetime | None = None, source: str = "rules file", client: str = "") -> ApplyReport:
    """Check the file against the workspace and apply it: rules upserted by key, routes replaced, root causes
    upserted (missing ones made inactive, never deleted), the policy updated. With `dry_run`, only say what
    would change. Raises RulesError naming each problem's place in the file."""
    workspace = read_workspace(db_session=db_session)
    problems = check_rules(rules, workspace)
    if problems:
        raise RulesError(source, problems)
    now = now or utcnow()
    report = ApplyReport(dry_run=dry_run)
    if rules.policy is not None:
        report.changes.append(_apply_policy(db_session, rules.policy, workspace, dry_run))
    if rules.routes is not None:
        report.changes.append(_apply_routes(db_session, rules.routes, workspace, dry_run))
    if rules.root_causes is not None:
        report.changes += _apply_root_causes(db_session, rules.root_causes, dry_run)
    for rule in rules.rules:
        report.changes.append(_apply_rule(db_session, rule, workspace, dry_run, now))
    if not dry_run:
        db_session.flush()
        if actor is not None or report.changed:
            audit(db_session=db_session, actor=actor, action="case_rules.apply", target=source, client=client,
                  changes=[change.sentence() for change in report.changed])
    return report


def _apply_rule(db_session: Session, rule: RuleFile, workspace: Workspace, dry_run: bool, now: datetime) -> Change:
    stored = db_session.scalar(select(CaseRule).where(CaseRule.key == rule.key))
    wanted = {"name": rule.name, "survey_id": workspace.surveys.get(rule.survey) if rule.survey else None,
              "conditions": rule.conditions(), "priority": rule.priority,
              "department_id": workspace.departments.get(rule.department) if rule.department else None,
              "paused": rule.paused, "holdout_share": rule.holdout, "consent_question": rule.consent_question}
    if stored is None:
        if not dry_run:
            db_session.add(CaseRule(key=rule.key, active_from=now, created_at=now, updated_at=now, **wanted))
        return Change("rule", rule.key, "create", ["matches responses from now on"])
    differs = [name for name, value in wanted.items() if getattr(stored, name) != value]
    if not differs:
        return Change("rule", rule.key, "unchanged")
    # New conditions (or a resumed rule) start from now: what came before is history, reached only by a backfill.
    restart = bool({"conditions", "survey_id"} & set(differs)) or (stored.paused and not rule.paused)
    details = [name.replace("_id", "").replace("_share", "").replace("_", " ") for name in differs]
    if restart:
        details.append("matches responses from now on")
    if not dry_run:
        for name in differs:
            setattr(stored, name, wanted[name])
        stored.updated_at = now
        if restart:
            stored.active_from = now
    return Change("rule", rule.key, "update", details)


def _apply_routes(db_session: Session, routes: list[RouteFile], workspace: Workspace, dry_run: bool) -> Change:
    wanted = [(route.attribute, route.value, workspace.departments[route.department]) for route in routes]
    stored = db_session.scalars(select(CaseRoute).order_by(CaseRoute.position, CaseRoute.id)).all()
    if [(route.attribute, route.value, route.department_id) for route in stored] == wanted:
        return Change("routes", f"({len(wanted)})", "unchanged")
    if not dry_run:
        for route in stored:
            db_session.delete(route)
        db_session.flush()
        db_session.add_all(CaseRoute(position=position, attribute=attribute, value=value, department_id=department)
                           for position, (attribute, value, department) in enumerate(wanted))
    return Change("routes", f"({len(wanted)})", "replace", [f"{attribute}={value} → {route.department}" for
                                                            (attribute, value, _), route in zip(wanted, routes)])


def _apply_root_causes(db_session: Session, causes: list[RootCauseFile], dry_run: bool) -> list[Change]:
    stored = {cause.key: cause for cause in db_session.scalars(select(RootCause))}
    changes = []
    for cause in causes:
        wanted = {"name": cause.name, "theme": cause.theme, "active": True}
        existing = stored.pop(cause.key, None)
        if existing is None:
            if not dry_run:
                db_session.add(RootCause(key=cause.key, **wanted))
            changes.append(Change("root cause", cause.key, "create"))
            continue
        differs = [name for name, value in wanted.items() if getattr(existing, name) != value]
        if not dry_run:
            for name in differs:
                setattr(existing, name, wanted[name])
        changes.append(Change("root cause", cause.key, "update" if differs else "unchanged",
                              ["made active again" if name == "active" else name for name in differs]))
    # Closed cases point to a cause that leaves the list: it is kept, only no longer offered.
    for key, left in stored.items():
        if left.active:
            if not dry_run:
                left.active = False
            changes.append(Change("root cause", key, "deactivate"))
    return changes


def _apply_policy(db_session: Session, policy: PolicyFile, workspace: Workspace, dry_run: bool) -> Change:
    stored = get_policy(db_session=db_session)
    wanted: dict = {}
    given = policy.model_fields_set
    for name in ("first_contact_hours", "resolve_hours"):
        if name in given and getattr(policy, name) is not None:
            hours = dict(getattr(stored, name) or {})
            hours.update({priority: value for priority, value in getattr(policy, name).model_dump().items()
                          if value is not None})
            wanted[name] = hours
    if policy.workday is not None:
        wanted["workday_start"], wanted["workday_end"] = _workday(policy.workday)
    if policy.workdays is not None:
        wanted["workdays"] = sorted(WEEKDAYS.index(day) + 1 for day in policy.workdays)
    if policy.warn_before_hours is not None:
        wanted["warn_before_hours"] = policy.warn_before_hours
    if policy.assignment is not None:
        wanted["assignment"] = policy.assignment
    if policy.default_department is not None:
        wanted["default_department_id"] = workspace.departments[policy.default_department]
    if policy.followup is not None:
        wanted["followup_survey_id"] = workspace.surveys[policy.followup.survey]
        wanted["followup_days"] = policy.followup.days
    differs = [name for name, value in wanted.items() if getattr(stored, name) != value]
    if not dry_run:
        for name in differs:
            setattr(stored, name, wanted[name])
    return Change("policy", "", "update" if differs else "unchanged",
                  [name.replace("_id", "").replace("_", " ") for name in differs])


def describe_conditions(conditions: dict) -> list[str]:
    """A rule's conditions in words, as the rules page and `voxpop cases rules list` say them."""
    response_filter = parse_response_filter(today=date.today(), answer=conditions.get("answer", []),
                                            attribute=conditions.get("attribute", []))
    parts = response_filter.describe()
    if conditions.get("theme") and conditions.get("sentiment"):
        parts.append(f"the comment is about {conditions['theme']}, with {conditions['sentiment']} sentiment")
    elif conditions.get("theme"):
        parts.append(f"the comment is about {conditions['theme']}")
    elif conditions.get("sentiment"):
        parts.append(f"the comment's sentiment is {conditions['sentiment']}")
    return parts



def rule_public(rule: CaseRule, *, surveys: dict[int, str], departments: dict[int, str], opened: int) -> RulePublic:
    return RulePublic(key=rule.key, name=rule.name, survey=surveys.get(rule.survey_id), conditions=rule.conditions or {},
                      conditions_in_words=describe_conditions(rule.conditions or {}), priority=rule.priority,
                      department=departments.get(rule.department_id), paused=rule.paused,
                      holdout=rule.holdout_share or 0.0, consent_question=rule.consent_question,
                      active_from=rule.active_from, cases_last_30_days=opened)


def overview(*, db_session: Session, now: datetime) -> RulesPublic:
    """Every rule with the cases it opened in the last 30 days, the routes, the root causes and the policy."""
    surveys = dict(db_session.execute(select(Survey.id, Survey.key)).all())
    departments = dict(db_session.execute(select(Department.id, Department.name)).all())
    opened = matching.opened_since(db_session, since=now - timedelta(days=30))
    rules = [rule_public(rule, surveys=surveys, departments=departments, opened=opened.get(rule.id, 0))
             for rule in db_session.scalars(select(CaseRule).order_by(CaseRule.key))]
    routes = [RoutePublic(attribute=route.attribute, value=route.value, department=departments.get(route.department_id, ""))
              for route in db_session.scalars(select(CaseRoute).order_by(CaseRoute.position, CaseRoute.id))]
    causes = [RulesRootCausePublic(key=cause.key, name=cause.name, theme=cause.theme, active=cause.active)
              for cause in db_session.scalars(select(RootCause).order_by(RootCause.active.desc(), RootCause.key))]
    policy = policy_or_defaults(db_session=db_session)
    return RulesPublic(rules=rules, routes=routes, root_causes=causes, policy=PolicyPublic(
        first_contact_hours=policy.first_contact_hours or DEFAULT_FIRST_CONTACT_HOURS,
        resolve_hours=policy.resolve_hours or DEFAULT_RESOLVE_HOURS,
        workday=f"{policy.workday_start}-{policy.workday_end}",
        workdays=[WEEKDAYS[day - 1] for day in policy.workdays or (1, 2, 3, 4, 5)],
        warn_before_hours=policy.warn_before_hours, assignment=policy.assignment,
        default_department=departments.get(policy.default_department_id),
        followup_survey=surveys.get(policy.followup_survey_id), followup_days=policy.followup_days))


def find_rule(*, db_session: Session, key: str) -> CaseRule:
    """The rule with this key; RuleNotFound when there is none."""
    rule = db_session.scalar(select(CaseRule).where(CaseRule.key == key))
    if rule is None:
        raise RuleNotFound(f"there is no rule with key {key!r}; the rules page (or `voxpop cases rules list`) "
                           f"shows the keys")
    return rule


class RuleNotFound(LookupError):
    """No rule has the key asked for."""


def set_paused(*, db_session: Session, key: str, paused: bool, actor: User | None, now: datetime | None = None,
               client: str = "") -> CaseRule:
    """Pause or resume a rule, audited. A resumed rule starts from now: what was answered while it was paused is
    history, reached only by a backfill."""
    rule = find_rule(db_session=db_session, key=key)
    now = now or utcnow()
    if rule.paused != paused:
        rule.paused, rule.updated_at = paused, now
        if not paused:
            rule.active_from = now
        audit(db_session=db_session, actor=actor, action="case_rules.pause" if paused else "case_rules.resume",
              target=key, client=client)
    return rule


PREVIEW_WEEKS = 26  # the preview's default window: half a year of history, up to today


def preview_window(*, since: str, until: str, today: date) -> tuple[date, date]:
    """The preview's days: those given, else the last PREVIEW_WEEKS weeks up to today; raises DaysError."""
    first, last, _ = days(today=today, since=since, until=until)
    last = last or today
    return first or last - timedelta(weeks=PREVIEW_WEEKS) + timedelta(days=1), last


def preview_public(shown: matching.Preview) -> PreviewPublic:
    return PreviewPublic(
        since=shown.since, until=shown.until, matching=shown.matching, cases=shown.cases, held_out=shown.held_out,
        per_week=round(shown.per_week, 1), last_month=shown.last_month[0] if shown.last_month else None,
        last_month_cases=shown.last_month[1] if shown.last_month else None, open_days=matching.OPEN_DAYS,
        weeks=[WeekPublic(week=week, cases=count) for week, count in shown.weeks],
        months=[MonthPublic(month=month, cases=count) for month, count in shown.months], sentence=shown.sentence())


def rule_detail(db: Database, *, key: str, since: str, until: str, zone: str) -> RuleDetailPublic:
    """The rule and its preview; RuleNotFound or DaysError."""
    first, last = preview_window(since=since, until=until, today=datetime.now(ZoneInfo(zone)).date())
    with db.read() as db_session:
        rule = find_rule(db_session=db_session, key=key)
        listed = {listed.key: listed for listed in overview(db_session=db_session, now=utcnow()).rules}
        shown = matching.preview(db_session, rule=rule, since=first, until=last, zone=zone)
    return RuleDetailPublic(rule=listed[key], preview=preview_public(shown))
