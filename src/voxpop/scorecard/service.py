"""Applying a scorecard document: checked against the workspace, upserted by key in one transaction, kept as a new
version only when something changed, and audited; and reading a version back as a document.

Keys are what stay: a measure keeps its id (and so its values, commentary and reviews) as long as its key stays in
the document. What leaves the document is deleted, with what hangs on it, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voxpop.accounts.models import Department, User
from voxpop.accounts.service import audit
from voxpop.cases.models import Initiative
from voxpop.core.wording import counted, listed
from voxpop.scorecard.definition import DefinitionError, ScorecardFile, read_definition
from voxpop.scorecard.models import (
    Commentary,
    Link,
    Measure,
    MeasureTarget,
    MeasureValue,
    Objective,
    ObjectiveInitiative,
    Perspective,
    Scorecard,
    ScorecardVersion,
)
from voxpop.scorecard.sources import SourceError, check_source
from voxpop.store.base import utcnow

TARGET_FIELDS = ("target", "baseline", "minimum", "maximum", "goal", "red_flag", "low", "high", "rules")


@dataclass
class Change:
    """One line of what applying the document does (or would do)."""

    part: str  # scorecard, perspective, objective, measure, link
    key: str
    action: str  # create, update, delete
    details: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        words = {"create": "new", "update": "changed", "delete": "removed"}[self.action]
        return f"{self.part} {self.key}: {words}" + (f" ({'; '.join(self.details)})" if self.details else "")


@dataclass
class ApplyReport:
    key: str
    version: int  # the version the document is (or would be); the current one when nothing changed
    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def lines(self) -> list[str]:
        if not self.changes:
            return [f"scorecard {self.key}: unchanged (version {self.version})"]
        verb = "would become" if self.dry_run else "is now"
        return [change.sentence() for change in self.changes] + [f"scorecard {self.key} {verb} version {self.version}"]


class ScorecardNotFound(LookupError):
    """No scorecard, or no such version of it; the message says which exist."""


def get_scorecard(*, db_session: Session, key: str) -> Scorecard | None:
    """The scorecard with this key, if there is one."""
    return db_session.scalar(select(Scorecard).where(Scorecard.key == key))


def export_definition(*, db_session: Session, scorecard: Scorecard, version: int | None = None) -> dict:
    """The document of a version (default: the current one), as it was applied and normalised."""
    number = scorecard.version if version is None else version
    stored = db_session.get(ScorecardVersion, (scorecard.id, number))
    if stored is None:
        raise ScorecardNotFound(f"scorecard {scorecard.key!r} has versions 1 to {scorecard.version}; there is no "
                                f"version {number}")
    return stored.document


@dataclass
class Workspace:
    """What the document names outside itself, resolved: users by e-mail, the department, the parent."""

    users: dict[str, int]
    department_id: int | None
    parent: Scorecard | None
    parent_objectives: dict[str, int]


def check_workspace(db_session: Session, scorecard: ScorecardFile) -> tuple[Workspace, list[tuple[str, str]]]:
    """The document against the workspace: owners are staff, the department, parent and initiatives exist, the
    parent has each rolls_up_to objective, no cycle of scorecards, each source reads something that exists."""
    problems: list[tuple[str, str]] = []
    users = dict(db_session.execute(select(func.lower(User.email), User.id).where(User.is_active)).all())
    owners = [("owner", scorecard.owner)]
    owners += [(f"objectives[{index}].owner", item.owner) for index, item in enumerate(scorecard.objectives)]
    owners += [(f"measures[{index}].owner", item.owner) for index, item in enumerate(scorecard.measures)]
    for path, email in owners:
        if email is not None and email not in users:
            problems.append((path, f"no active staff user has the e-mail {email!r}; invite them on the Users page "
                                   f"or name someone who has an account"))
    department_id = None
    if scorecard.department is not None:
        departments = dict(db_session.execute(select(Department.name, Department.id)).all())
        department_id = departments.get(scorecard.department)
        if department_id is None:
            problems.append(("department", f"there is no department called {scorecard.department!r}; create it on "
                                           f"the Departments page (the departments are {listed(departments)})"))
    parent, parent_objectives = None, {}
    if scorecard.parent is not None:
        parent = get_scorecard(db_session=db_session, key=scorecard.parent)
        if parent is None:
            problems.append(("parent", f"there is no scorecard {scorecard.parent!r}; apply the parent's file first"))
        elif _ancestors(db_session, parent) & {scorecard.key}:
            problems.append(("parent", f"{scorecard.parent!r} already cascades from {scorecard.key!r}: scorecards "
                                       f"would form a cycle; name a scorecard above this one"))
        else:
            parent_objectives = dict(db_session.execute(select(Objective.key, Objective.id)
                                                        .where(Objective.scorecard_id == parent.id)).all())
    for index, objective in enumerate(scorecard.objectives):
        if parent is not None and objective.rolls_up_to is not None and objective.rolls_up_to not in parent_objectives:
            problems.append((f"objectives[{index}].rolls_up_to", f"the parent scorecard {parent.key!r} has no "
                                                                 f"objective {objective.rolls_up_to!r}; use one of "
                                                                 f"{listed(parent_objectives)}"))
        if objective.initiatives:
            found = set(db_session.scalars(select(Initiative.id).where(Initiative.id.in_(objective.initiatives))))
            for number, initiative in enumerate(objective.initiatives):
                if initiative not in found:
                    problems.append((f"objectives[{index}].initiatives[{number}]", f"there is no initiative "
                                                                                   f"{initiative}; give the id of "
                                                                                   f"one on the Initiatives page"))
    problems += _source_problems(db_session, scorecard)
    return Workspace(users, department_id, parent, parent_objectives), problems


def _ancestors(db_session: Session, scorecard: Scorecard) -> set[str]:
    """The keys of a scorecard and every scorecard above it (a cycle already stored ends the walk)."""
    keys: set[str] = set()
    current: Scorecard | None = scorecard
    while current is not None and current.key not in keys:
        keys.add(current.key)
        current = db_session.get(Scorecard, current.parent_id) if current.parent_id else None
    return keys


def _source_problems(db_session: Session, scorecard: ScorecardFile) -> list[tuple[str, str]]:
    keys = {measure.key for measure in scorecard.measures}
    problems = []
    for index, measure in enumerate(scorecard.measures):
        try:
            check_source(db_session, source=measure.source, measure_keys=keys)
        except SourceError as exc:
            problems.append((f"measures[{index}].{exc.field}", str(exc)))
    return problems


def apply_definition(*, db_session: Session, document: dict, actor: User | None, source: str,
                     dry_run: bool = False, now: datetime | None = None) -> ApplyReport:
    """Check the document and apply it in the caller's transaction: rows upserted by key, what left the document
    deleted, a new version only when something changed, audited. With `dry_run`, only say what would change."""
    scorecard = read_definition(document, source=source)
    workspace, problems = check_workspace(db_session, scorecard)
    if problems:
        raise DefinitionError(source, problems)
    normalised = scorecard.model_dump(mode="json", by_alias=True, exclude_none=True)
    stored = get_scorecard(db_session=db_session, key=scorecard.key)
    if stored is not None and export_definition(db_session=db_session, scorecard=stored) == normalised:
        return ApplyReport(scorecard.key, stored.version, dry_run=dry_run)
    version = stored.version + 1 if stored is not None else 1
    report = ApplyReport(scorecard.key, version, dry_run=dry_run)
    # A dry run applies for real inside a savepoint, to say exactly what would change, then rolls it back.
    savepoint = db_session.begin_nested() if dry_run else None
    now = now or utcnow()
    card = _apply_scorecard(db_session, scorecard, workspace, stored, report, now)
    perspectives = _apply_perspectives(db_session, scorecard, card, report)
    objectives = _apply_objectives(db_session, scorecard, card, perspectives, workspace, report)
    measures = _apply_measures(db_session, scorecard, card, objectives, workspace, report)
    _apply_links(db_session, scorecard, card, objectives, measures, report)
    _delete_left(db_session, card, perspectives, objectives, report)
    if not report.changes:  # a document stored by an earlier voxpop, normalised differently: same rows, new form
        report.changes.append(Change("scorecard", scorecard.key, "update", ["the document's form only"]))
    card.version = version
    db_session.add(ScorecardVersion(scorecard_id=card.id, version=version, document=normalised, source=source[-300:],
                                    actor_id=actor.id if actor else None, applied_at=now))
    db_session.flush()
    if savepoint is not None:
        savepoint.rollback()
        return report
    audit(db_session=db_session, actor=actor, action="scorecard.apply", target=scorecard.key, source=source,
          version=version, changes=[change.sentence() for change in report.changes],
          **({} if actor else {"via": "cli"}))  # no person: `voxpop scorecard apply`, as entries.py says it
    return report


def _differs(row, wanted: dict) -> list[str]:
    return [name.removesuffix("_id").replace("_", " ") for name, value in wanted.items() if getattr(row, name) != value]


def _upsert(db_session: Session, model, row, wanted: dict, said: tuple[str, str], report: ApplyReport,
            identity: dict):
    """Create the row (`identity` and `wanted`), or update the fields that differ; say which in the report."""
    part, key = said
    if row is None:
        row = model(**identity, **wanted)
        db_session.add(row)
        db_session.flush()
        report.changes.append(Change(part, key, "create"))
        return row
    differs = _differs(row, wanted)
    if differs:
        for name, value in wanted.items():
            setattr(row, name, value)
        report.changes.append(Change(part, key, "update", differs))
    return row


def _changed(report: ApplyReport, part: str, key: str, detail: str) -> None:
    """Add what else changed to the item's line, or give it one."""
    for change in report.changes:
        if (change.part, change.key, change.action) == (part, key, "update"):
            change.details.append(detail)
            return
    report.changes.append(Change(part, key, "update", [detail]))


