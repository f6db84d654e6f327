"""Applying a scorecard document against the workspace: versions, keys kept, deletions said, and every problem
with the workspace named by its field path."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.helpers import make_user
from tests.scorecard.test_definition import SCORECARD
from voxpop.accounts.models import AuditEntry, Department, User
from voxpop.cases.models import Initiative
from voxpop.scorecard.definition import DefinitionError, load_definition
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
from voxpop.scorecard.service import ScorecardNotFound, apply_definition, export_definition, get_scorecard

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def workspace(db):
    make_user(db, "admin", "boss@example.com")
    make_user(db, "manager", "ops@example.com")
    with db.write() as db_session:
        db_session.add(Department(name="Care"))
    return db


def document(text: str = SCORECARD) -> dict:
    return load_definition(text, source="card.yaml")


def apply(db, given: dict, *, dry_run: bool = False, actor: str | None = "boss@example.com"):
    with db.write() as db_session:
        user = db_session.scalar(select(User).where(User.email == actor)) if actor else None
        return apply_definition(db_session=db_session, document=given, actor=user, source="card.yaml",
                                dry_run=dry_run, now=NOW)


def problems(db, given: dict) -> dict[str, str]:
    with pytest.raises(DefinitionError) as raised, db.write() as db_session:
        apply_definition(db_session=db_session, document=given, actor=None, source="card.yaml")
    return dict(raised.value.problems)


def count(db_session, model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))


def test_apply_creates_the_rows_and_version_1(workspace):
    report = apply(workspace, document())
    assert report.version == 1
    assert "measure nps: new" in report.lines() and report.lines()[-1] == "scorecard org is now version 1"
    with workspace.read() as db_session:
        card = get_scorecard(db_session=db_session, key="org")
        assert (card.name, card.version) == ("Northwind", 1)
        assert card.owner_id == db_session.scalar(select(User.id).where(User.email == "boss@example.com"))
        assert [p.key for p in db_session.scalars(select(Perspective).order_by(Perspective.position))] == [
            "financial", "customer", "internal", "learning"]
        loyal = db_session.scalar(select(Objective).where(Objective.key == "loyal"))
        assert loyal.weight == 2.0
        handled = db_session.scalar(select(Measure).where(Measure.key == "handled"))
        assert (handled.period, handled.scoring) == ("quarter", "goal_red_flag")
        targets = db_session.scalars(select(MeasureTarget).join(Measure).where(Measure.key == "nps")
                                     .order_by(MeasureTarget.from_period)).all()
        assert [(t.from_period, t.target, t.minimum, t.maximum) for t in targets] == [
            ("2026-01", 40, 0, 60), ("2026-07", 45, 0, 60)]
        rules = db_session.scalar(select(MeasureTarget.rules).join(Measure).where(Measure.key == "revenue"))
        assert rules[2] == {"when": "otherwise", "status": "below plan", "colour": "red"}
        link = db_session.scalar(select(Link))
        assert (link.polarity, link.lag, link.strength, link.cause_measure_id) == (1, 1, "strong", handled.id)
        assert export_definition(db_session=db_session, scorecard=card) == document()
        entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "scorecard.apply"))
        assert entry.target == "org" and entry.details["version"] == 1 and entry.details["source"] == "card.yaml"


def test_reapplying_the_same_document_makes_no_version(workspace):
    apply(workspace, document())
    report = apply(workspace, document())
    assert report.lines() == ["scorecard org: unchanged (version 1)"] and not report.changed
    with workspace.read() as db_session:
        assert count(db_session, ScorecardVersion) == 1
        assert count(db_session, AuditEntry) == 1


def test_a_dry_run_says_what_would_change_and_changes_nothing(workspace):
    report = apply(workspace, document(), dry_run=True)
    assert "measure nps: new" in report.lines() and report.lines()[-1] == "scorecard org would become version 1"
    with workspace.read() as db_session:
        assert count(db_session, Scorecard) == count(db_session, Measure) == count(db_session, AuditEntry) == 0
    apply(workspace, document())
    changed = copy.deepcopy(document())
    changed["name"] = "Northwind Traders"
    assert apply(workspace, changed, dry_run=True).lines() == ["scorecard org: changed (name)",
                                                               "scorecard org would become version 2"]
    with workspace.read() as db_session:
        assert get_scorecard(db_session=db_session, key="org").name == "Northwind"
        assert count(db_session, ScorecardVersion) == 1


def test_a_change_makes_a_new_version_and_keeps_keys_values_and_commentary(workspace):
    apply(workspace, document())
    with workspace.write() as db_session:
        nps = db_session.scalar(select(Measure).where(Measure.key == "nps"))
        nps_id = nps.id
        db_session.add(MeasureValue(measure_id=nps.id, period="2026-10", value=42, comment="typed in"))
        db_session.add(Commentary(measure_id=nps.id, period="2026-10", analysis="steady"))
        revenue = db_session.scalar(select(Measure).where(Measure.key == "revenue"))
        db_session.add(MeasureValue(measure_id=revenue.id, period="2026-10", value=120))
        db_session.add(Initiative(title="Faster replies"))
    changed = copy.deepcopy(document())
    changed["measures"][0]["name"] = "Net Promoter Score"
    changed["measures"][0]["targets"][1]["target"] = 50
    changed["measures"][0]["objective"] = "fast"
    changed["measures"] = changed["measures"][:2]  # revenue leaves the file
    changed["links"][0]["effect_measure"] = None
    changed["links"][0]["effect"] = "loyal"
    changed["perspectives"][0]["name"] = "Money"
    changed["objectives"].append({"key": "people", "name": "Skilled people", "perspective": "learning"})
    changed["links"].append({"cause": "people", "effect": "fast", "polarity": "-"})
    changed["links"][0]["cause_measure"] = None
    with workspace.read() as db_session:
        initiative = db_session.scalar(select(Initiative.id))
    changed["objectives"][1]["initiatives"] = [initiative]
    report = apply(workspace, load_definition(json.dumps(changed), source="x"))
    assert report.version == 2
    lines = report.lines()
    assert "perspective financial: changed (name)" in lines
    assert "objective fast: changed (initiatives)" in lines
    assert "objective people: new" in lines
    assert "measure nps: changed (name; objective; targets)" in lines
    assert "measure revenue: removed (its 1 entered value deleted with it)" in lines
    assert "link fast → loyal: changed (cause measure; effect measure)" in lines
    assert "link people → fast: new" in lines
    with workspace.read() as db_session:
        nps = db_session.scalar(select(Measure).where(Measure.key == "nps"))
        assert nps.id == nps_id and nps.name == "Net Promoter Score"
        assert db_session.scalar(select(MeasureValue.value).where(MeasureValue.measure_id == nps_id)) == 42
        assert db_session.scalar(select(Commentary.analysis).where(Commentary.measure_id == nps_id)) == "steady"
        assert db_session.scalar(select(Measure).where(Measure.key == "revenue")) is None
        assert count(db_session, MeasureValue) == 1
        assert db_session.scalar(select(ObjectiveInitiative.initiative_id)) == initiative
        card = get_scorecard(db_session=db_session, key="org")
        assert card.version == 2 and count(db_session, ScorecardVersion) == 2
        assert export_definition(db_session=db_session, scorecard=card, version=1) == document()
        assert export_definition(db_session=db_session, scorecard=card)["measures"][0]["name"] == "Net Promoter Score"
        with pytest.raises(ScorecardNotFound, match="has versions 1 to 2; there is no version 7"):
            export_definition(db_session=db_session, scorecard=card, version=7)


def test_removing_an_objective_and_a_perspective_deletes_them_and_their_measures(workspace):
    apply(workspace, document())
    changed = copy.deepcopy(document())
    changed["perspectives"] = [p for p in changed["perspectives"] if p["key"] != "internal"]
    changed["objectives"] = changed["objectives"][:1]
    changed["measures"] = changed["measures"][:1]
    changed["links"] = []
    with workspace.write() as db_session:
        handled = db_session.scalar(select(Measure).where(Measure.key == "handled"))
        db_session.add(Commentary(measure_id=handled.id, period="2026-Q3", analysis="late"))
    lines = apply(workspace, changed).lines()
    assert "measure handled: removed (its 1 commentary deleted with it)" in lines
    assert {"objective fast: removed", "perspective internal: removed", "link fast → loyal: removed"} <= set(lines)
    with workspace.read() as db_session:
        assert count(db_session, Objective) == 1 and count(db_session, Measure) == 1
        assert count(db_session, Commentary) == count(db_session, Link) == 0
        assert count(db_session, Perspective) == 3


def test_a_cascaded_scorecard_rolls_up_into_its_parent(workspace):
    apply(workspace, document())
    child = {"key": "care", "name": "Care", "parent": "org", "department": "Care", "owner": "ops@example.com",
             "objectives": [{"key": "quick", "name": "Quick answers", "perspective": "internal",
                             "rolls_up_to": "fast"}]}
    apply(workspace, document(json.dumps(child)))
    with workspace.read() as db_session:
        care = get_scorecard(db_session=db_session, key="care")
        org = get_scorecard(db_session=db_session, key="org")
        assert care.parent_id == org.id
        assert care.department_id == db_session.scalar(select(Department.id))
        quick = db_session.scalar(select(Objective).where(Objective.key == "quick"))
        fast = db_session.scalar(select(Objective).where(Objective.key == "fast", Objective.scorecard_id == org.id))
        assert quick.rolls_up_to_id == fast.id
    # the organisation cannot then cascade from its own department
    looped = copy.deepcopy(document())
    looped["parent"] = "care"
    assert problems(workspace, looped) == {"parent": "'care' already cascades from 'org': scorecards would form a "
                                                     "cycle; name a scorecard above this one"}
    # the parent's objective leaves its file: the department's objective no longer rolls up, and the report says so
    shrunk = copy.deepcopy(document())
    shrunk["objectives"] = shrunk["objectives"][:1]
    shrunk["measures"] = shrunk["measures"][:1]
    shrunk["links"] = []
    assert "objective fast: removed (care's objective quick no longer rolls up into it)" in apply(workspace,
                                                                                                 shrunk).lines()
    with workspace.read() as db_session:
        assert db_session.scalar(select(Objective.rolls_up_to_id).where(Objective.key == "quick")) is None


def test_problems_with_the_workspace_name_their_field_path(workspace):
    given = copy.deepcopy(document())
    given["owner"] = "nobody@example.com"
    given["measures"][1]["owner"] = "ghost@example.com"
    given["department"] = "Sales"
    given["parent"] = "holding"
    given["objectives"][0]["rolls_up_to"] = "growth"
    given["objectives"][1]["initiatives"] = [999]
    given["measures"][0]["source"] = {"kind": "crystal ball"}
    given["measures"][2]["source"] = {"kind": "formula", "formula": "nps + churn"}
    found = problems(workspace, given)
    assert found["owner"] == ("no active staff user has the e-mail 'nobody@example.com'; invite them on the Users "
                              "page or name someone who has an account")
    assert "measures[1].owner" in found
    assert found["department"] == ("there is no department called 'Sales'; create it on the Departments page (the "
                                   "departments are Care)")
    assert found["parent"] == "there is no scorecard 'holding'; apply the parent's file first"
    assert found["objectives[1].initiatives[0]"].startswith("there is no initiative 999")
    assert found["measures[0].source.kind"].startswith("the source kind 'crystal ball' is not one voxpop reads")
    assert found["measures[2].source.formula"].startswith("the formula names 'churn'")
    with workspace.read() as db_session:
        assert count(db_session, Scorecard) == 0


def test_a_rolls_up_to_objective_the_parent_does_not_have(workspace):
    apply(workspace, document())
    child = {"key": "care", "name": "Care", "parent": "org",
             "objectives": [{"key": "quick", "name": "Quick", "perspective": "internal", "rolls_up_to": "growth"}]}
    assert problems(workspace, child) == {"objectives[0].rolls_up_to": "the parent scorecard 'org' has no objective "
                                                                       "'growth'; use one of fast, loyal"}


def test_an_inactive_user_owns_nothing(workspace):
    with workspace.write() as db_session:
        db_session.scalar(select(User).where(User.email == "ops@example.com")).is_active = False
    given = copy.deepcopy(document())
    given["objectives"][1]["owner"] = "OPS@example.com"
    assert set(problems(workspace, given)) == {"objectives[1].owner"}


def test_a_measure_whose_period_changes_keeps_its_values_and_says_they_are_not_read(workspace):
    apply(workspace, document())
    with workspace.write() as db_session:
        nps = db_session.scalar(select(Measure).where(Measure.key == "nps"))
        db_session.add_all(MeasureValue(measure_id=nps.id, period=month, value=40) for month in ("2026-09", "2026-10"))
    quarterly = copy.deepcopy(document())
    quarterly["measures"][0]["period"] = "quarter"
    quarterly["measures"][0]["targets"] = [{"from": "2026-Q1", "minimum": 0, "maximum": 60}]
    assert "measure nps: changed (period; its 2 entered values of months no longer read; change the period back to " \
           "read them; targets)" in apply(workspace, quarterly).lines()
    with workspace.read() as db_session:
        assert count(db_session, MeasureValue) == 2


def test_a_version_stored_in_an_older_form_is_replaced_by_the_normalised_one(workspace):
    apply(workspace, document())
    with workspace.write() as db_session:
        stored = db_session.scalar(select(ScorecardVersion))
        older = copy.deepcopy(stored.document)
        del older["perspectives"]  # as if an earlier voxpop had left the defaults out
        stored.document = older
    assert apply(workspace, document()).lines() == ["scorecard org: changed (the document's form only)",
                                                    "scorecard org is now version 2"]
    assert apply(workspace, document()).lines() == ["scorecard org: unchanged (version 2)"]
