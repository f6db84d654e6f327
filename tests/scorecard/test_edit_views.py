"""Editing a scorecard on the pages: each save applies the changed document as a new version (source "edited on the
pages") and keeps the values; the definition's errors are shown at their fields; managers and admins only."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.helpers import csrf_from, login, make_user
from voxpop.scorecard.definition import DefinitionError
from voxpop.scorecard.edit_views import edited_document, field_id
from voxpop.scorecard.models import Measure, MeasureTarget, MeasureValue, Perspective, Scorecard, ScorecardVersion
from voxpop.scorecard.service import apply_definition

RUNNING = {"month": "2026-12", "quarter": "2026-Q4"}
DOCUMENT = {
    "key": "org", "name": "Northwind",
    "objectives": [{"key": "skills", "name": "Skilled staff", "perspective": "learning"}],
    "measures": [{"key": "trained", "name": "Staff trained", "objective": "skills", "unit": "%",
                  "targets": [{"from": "2026-01", "target": 80, "minimum": 0, "maximum": 100}]}],
}


@pytest.fixture
def card(db):
    for role in ("manager", "viewer"):
        make_user(db, role)
    with db.write() as s:
        apply_definition(db_session=s, document=DOCUMENT, actor=None, source="org.yaml")
        measure = s.scalar(select(Measure))
        s.add(MeasureValue(measure_id=measure.id, period="2026-10", value=75.0))
    return "org"


def _manager(client) -> str:
    login(client, "manager@example.com")
    return csrf_from(client.get("/scorecards/org/edit").text)


def _post(client, token: str, **fields):
    return client.post("/scorecards/org/edit", data={"csrf_token": token} | fields, follow_redirects=False)


def _versions(db) -> list[tuple[int, str]]:
    with db.read() as s:
        return [(v.version, v.source) for v in s.scalars(select(ScorecardVersion).order_by(ScorecardVersion.version))]


def test_the_page_shows_the_document_and_its_versions(client, card):
    _manager(client)
    page = client.get("/scorecards/org/edit")
    assert page.status_code == 200 and 'data-testid="measure-trained"' in page.text and "org.yaml" in page.text
    document = client.get("/api/v1/scorecards/org/edit").json()
    assert document["version"] == 1 and document["document"]["measures"][0]["key"] == "trained"
    assert [v["source"] for v in document["versions"]] == ["org.yaml"]


def test_renaming_and_reordering_perspectives_make_versions_and_keep_values(client, db, card):
    token = _manager(client)
    assert _post(client, token, action="perspective.save", index="1", name="Customers").status_code == 303
    assert _post(client, token, action="perspective.down", index="0").status_code == 303
    with db.read() as s:
        order = [p.name for p in s.scalars(select(Perspective).order_by(Perspective.position))]
        assert s.scalar(select(MeasureValue.value)) == 75.0
    assert order == ["Customers", "Financial", "Internal process", "Learning and growth"]
    assert _versions(db) == [(1, "org.yaml"), (2, "edited on the pages"), (3, "edited on the pages")]


def test_adding_a_measure_keeps_the_others_and_their_values(client, db, card):
    token = _manager(client)
    reply = _post(client, token, action="measure.add", key="ideas", name="Ideas raised", objective="skills",
                  scoring="linear", period="month", direction="up", source='{"kind": "manual"}')
    assert reply.status_code == 303 and reply.headers["location"] == "/scorecards/org/edit?saved=version-2#measures"
    with db.read() as s:
        assert sorted(s.scalars(select(Measure.key))) == ["ideas", "trained"]
        assert s.scalar(select(MeasureValue.value)) == 75.0


def test_a_target_changed_from_a_period_on_keeps_the_earlier_rows(client, db, card):
    token = _manager(client)
    reply = _post(client, token, action="measure.save", index="0", name="Staff trained", objective="skills",
                  unit="%", direction="up", period="month", weight="2", scoring="linear",
                  source='{"kind": "manual"}', **{"from": "2026-12"}, target="90", minimum="0", maximum="100")
    assert reply.status_code == 303
    with db.read() as s:
        rows = [(t.from_period, t.target) for t in s.scalars(select(MeasureTarget).order_by(MeasureTarget.from_period))]
        assert rows == [("2026-01", 80.0), ("2026-12", 90.0)] and s.scalar(select(Measure.weight)) == 2.0


def test_saving_a_measure_as_it_is_makes_no_version(client, db, card):
    token = _manager(client)
    reply = _post(client, token, action="measure.save", index="0", name="Staff trained", objective="skills",
                  unit="%", direction="up", period="month", weight="1.0", scoring="linear",
                  source='{"kind": "manual"}', **{"from": "2026-12"}, target="80.0", minimum="0.0", maximum="100.0")
    assert reply.headers["location"] == "/scorecards/org/edit?saved=unchanged#measures"
    assert _versions(db) == [(1, "org.yaml")]


def test_errors_are_shown_at_the_fields_they_name_and_nothing_changes(client, db, card):
    token = _manager(client)
    reply = _post(client, token, action="measure.save", index="0", name="Staff trained", objective="skills",
                  direction="up", period="month", weight="heavy", scoring="linear", source="{kind: manual}")
    assert reply.status_code == 422
    assert 'id="measures-0-weight-error"' in reply.text and 'href="#measures-0-weight"' in reply.text
    assert 'value="heavy"' in reply.text  # what was typed stays in the field
    elsewhere = _post(client, token, action="measure.save", index="0", name="Staff trained", objective="nowhere",
                      direction="up", period="month", scoring="linear", source="{kind: manual}")
    assert elsewhere.status_code == 422 and 'id="measures-0-objective-error"' in elsewhere.text
    bad_source = _post(client, token, action="measure.save", index="0", name="Staff trained", objective="skills",
                       direction="up", period="month", scoring="linear", source="[1, 2]")
    assert bad_source.status_code == 422 and 'id="measures-0-source-error"' in bad_source.text
    assert _post(client, token, action="objective.save", index="7", name="x").status_code == 422
    assert _post(client, token, action="hack.save").status_code == 422
    assert _versions(db) == [(1, "org.yaml")]


def test_removing_asks_first_and_says_what_goes_with_it(client, db, card):
    token = _manager(client)
    first = _post(client, token, action="measure.remove", index="0")
    assert first.status_code == 200 and "Remove for good?" in first.text and "1 entered value deleted" in first.text
    with db.read() as s:
        assert s.scalar(select(Measure.key)) == "trained"
    assert _post(client, token, action="measure.remove", index="0", confirm="yes").status_code == 303
    with db.read() as s:
        assert s.scalar(select(Measure.key)) is None


def test_the_yaml_editor_applies_the_same_checks_and_keeps_the_key(client, db, card):
    token = _manager(client)
    page = client.get("/scorecards/org/edit").text
    assert "key: org" in page
    renamed = _post(client, token, action="yaml", text="key: other\nname: Other\n")
    assert renamed.status_code == 422 and "keep its key" in renamed.text
    broken = _post(client, token, action="yaml", text="key: org\nname: [\n")
    assert broken.status_code == 422 and "line" in broken.text
    assert _post(client, token, action="yaml", text="key: org\nname: Northwind Outdoors\n").status_code == 303
    with db.read() as s:
        assert s.scalar(select(Scorecard.name)) == "Northwind Outdoors"


def test_only_managers_and_admins_edit_and_forms_need_the_token(client, db, card):
    login(client, "viewer@example.com")
    assert client.get("/scorecards/org/edit").status_code == 403
    token = client.get("/api/v1/me").json()["csrf_token"]
    assert _post(client, token, action="scorecard", name="Mine").status_code == 403
    client.get("/logout")
    _manager(client)
    assert client.post("/scorecards/org/edit", data={"action": "scorecard", "name": "x"}).status_code == 403
    assert client.get("/scorecards/nowhere/edit").status_code == 404
    assert _versions(db) == [(1, "org.yaml")]


def test_a_new_scorecard_gets_the_four_perspectives_and_a_taken_key_is_refused(client, db, card):
    token = _manager(client)
    reply = client.post("/scorecards/new", data={"csrf_token": token, "key": "service-desk", "name": "Service desk"},
                        follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"].startswith("/scorecards/service-desk/edit")
    taken = client.post("/scorecards/new", data={"csrf_token": token, "key": "org", "name": "Again"})
    assert taken.status_code == 422 and "there is a scorecard org already" in taken.text.lower()
    bad = client.post("/scorecards/new", data={"csrf_token": token, "key": "no spaces", "name": ""})
    assert bad.status_code == 422
    with db.read() as s:
        desk = s.scalar(select(Scorecard).where(Scorecard.key == "service-desk"))
        assert len(s.scalars(select(Perspective).where(Perspective.scorecard_id == desk.id)).all()) == 4


def test_the_json_twin_applies_a_whole_document(client, db, card):
    token = _manager(client)
    document = client.get("/api/v1/scorecards/org/edit").json()["document"]
    document["name"] = "Northwind Outdoors"
    reply = client.post("/api/v1/scorecards/org/edit", json={"document": document}, headers={"X-CSRF-Token": token})
    assert reply.status_code == 200 and reply.json()["version"] == 2 and reply.json()["changed"]
    document["measures"][0]["weight"] = -1
    invalid = client.post("/api/v1/scorecards/org/edit", json={"document": document}, headers={"X-CSRF-Token": token})
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "measures[0].weight"
    assert client.post("/api/v1/scorecards", json={"document": {"key": "org", "name": "x"}},
                       headers={"X-CSRF-Token": token}).status_code == 409


@given(moves=st.lists(st.tuples(st.sampled_from(["perspective.up", "perspective.down"]), st.integers(0, 3)),
                      max_size=12))
def test_moving_perspectives_only_reorders_them(moves):
    document = {"key": "org", "name": "Org", "perspectives": [{"key": k, "name": k.title()} for k in "abcd"]}
    for action, index in moves:
        before = [p["key"] for p in document["perspectives"]]
        document = edited_document(document, action, {"index": str(index)}, [], running=RUNNING)
        after = [p["key"] for p in document["perspectives"]]
        assert sorted(after) == sorted(before)
        step = -1 if action.endswith("up") else 1
        if 0 <= index + step < 4:
            assert after[index + step] == before[index] and after[index] == before[index + step]
        else:
            assert after == before


def test_a_form_that_names_no_item_is_an_error_at_its_part():
    document = {"key": "org", "name": "Org", "perspectives": [{"key": "a", "name": "A"}]}
    with pytest.raises(DefinitionError) as caught:
        edited_document(document, "perspective.save", {"index": "3", "name": "x"}, [], running=RUNNING)
    assert caught.value.problems[0][0] == "perspectives"
    assert field_id("measures[3].targets[0].goal") == "measures-3-target-goal"
    assert field_id("measures[2].source.question") == "measures-2-source"


@pytest.mark.parametrize("written", ["nan", "inf", "-Infinity", "1e400"])
def test_a_threshold_typed_as_nan_or_infinity_is_an_error_at_its_field(client, db, card, written):
    token = _manager(client)
    reply = _post(client, token, action="measure.save", index="0", name="Staff trained", objective="skills",
                  unit="%", direction="up", period="month", weight="1", scoring="linear",
                  source='{"kind": "manual"}', **{"from": "2026-12"}, target="90", minimum="0", maximum=written)
    assert reply.status_code == 422 and "maximum" in reply.text
    assert f'value="{written}"' in reply.text  # what was typed stays in the field
    assert _versions(db) == [(1, "org.yaml")]