def _apply_scorecard(db_session: Session, scorecard: ScorecardFile, workspace: Workspace, stored: Scorecard | None,
                     report: ApplyReport, now: datetime) -> Scorecard:
    wanted = {"name": scorecard.name, "description": scorecard.description,
              "parent_id": workspace.parent.id if workspace.parent else None, "department_id": workspace.department_id,
              "owner_id": workspace.users.get(scorecard.owner) if scorecard.owner else None}
    card = _upsert(db_session, Scorecard, stored, wanted, ("scorecard", scorecard.key), report,
                   {"key": scorecard.key, "version": 0, "created_at": now})
    card.updated_at = now
    return card


def _children(db_session: Session, model, card: Scorecard) -> dict[str, object]:
    return {row.key: row for row in db_session.scalars(select(model).where(model.scorecard_id == card.id))}


def _apply_perspectives(db_session, scorecard, card, report) -> dict[str, Perspective]:
    stored = _children(db_session, Perspective, card)
    kept = {}
    for position, item in enumerate(scorecard.perspectives):
        kept[item.key] = _upsert(db_session, Perspective, stored.get(item.key), {"name": item.name,
                                 "position": position}, ("perspective", item.key), report,
                                 {"scorecard_id": card.id, "key": item.key})
    return kept


def _apply_objectives(db_session, scorecard, card, perspectives, workspace, report) -> dict[str, Objective]:
    stored = _children(db_session, Objective, card)
    kept = {}
    for position, item in enumerate(scorecard.objectives):
        wanted = {"name": item.name, "description": item.description,
                  "perspective_id": perspectives[item.perspective].id,
                  "owner_id": workspace.users.get(item.owner) if item.owner else None, "weight": item.weight,
                  "position": position,
                  "rolls_up_to_id": workspace.parent_objectives.get(item.rolls_up_to) if item.rolls_up_to else None}
        row = _upsert(db_session, Objective, stored.get(item.key), wanted, ("objective", item.key), report,
                      {"scorecard_id": card.id, "key": item.key})
        kept[item.key] = row
        linked = set(db_session.scalars(select(ObjectiveInitiative.initiative_id)
                                        .where(ObjectiveInitiative.objective_id == row.id)))
        if linked != set(item.initiatives):
            for gone in linked - set(item.initiatives):
                db_session.delete(db_session.get(ObjectiveInitiative, (row.id, gone)))
            db_session.add_all(ObjectiveInitiative(objective_id=row.id, initiative_id=new)
                               for new in set(item.initiatives) - linked)
            if item.key in stored:
                _changed(report, "objective", item.key, "initiatives")
    return kept


