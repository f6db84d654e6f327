"""The scorecard file read on its own: defaults, normalisation, and every problem named by its field path."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from voxpop.scorecard.definition import DefinitionError, load_definition

SCORECARD = """
key: org
name: Northwind
description: The organisation's scorecard
owner: boss@example.com
objectives:
  - {key: loyal, name: Loyal customers, perspective: customer, owner: boss@example.com, weight: 2}
  - {key: fast, name: Fast service, perspective: internal}
measures:
  - key: nps
    name: NPS
    objective: loyal
    unit: points
    source: {kind: manual}
    targets:
      - {from: "2026-01", target: 40, minimum: 0, maximum: 60}
      - {from: "2026-07", target: 45, minimum: 0, maximum: 60}
  - key: handled
    name: Cases handled on time
    objective: fast
    scoring: goal_red_flag
    period: quarter
    source: {kind: manual}
    targets: [{from: 2026-Q1, goal: 90, red_flag: 70}]
  - key: revenue
    name: Revenue per order
    objective: fast
    scoring: status_rules
    targets:
      - from: "2026-01"
        target: 100
        rules:
          - {when: actual >= target, status: above target, colour: green}
          - {when: actual >= 0.9 * target, status: caution, colour: amber}
          - {when: otherwise, status: below plan, colour: red}
links:
  - {cause: fast, effect: loyal, cause_measure: handled, effect_measure: nps, polarity: "+", lag: 1, strength: strong}