def _apply_measures(db_session, scorecard, card, objectives, workspace, report) -> dict[str, Measure]:
    stored = _children(db_session, Measure, card)
    kept = {}
    for position, item in enumerate(scorecard.measures):
        wanted = {"name": item.name, "description": item.description, "objective_id": objectives[item.objective].id,
                  "owner_id": workspace.users.get(item.owner) if item.owner else None, "unit": item.unit,
                  "direction": item.direction, "period": item.period, "weight": item.weight, "scoring": item.scoring,
                  "source": item.source, "position": position}
        unread = _unread(db_session, stored[item.key]) if item.key in stored and stored[item.key].period != \
            item.period else None
        row = _upsert(db_session, Measure, stored.get(item.key), wanted, ("measure", item.key), report,
                      {"scorecard_id": card.id, "key": item.key})
        if unread:
            _changed(report, "measure", item.key, unread)
        kept[item.key] = row
        if _apply_targets(db_session, row, item.targets) and item.key in stored:
            _changed(report, "measure", item.key, "targets")
    for key, row in stored.items():
        if key not in kept:
            report.changes.append(Change("measure", key, "delete", _goes_with(db_session, row)))
            db_session.delete(row)
    return kept


def _apply_targets(db_session: Session, measure: Measure, targets) -> bool:
    """Replace the measure's targets when they differ; True when they did."""
    rows = db_session.scalars(select(MeasureTarget).where(MeasureTarget.measure_id == measure.id)
                              .order_by(MeasureTarget.from_period)).all()
    wanted = sorted(({"from_period": target.from_period,
                      **{name: getattr(target, name) for name in TARGET_FIELDS if name != "rules"},
                      "rules": [rule.model_dump(mode="json") for rule in target.rules]} for target in targets),
                    key=lambda target: target["from_period"])
    if [{name: getattr(row, name) for name in ("from_period", *TARGET_FIELDS)} for row in rows] == wanted:
        return False
    for row in rows:
        db_session.delete(row)
    db_session.flush()
    db_session.add_all(MeasureTarget(measure_id=measure.id, **target) for target in wanted)
    return True