"""


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(DefinitionError) as raised:
        load_definition(text, source="card.yaml")
    assert str(raised.value).startswith("card.yaml is not a valid scorecard file:")
    return raised.value.problems


def changed(**parts) -> str:
    """The example with some top-level parts replaced, as YAML (new measures drop the example's link)."""
    document = yaml.safe_load(SCORECARD)
    if "measures" in parts:
        document["links"] = []
    document.update(parts)
    return yaml.safe_dump(document)


def measure(**fields) -> dict:
    return {"key": "m", "name": "M", "objective": "loyal", "source": {"kind": "manual"}, **fields}


def test_the_example_is_read_with_its_defaults_filled_in():
    document = load_definition(SCORECARD, source="card.yaml")
    assert [p["key"] for p in document["perspectives"]] == ["financial", "customer", "internal", "learning"]
    assert document["perspectives"][3]["name"] == "Learning and growth"
    nps = document["measures"][0]
    assert (nps["direction"], nps["period"], nps["weight"], nps["scoring"]) == ("up", "month", 1.0, "linear")
    assert nps["targets"][0] == {"from": "2026-01", "target": 40.0, "minimum": 0.0, "maximum": 60.0, "rules": []}
    assert document["measures"][2]["source"] == {"kind": "manual"}
    assert document["links"][0]["polarity"] == "+"
    assert document["objectives"][1]["initiatives"] == []


def test_json_reads_as_yaml_does_and_normalising_twice_changes_nothing():
    document = load_definition(SCORECARD, source="card.yaml")
    assert load_definition(json.dumps(yaml.safe_load(SCORECARD)), source="card.json") == document
    assert load_definition(json.dumps(document), source="again") == document
    assert load_definition(yaml.safe_dump(document), source="again") == document


@pytest.mark.parametrize("written, read", [("-1", "-"), ("1", "+"), ('"-"', "-")])
def test_polarity_is_plus_or_minus_however_it_is_written(written, read):
    text = SCORECARD.replace('polarity: "+"', f"polarity: {written}")
    assert load_definition(text, source="card.yaml")["links"][0]["polarity"] == read


def test_a_syntax_error_names_its_line_and_column():
    found = problems("key: org\nname: [unclosed\n")
    assert found[0][0].startswith("line ")
    assert problems("- a list\n") == [("(top level)", "expected a mapping with key, name, objectives and measures")]


def test_unknown_and_missing_fields_name_their_path():
    document = yaml.safe_load(SCORECARD)
    document["measures"][1]["targets"][0]["gaol"] = 3
    del document["objectives"][0]["name"]
    found = dict(problems(yaml.safe_dump(document)))
    assert "docs/scorecard-file.md" in found["measures[1].targets[0].gaol"]
    assert found["objectives[0].name"].startswith("is missing")


def test_a_key_that_is_not_a_key_says_how_to_write_one():
    found = dict(problems(changed(key="Org Card")))
    assert found["key"] == "a key is lower-case letters, digits, - and _, starting with a letter"


def test_duplicate_keys():
    document = yaml.safe_load(SCORECARD)
    document["measures"].append(document["measures"][0])
    document["objectives"].append({"key": "fast", "name": "Again", "perspective": "customer"})
    found = dict(problems(yaml.safe_dump(document)))
    assert found["measures[3].key"] == "the key 'nps' is used twice; give each its own"
    assert found["objectives[2].key"] == "the key 'fast' is used twice; give each its own"


def test_references_inside_the_file():
    document = yaml.safe_load(SCORECARD)
    document["objectives"][1]["perspective"] = "people"
    document["measures"][0]["objective"] = "lost"
    found = dict(problems(yaml.safe_dump(document)))
    assert found["objectives[1].perspective"] == ("there is no perspective 'people' in this file; use one of "
                                                  "customer, financial, internal, learning")
    assert found["measures[0].objective"] == "there is no objective 'lost' in this file; use one of fast, loyal"


def test_renamed_and_reordered_perspectives_replace_the_defaults():
    document = load_definition(changed(perspectives=[{"key": "customer", "name": "Customers first"},
                                                     {"key": "internal", "name": "How we work"}]), source="x")
    assert [p["name"] for p in document["perspectives"]] == ["Customers first", "How we work"]
    assert dict(problems(changed(perspectives=[])))["perspectives"].startswith("give at least one perspective")


@pytest.mark.parametrize("scoring, target, missing", [
    ("linear", {"target": 3}, ["minimum", "maximum"]),
    ("progress", {"baseline": 15}, ["target"]),
    ("goal_red_flag", {"goal": 700}, ["red_flag"]),
    ("stabilise", {"low": 4, "high": 6}, ["minimum", "maximum"]),
    ("status_rules", {"target": 3}, ["rules"]),
])
def test_a_scoring_type_without_the_thresholds_it_needs(scoring, target, missing):
    found = dict(problems(changed(measures=[measure(scoring=scoring, targets=[{"from": "2026-01", **target}])])))
    assert sorted(found) == sorted(f"measures[0].targets[0].{name}" for name in missing)
    assert all(scoring in message for message in found.values())


def test_yes_no_needs_no_thresholds_and_a_measure_may_have_no_target_yet():
    load_definition(changed(measures=[measure(scoring="yes_no", targets=[{"from": "2026-01"}]),
                                      {**measure(key="later"), "targets": []}]), source="x")


def test_best_in_the_middle_is_scored_by_stabilise():
    found = dict(problems(changed(measures=[measure(direction="middle",
                                                    targets=[{"from": "2026-01", "minimum": 0, "maximum": 9}])])))
    assert found == {"measures[0].direction": "linear scoring reads a measure that is better up or down; for one best "
                                              "in the middle choose scoring: stabilise, with the band from low to high"}


def test_thresholds_in_the_wrong_order():
    found = dict(problems(changed(measures=[
        measure(targets=[{"from": "2026-01", "minimum": 10, "maximum": 5}]),
        measure(key="g", scoring="goal_red_flag", targets=[{"from": "2026-01", "goal": 5, "red_flag": 5}]),
        measure(key="p", scoring="progress", targets=[{"from": "2026-01", "baseline": 5, "target": 5}]),
        measure(key="s", scoring="stabilise", targets=[{"from": "2026-01", "low": 6, "high": 4, "minimum": 0,
                                                        "maximum": 10}]),
        measure(key="t", scoring="stabilise", targets=[{"from": "2026-01", "low": 0, "high": 4, "minimum": 0,
                                                        "maximum": 10},
                                                       {"from": "2026-02", "low": 2, "high": 10, "minimum": 0,
                                                        "maximum": 10},
                                                       {"from": "2026-03", "low": 5, "high": 5, "minimum": 0,
                                                        "maximum": 10}])])))
    assert found == {"measures[0].targets[0].maximum": "maximum must be above minimum",
                     "measures[1].targets[0].red_flag": "the red flag must differ from the goal",
                     "measures[2].targets[0].baseline": "the baseline must differ from the target",
                     "measures[3].targets[0].high": "high must not be below low",
                     "measures[4].targets[0].low": "low must be above minimum",
                     "measures[4].targets[1].maximum": "maximum must be above high"}


def test_a_period_label_of_the_wrong_kind_or_twice():
    found = dict(problems(changed(measures=[
        measure(targets=[{"from": "2026-Q1", "minimum": 0, "maximum": 1}]),
        measure(key="q", period="quarter", targets=[{"from": "2026-03", "minimum": 0, "maximum": 1}]),
        measure(key="bad", targets=[{"from": "March", "minimum": 0, "maximum": 1},
                                    {"from": "2026-02", "minimum": 0, "maximum": 1},
                                    {"from": "2026-02", "minimum": 0, "maximum": 2}])])))
    assert found["measures[0].targets[0].from"] == ("'2026-Q1' is a quarter but the measure is measured by month; "
                                                    "write a month such as 2026-01")
    assert found["measures[1].targets[0].from"].endswith("write a quarter such as 2026-Q1")
    assert "write a month as 2026-11 or a quarter as 2026-Q4" in found["measures[2].targets[0].from"]
    assert found["measures[2].targets[2].from"] == "two targets start in 2026-02; keep one"


def test_status_rules_read_only_actual_and_target():
    rules = [{"when": "actual >= goal", "status": "fine", "colour": "green"},
             {"when": "actual >=", "status": "odd", "colour": "amber"},
             {"when": "otherwise", "status": "below", "colour": "red"}]
    found = dict(problems(changed(measures=[measure(scoring="status_rules",
                                                    targets=[{"from": "2026-01", "rules": rules}])])))
    assert found["measures[0].targets[0].rules[0].when"].startswith("a status rule reads only actual and target, "
                                                                   "not goal")
    assert set(found) == {"measures[0].targets[0].rules[0].when", "measures[0].targets[0].rules[1].when"}
    rules[2]["colour"] = "purple"  # a shape the model refuses before the rules are read
    found = dict(problems(changed(measures=[measure(scoring="status_rules",
                                                    targets=[{"from": "2026-01", "rules": rules}])])))
    assert found == {"measures[0].targets[0].rules[2].colour": "write 'green', 'amber', 'red' or 'none', not 'purple'"}


def test_formulas_that_refer_to_each_other_in_a_cycle():
    found = dict(problems(changed(measures=[
        measure(key="a", source={"kind": "formula", "formula": "b + 1"}),
        measure(key="b", source={"kind": "formula", "formula": "c * 2"}),
        measure(key="c", source={"kind": "formula", "formula": "a - d"}),
        measure(key="d", source={"kind": "manual"}),
        measure(key="e", source={"kind": "formula", "formula": "d / 2"})])))
    assert found == {"measures[0].source.formula": "'a' depends on itself through formulas (a → b → c → a); "
                                                   "break the cycle",
                     "measures[1].source.formula": "'b' depends on itself through formulas (b → c → a → b); "
                                                   "break the cycle",
                     "measures[2].source.formula": "'c' depends on itself through formulas (c → a → b → c); "
                                                   "break the cycle"}
    selfish = dict(problems(changed(measures=[measure(source={"kind": "formula", "formula": "m * 2"})])))
    assert selfish["measures[0].source.formula"].startswith("'m' depends on itself through formulas (m → m)")


def test_links_between_unknown_objectives_or_measures():
    found = dict(problems(changed(links=[
        {"cause": "fast", "effect": "gone"},
        {"cause": "fast", "effect": "loyal", "cause_measure": "nps", "effect_measure": "nope"},
        {"cause": "loyal", "effect": "loyal"},
        {"cause": "fast", "effect": "loyal"}])))
    assert found["links[0].effect"] == "there is no objective 'gone' in this file; use one of fast, loyal"
    assert found["links[1].cause_measure"] == ("'nps' measures the objective 'loyal', not 'fast'; name one of "
                                               "'fast''s measures")
    assert found["links[1].effect_measure"] == "there is no measure 'nope' in this file"
    assert found["links[2].effect"] == "a link joins two different objectives"
    assert found["links[3]"] == "the link from 'fast' to 'loyal' is given twice; keep one"
    shapes = dict(problems(changed(links=[{"cause": "fast", "effect": "loyal", "polarity": "up", "lag": 30,
                                           "strength": "huge"}])))
    assert shapes == {"links[0].polarity": "write '+' or '-', not 'up'",
                      "links[0].lag": "Input should be less than or equal to 24",
                      "links[0].strength": "write 'weak', 'moderate' or 'strong', not 'huge'"}


def test_a_scorecard_cannot_be_its_own_parent_and_only_a_child_rolls_up():
    document = yaml.safe_load(SCORECARD)
    document["parent"] = "org"
    assert dict(problems(yaml.safe_dump(document)))["parent"].startswith("a scorecard cannot be its own parent")
    document = yaml.safe_load(SCORECARD)
    document["objectives"][0]["rolls_up_to"] = "loyal"
    assert dict(problems(yaml.safe_dump(document)))["objectives[0].rolls_up_to"] == (
        "only a scorecard with a parent can roll up into it; add parent, or remove rolls_up_to")


def test_the_example_in_the_docs_reads():
    page = (Path(__file__).resolve().parents[2] / "docs" / "scorecard-file.md").read_text(encoding="utf-8")
    example = page.split("## A complete example\n\n```yaml\n", 1)[1].split("```", 1)[0]
    document = load_definition(example, source="docs/scorecard-file.md")
    assert len(document["measures"]) == 8 and len(document["links"]) == 3


def test_a_day_where_a_period_belongs():
    found = dict(problems(changed(measures=[measure(targets=[{"from": date(2026, 10, 1), "minimum": 0,
                                                              "maximum": 1}])])))
    assert found == {"measures[0].targets[0].from": "write the first period as a month such as 2026-01 or a quarter "
                                                    "such as 2026-Q1, not 2026-10-01"}


KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
THRESHOLDS = {"linear": {"minimum": 0, "maximum": 10}, "progress": {"baseline": 5, "target": 9},
              "goal_red_flag": {"goal": 9, "red_flag": 3}, "yes_no": {},
              "stabilise": {"minimum": 0, "low": 4, "high": 6, "maximum": 10},
              "status_rules": {"target": 5, "rules": [{"when": "actual >= target", "status": "on", "colour": "green"},
                                                     {"when": "otherwise", "status": "off", "colour": "red"}]}}
MIDDLE_UNREAD = ("linear", "progress", "goal_red_flag")


@st.composite
def scorecards(draw) -> dict:
    """A valid scorecard document: objectives in the default perspectives, measures with the thresholds their
    scoring needs, from months or quarters, and links between distinct objectives."""
    objectives = draw(st.lists(KEYS, min_size=1, max_size=4, unique=True))
    measures = draw(st.lists(KEYS, max_size=6, unique=True))
    perspectives = ["financial", "customer", "internal", "learning"]
    document = {"key": draw(KEYS), "name": "Card",
                "objectives": [{"key": key, "name": key, "perspective": draw(st.sampled_from(perspectives)),
                                "weight": draw(st.floats(0, 5))} for key in objectives], "measures": []}
    for key in measures:
        scoring, period = draw(st.sampled_from(sorted(THRESHOLDS))), draw(st.sampled_from(["month", "quarter"]))
        starts = draw(st.lists(st.integers(1, 4), max_size=3, unique=True))
        document["measures"].append({
            "key": key, "name": key, "objective": draw(st.sampled_from(objectives)), "scoring": scoring,
            "period": period, "direction": draw(st.sampled_from(["up", "down"] if scoring in MIDDLE_UNREAD
                                                                else ["up", "down", "middle"])),
            "targets": [{"from": f"2026-0{start}" if period == "month" else f"2026-Q{start}", **THRESHOLDS[scoring]}
                        for start in starts]})
    if len(objectives) > 1:
        pairs = draw(st.lists(st.permutations(objectives).map(lambda keys: tuple(keys[:2])), max_size=3, unique=True))
        document["links"] = [{"cause": cause, "effect": effect, "polarity": draw(st.sampled_from(["+", "-", 1, -1])),
                              "lag": draw(st.integers(0, 24))} for cause, effect in pairs]
    return document


@settings(max_examples=60, deadline=None)
@given(scorecards())
def test_a_normalised_document_reads_back_to_itself_from_yaml_and_json(document):
    normalised = load_definition(json.dumps(document), source="x")
    assert load_definition(yaml.safe_dump(normalised), source="x") == normalised
    assert load_definition(json.dumps(normalised), source="x") == normalised
    assert [measure["key"] for measure in normalised["measures"]] == [measure["key"] for measure in
                                                                      document["measures"]]


@settings(max_examples=60, deadline=None)
@given(scorecards(), st.data())
def test_a_threshold_taken_away_is_named_by_its_field_path(document, data):
    scored = [(index, number, name) for index, measure in enumerate(document["measures"])
              for number, target in enumerate(measure["targets"]) for name in target if name != "from"]
    if not scored:
        return
    index, number, name = data.draw(st.sampled_from(scored))
    del document["measures"][index]["targets"][number][name]
    if document["measures"][index]["scoring"] == "status_rules" and name == "target":
        load_definition(json.dumps(document), source="x")  # a rule may compare with no target: it is passed over
        return
    assert f"measures[{index}].targets[{number}].{name}" in dict(problems(json.dumps(document)))


def test_the_key_new_is_refused_as_the_new_scorecard_form_owns_its_address():
    document = yaml.safe_load(SCORECARD)
    document["key"] = "new"
    assert dict(problems(yaml.safe_dump(document)))["key"].startswith("'new' is the address of the new-scorecard form")


@pytest.mark.parametrize("written", [".nan", ".inf", "-.inf", "1e400"])
def test_a_threshold_that_is_not_a_finite_number_is_refused_at_its_path(written):
    text = changed(measures=[measure(targets=[{"from": "2026-01", "minimum": 0, "maximum": 100}])])
    text = text.replace("maximum: 100", f"maximum: {written}")
    assert problems(text) == [("measures[0].targets[0].maximum", "Input should be a finite number")]


@pytest.mark.parametrize("initiative", [99999999999999999999, 2**31, 0])
def test_an_initiative_id_beyond_the_column_is_refused_at_its_path(initiative):
    document = yaml.safe_load(SCORECARD)
    document["objectives"][0]["initiatives"] = [initiative]
    [(path, _message)] = problems(yaml.safe_dump(document))
    assert path == "objectives[0].initiatives[0]"