def _unread(db_session: Session, measure: Measure) -> str | None:
    """What a change of period leaves unread: values are kept by their period labels, now of the other kind. They
    are kept, so changing the period back reads them again."""
    values = db_session.scalar(select(func.count()).where(MeasureValue.measure_id == measure.id))
    kind = "months" if measure.period == "month" else "quarters"
    return (f"its {counted(values, 'entered value')} of {kind} no longer read; change the period back to read "
            f"them") if values else None


def _goes_with(db_session: Session, measure: Measure) -> list[str]:
    """What is deleted with a measure, in words."""
    values = db_session.scalar(select(func.count()).where(MeasureValue.measure_id == measure.id))
    notes = db_session.scalar(select(func.count()).where(Commentary.measure_id == measure.id))
    return [f"its {counted(count, word, plural)} deleted with it"
            for count, word, plural in ((values, "entered value", None), (notes, "commentary", "commentaries"))
            if count]


def _rolled_up(db_session: Session, row) -> list[str]:
    """The department objectives that rolled up into a removed objective, in words: they no longer do."""
    if not isinstance(row, Objective):
        return []
    children = db_session.execute(select(Scorecard.key, Objective.key).join(Scorecard, Scorecard.id ==
                                                                          Objective.scorecard_id)
                                  .where(Objective.rolls_up_to_id == row.id).order_by(Scorecard.key, Objective.key))
    return [f"{card}'s objective {key} no longer rolls up into it" for card, key in children]


def _delete_left(db_session, card, perspectives, objectives, report) -> None:
    """Objectives, then perspectives, that left the document; their measures went in _apply_measures."""
    for model, kept, part in ((Objective, objectives, "objective"), (Perspective, perspectives, "perspective")):
        for key, row in _children(db_session, model, card).items():
            if key not in kept:
                report.changes.append(Change(part, key, "delete", _rolled_up(db_session, row)))
                db_session.delete(row)
        db_session.flush()


def _apply_links(db_session, scorecard, card, objectives, measures, report) -> None:
    stored = {(row.cause_id, row.effect_id): row
              for row in db_session.scalars(select(Link).where(Link.scorecard_id == card.id))}
    for item in scorecard.links:
        cause, effect = objectives[item.cause], objectives[item.effect]
        wanted = {"cause_measure_id": measures[item.cause_measure].id if item.cause_measure else None,
                  "effect_measure_id": measures[item.effect_measure].id if item.effect_measure else None,
                  "polarity": 1 if item.polarity == "+" else -1, "lag": item.lag, "strength": item.strength,
                  "unit_attribute": item.units}
        _upsert(db_session, Link, stored.pop((cause.id, effect.id), None), wanted,
                ("link", f"{item.cause} → {item.effect}"), report,
                {"scorecard_id": card.id, "cause_id": cause.id, "effect_id": effect.id})
    names = {row.id: key for key, row in _children(db_session, Objective, card).items()}
    for (cause_id, effect_id), row in stored.items():
        report.changes.append(Change("link", f"{names[cause_id]} → {names[effect_id]}", "delete"))
        db_session.delete(row)
