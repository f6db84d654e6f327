"""Scoring a scorecard for a period: each scoring type through evaluate, roll-ups over the children with data, targets
by period, quarterly measures, cascaded department objectives, the locked snapshot and the measure's detail."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from tests.cases.loop_data import add_answers, month_of
from tests.helpers import apply_survey
from tests.scorecard import builders as build
from voxpop.analysis.periods import DaysError
from voxpop.cases.models import Initiative
from voxpop.scorecard.evaluation import (
    SnapshotError,
    evaluate,
    measure_detail,
    result_from_json,
    result_to_json,
    review_period,
    score_value,
)
from voxpop.scorecard.measured import MeasuredValue
from voxpop.scorecard.models import Measure, MeasureValue, ObjectiveInitiative, Review, Scorecard
from voxpop.scorecard.schemas import measure_detail_public, scorecard_public

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)


def scored(db, key="org", period="2026-11", **options):
    with db.read() as s:
        card = s.scalars(select(Scorecard).where(Scorecard.key == key)).one()
        return evaluate(s, scorecard=card, period=period, zone="UTC", min_base=30, now=NOW, **options)


def measures_of(result):
    return {m.key: m for p in result.perspectives for o in p.objectives for m in o.measures}


def one_objective(db, *, key="org"):
    with db.write() as s:
        card = build.scorecard(s, key)
        goal = build.objective(s, build.perspective(s, card), "loyalty")
        return card.id, goal.id


def test_each_scoring_type_scores_as_the_anchors_document(db):
    with db.write() as s:
        card = build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card), "all")
        cases = {
            # BSC Designer linear: Min 0, Max 200, V 50 -> 25 %; minimise: V 5, Min 0, Max 20 -> 75 %
            "linear_up": ("linear", "up", {"minimum": 0, "maximum": 200}, 50, 25.0),
            "linear_down": ("linear", "down", {"minimum": 0, "maximum": 20}, 5, 75.0),
            # BSC Designer progress: baseline 10, target 4, value 7 -> 50 %
            "progress": ("progress", "down", {"baseline": 10, "target": 4}, 7, 50.0),
            # Spider Impact: goal 700, red flag 500, value 700 -> 6.67 / 10, i.e. 66.67 on 0..100
            "goal_red_flag": ("goal_red_flag", "up", {"goal": 700, "red_flag": 500}, 700, 200 / 3),
            "stabilise": ("stabilise", "middle", {"low": 40, "high": 60, "minimum": 0, "maximum": 100}, 50, 100.0),
            "yes_no": ("yes_no", "up", {}, 0, 0.0),
        }
        for key, (scoring, direction, thresholds, value, _) in cases.items():
            measure = build.measure(s, goal, key, scoring=scoring, direction=direction)
            build.target(s, measure, "2026-01", **thresholds)
            build.values(s, measure, {"2026-11": value})
    found = measures_of(scored(db))
    for key, (*_, expected) in cases.items():
        assert found[key].score == pytest.approx(expected), key
    assert found["goal_red_flag"].colour == "green"
    assert found["linear_up"].colour == "red" and found["linear_up"].status == "off target"
    assert found["stabilise"].status == "on target"


def test_status_rules_take_the_first_rule_that_holds(db):
    rules = [{"when": "actual >= target", "status": "above target", "colour": "green"},
             {"when": "actual >= 0.9 * target", "status": "caution", "colour": "amber"},
             {"when": "otherwise", "status": "below plan", "colour": "red"}]
    with db.write() as s:
        card = build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card), "all")
        measure = build.measure(s, goal, "sales", scoring="status_rules")
        build.target(s, measure, "2026-01", target=100, rules=rules)
        build.values(s, measure, {"2026-09": 100, "2026-10": 95, "2026-11": 80})
    for period, status, colour in (("2026-09", "above target", "green"), ("2026-10", "caution", "amber"),
                                   ("2026-11", "below plan", "red")):
        found = measures_of(scored(db, period=period))["sales"]
        assert (found.status, found.colour) == (status, colour)


def test_no_data_is_left_out_of_the_roll_up_and_weights_renormalise(db):
    with db.write() as s:
        card = build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card), "all")
        for key, weight, value in (("a", 2, 65), ("b", 1, 75), ("c", 5, None)):
            measure = build.measure(s, goal, key, weight=weight)
            build.target(s, measure, "2026-01", minimum=0, maximum=100)
            if value is not None:
                build.values(s, measure, {"2026-11": value})
    result = scored(db)
    objective = result.perspectives[0].objectives[0]
    assert objective.score == pytest.approx(68.33, abs=0.005)  # (2·65 + 75)/3, not (2·65 + 75 + 5·0)/8
    missing = measures_of(result)["c"]
    assert (missing.score, missing.colour, missing.status) == (None, "none", "no data")
    assert result.perspectives[0].score == pytest.approx(objective.score)
    assert result.score == pytest.approx(objective.score)


def test_an_objective_without_data_is_left_out_of_its_perspective(db):
    with db.write() as s:
        card = build.scorecard(s)
        view = build.perspective(s, card)
        measured, empty = build.objective(s, view, "measured"), build.objective(s, view, "empty", weight=3)
        measure = build.measure(s, measured, "a")
        build.target(s, measure, "2026-01", minimum=0, maximum=100)
        build.values(s, measure, {"2026-11": 40})
        build.measure(s, empty, "b")
    result = scored(db)
    assert result.perspectives[0].score == pytest.approx(40)
    assert result.perspectives[0].objectives[1].colour == "none"


def test_the_target_in_force_changes_by_period(db):
    with db.write() as s:
        card = build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card), "all")
        measure = build.measure(s, goal, "nps", scoring="progress")
        build.target(s, measure, "2026-01", baseline=0, target=40)
        build.target(s, measure, "2026-07", baseline=0, target=80)
        build.values(s, measure, {"2026-06": 40, "2026-07": 40})
    june, july = measures_of(scored(db, period="2026-06"))["nps"], measures_of(scored(db, period="2026-07"))["nps"]
    assert (june.target, june.score) == (40, pytest.approx(100))
    assert (july.target, july.score) == (80, pytest.approx(50))
    with db.read() as s:
        detail = measure_detail(s, measure=s.get(Measure, measure.id), period="2026-07", zone="UTC", min_base=30,
                                now=NOW, history=3)
    assert [t.target for t in detail.targets] == [40, 40, 80]
    assert [v.period for v in detail.series] == ["2026-05", "2026-06", "2026-07"]


def test_a_measure_without_a_target_row_has_no_score(db):
    with db.write() as s:
        card = build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card), "all")
        measure = build.measure(s, goal, "a")
        build.target(s, measure, "2026-12", minimum=0, maximum=100)  # not yet in force in November
        build.values(s, measure, {"2026-11": 50})
    found = measures_of(scored(db))["a"]
    assert (found.score, found.colour, found.status) == (None, "none", "no target")


def test_a_quarterly_measure_in_a_monthly_review_shows_the_quarter_holding_the_month(db):
    with db.write() as s:
        card = build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card), "all")
        measure = build.measure(s, goal, "share", period="quarter")
        build.target(s, measure, "2026-Q1", minimum=0, maximum=10)
        build.values(s, measure, {"2026-Q3": 5, "2026-Q4": 8})
    found = measures_of(scored(db, period="2026-11", history=4))["share"]
    assert found.value.period == "2026-Q4" and found.score == pytest.approx(80)
    assert [v.period for v in found.trend] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert found.previous_colour == "amber"


def test_a_monthly_measure_in_a_quarterly_review_shows_the_quarter_s_last_month(db):
    with db.write() as s:
        card = build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card), "all")
        measure = build.measure(s, goal, "calls")
        build.target(s, measure, "2026-01", minimum=0, maximum=10)
        build.values(s, measure, {"2026-08": 2, "2026-09": 7})
    found = measures_of(scored(db, period="2026-Q3"))["calls"]
    assert found.value.period == "2026-09" and found.score == pytest.approx(70)
    assert found.previous_colour == "red"


def test_a_formula_measure_reads_the_measures_it_names(db):
    with db.write() as s:
        card = build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card), "all")
        refunds, orders = build.measure(s, goal, "refunds"), build.measure(s, goal, "orders")
        rate = build.measure(s, goal, "refund_rate", direction="down",
                             source={"kind": "formula", "formula": "refunds / orders * 100"})
        build.target(s, rate, "2026-01", minimum=0, maximum=10)
        build.values(s, refunds, {"2026-10": 3, "2026-11": 2})
        build.values(s, orders, {"2026-10": 0, "2026-11": 100})
    found = measures_of(scored(db))["refund_rate"]
    assert found.value.value == pytest.approx(2) and found.value.origin == "formula"
    assert found.score == pytest.approx(80)
    assert found.trend[-2].value is None  # October divides by zero: no value, said in the note, not a 500


def test_cascaded_department_objectives_join_the_parent_roll_up(db):
    with db.write() as s:
        org = build.scorecard(s, "org")
        loyalty = build.objective(s, build.perspective(s, org), "loyalty")
        own = build.measure(s, loyalty, "nps", weight=1)
        build.target(s, own, "2026-01", minimum=0, maximum=100)
        build.values(s, own, {"2026-11": 60})
        service = build.scorecard(s, "service", parent=org)
        first_contact = build.objective(s, build.perspective(s, service), "first_contact", weight=1,
                                        rolls_up_to=loyalty)
        theirs = build.measure(s, first_contact, "on_time")
        build.target(s, theirs, "2026-01", minimum=0, maximum=100)
        build.values(s, theirs, {"2026-11": 90})
    objective = scored(db, "org").perspectives[0].objectives[0]
    assert [c.key for c in objective.cascaded] == ["first_contact"]
    assert objective.cascaded[0].score == pytest.approx(90)
    assert objective.score == pytest.approx(75)
    department = scored(db, "service").perspectives[0].objectives[0]
    assert department.score == pytest.approx(90) and department.cascaded == ()


def test_objectives_carry_their_initiatives(db):
    card_id, objective_id = one_objective(db)
    with db.write() as s:
        initiative = Initiative(title="Call back within a day", stage="do")
        s.add(initiative)
        s.flush()
        s.add(ObjectiveInitiative(objective_id=objective_id, initiative_id=initiative.id))
    objective = scored(db).perspectives[0].objectives[0]
    assert objective.initiatives == ((initiative.id, "Call back within a day", "do"),)


def test_a_locked_period_returns_its_snapshot_and_the_snapshot_round_trips(db):
    with db.write() as s:
        card = build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card), "all")
        measure = build.measure(s, goal, "a")
        build.target(s, measure, "2026-01", minimum=0, maximum=100)
        build.values(s, measure, {"2026-10": 20, "2026-11": 50})
    live = scored(db)
    assert result_from_json(result_to_json(live)) == live
    with db.write() as s:
        s.add(Review(scorecard_id=card.id, period="2026-11", locked_at=NOW, snapshot=result_to_json(live)))
        build.values(s, measure, {"2026-09": 99})
        s.query(MeasureValue).filter_by(measure_id=measure.id, period="2026-11").update({"value": 90.0})
    locked = scored(db)
    assert locked.locked and measures_of(locked)["a"].score == pytest.approx(50)
    assert locked == live.__class__(**{**live.__dict__, "locked": True})
    assert measures_of(scored(db, period="2026-10"))["a"].score == pytest.approx(20)  # other periods stay live


def _older(data, drop: tuple[str, ...]):
    """The JSON as an older (or newer) voxpop wrote it: some fields gone, one it does not know added, throughout."""
    if isinstance(data, dict):
        return {**{k: _older(v, drop) for k, v in data.items() if k not in drop}, "confidence_band": "wide"}
    if isinstance(data, list):
        return [_older(item, drop) for item in data]
    return data


def _locked_with(db, snapshot):
    with db.write() as s:
        card = build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card), "all")
        measure = build.measure(s, goal, "a")
        build.target(s, measure, "2026-01", minimum=0, maximum=100)
        build.values(s, measure, {"2026-10": 20, "2026-11": 50})
    live = scored(db)
    with db.write() as s:
        s.add(Review(scorecard_id=card.id, period="2026-11", locked_at=NOW, snapshot=snapshot(result_to_json(live))))
        s.query(MeasureValue).filter_by(measure_id=measure.id, period="2026-11").update({"value": 90.0})
    return live, scored(db)


def test_a_snapshot_of_an_older_shape_reads_with_defaults_and_ignores_what_it_does_not_know(db):
    gone = ("signals", "change_is_signal", "within_noise", "low_base", "initiatives", "cascaded", "colour", "owner")
    live, locked = _locked_with(db, lambda data: _older(data, gone))
    measure = measures_of(locked)["a"]
    assert locked.locked and measure.score == pytest.approx(50) and measure.value.value == 50  # the snapshot's
    assert (measure.signals, measure.change_is_signal, measure.within_noise, measure.colour) == ((), None, False,
                                                                                                   "none")
    assert measure.trend == tuple(replace(v, low_base=False) for v in measures_of(live)["a"].trend)
    assert locked.perspectives[0].objectives[0].initiatives == ()


@pytest.mark.parametrize("broken", [
    lambda data: {**data, "perspectives": "customer"},
    lambda data: {**data, "perspectives": [{**data["perspectives"][0], "objectives": [7]}]},
    lambda data: {**data, "score": "high"},
    lambda data: ["not", "a", "mapping"],
])
def test_a_snapshot_that_cannot_be_read_scores_the_period_live_and_says_it_is_not_the_lock(db, broken):
    _, found = _locked_with(db, broken)
    assert not found.locked and measures_of(found)["a"].value.value == 90  # live, said as not locked: no 500
    with pytest.raises(SnapshotError):
        result_from_json(broken(result_to_json(found)))


def test_survey_measures_on_one_survey_and_attribute_share_one_read_of_the_rollups(db):
    apply_survey(db)
    add_answers(db, month_of(2026, 11, {10: 3, 3: 1}), channel="app")
    add_answers(db, month_of(2026, 11, {9: 1, 0: 2}), channel="web")
    nps = {"kind": "survey", "survey": "feedback", "metric": "nps", "question": "nps"}
    with db.write() as s:
        goal = build.objective(s, build.perspective(s, build.scorecard(s)), "all")
        for key, source in {"nps": nps, "ces": nps | {"metric": "mean", "question": "ease"},
                            "app": nps | {"filter": [["attribute", "channel=app"]]},
                            "web": nps | {"filter": [["attribute", "channel=web"]]},
                            "csat_web": nps | {"metric": "csat", "question": "csat",
                                               "filter": [["attribute", "channel=web"]]}}.items():
            build.target(s, build.measure(s, goal, key, source=source), "2026-01", minimum=-100, maximum=100)
    statements = []

    def count(conn, cursor, statement, *args):
        if "score_rollups" in statement:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        found = measures_of(scored(db, history=24))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 2  # every question of the survey; the same per channel
    assert found["app"].value.value == pytest.approx(50.0) and found["web"].value.value == pytest.approx(-100 / 3)
    assert found["nps"].value.n == 7 and found["ces"].value.value is None and found["csat_web"].value.n == 0


def test_a_bad_period_is_refused_with_a_sentence(db):
    one_objective(db)
    with pytest.raises(DaysError, match="write a month as 2026-11"):
        scored(db, period="2026-13")


def test_review_period_is_the_last_ended_month_or_quarter_in_the_zone():
    assert review_period(NOW, "UTC", "month") == "2026-11"
    assert review_period(NOW, "UTC", "quarter") == "2026-Q3"
    new_year = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # already January the 1st in Berlin
    assert review_period(new_year, "Europe/Berlin", "month") == "2026-12"
    assert review_period(new_year, "UTC", "month") == "2026-11"


def test_the_json_twins_mirror_the_result(db):
    with db.write() as s:
        card = build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card), "all")
        measure = build.measure(s, goal, "a", unit="%")
        build.target(s, measure, "2026-01", target=60, minimum=0, maximum=100)
        build.values(s, measure, {"2026-09": 40, "2026-10": 45, "2026-11": (50, 80)})
    public = scorecard_public(scored(db, history=3))
    found = public.perspectives[0].objectives[0].measures[0]
    assert (found.key, found.unit, found.value.n, found.score, found.colour) == ("a", "%", 80, 50, "amber")
    assert [v.value for v in found.trend] == [40, 45, 50]
    assert public.model_dump(mode="json")["perspectives"][0]["score"] == 50
    with db.read() as s:
        detail = measure_detail(s, measure=s.get(Measure, measure.id), period="2026-11", zone="UTC", min_base=30,
                                now=NOW, history=3)
    twin = measure_detail_public(detail)
    assert twin.chart.periods == ["2026-09", "2026-10", "2026-11"] and twin.chart.centre == pytest.approx(45)
    assert [t.target for t in twin.targets] == [60, 60, 60]


def test_each_table_is_read_once_whatever_the_history_and_formulas_reuse_their_inputs(db):
    from sqlalchemy import event

    with db.write() as s:
        card = build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card), "all")
        for i in range(4):
            measure = build.measure(s, goal, f"m{i}")
            build.target(s, measure, "2026-01", minimum=0, maximum=100)
            build.values(s, measure, {"2026-11": 10 * i})
        build.measure(s, goal, "total", source={"kind": "formula", "formula": "m0 + m1 + m2 + m3"})
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        counts = []
        for history in (3, 24):
            statements.clear()
            scored(db, history=history)
            counts.append(len(statements))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert counts[0] == counts[1]
    reads_of_values = [s for s in statements if "scorecard_values" in s]
    assert len(reads_of_values) == 4  # the formula read m0..m3's series, not the table again


def test_a_source_the_data_no_longer_fits_is_no_data_with_the_reason_not_an_error(db):
    with db.write() as s:
        card = build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card), "all")
        build.measure(s, goal, "gone", source={"kind": "weather"})
        build.measure(s, goal, "loop", source={"kind": "formula", "formula": "loop + 1"})
    found = measures_of(scored(db))
    assert found["gone"].status == "no data" and "source.kind" in found["gone"].value.note
    assert found["loop"].status == "no data" and found["loop"].value.note


def test_a_formula_that_names_itself_through_another_is_no_data_with_the_cycle_named(db):
    with db.write() as s:
        card = build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card), "all")
        build.measure(s, goal, "a", source={"kind": "formula", "formula": "b + 1"})
        build.measure(s, goal, "b", source={"kind": "formula", "formula": "a * 2"})
        build.measure(s, goal, "c", source={"kind": "formula", "formula": "nothing + 1"})
    found = measures_of(scored(db, history=1))
    assert "break the cycle" in found["b"].value.note and found["a"].value.note == "b has no value in 2026-11"
    assert found["a"].score is None and found["b"].score is None
    assert "'nothing', which is no measure" in found["c"].value.note
    assert len(found["a"].trend) == 2  # the previous period is always read, for its colour


def test_a_yes_no_measure_needs_no_target_row_and_a_value_neither_yes_nor_no_is_not_scored():
    measure = Measure(key="done", name="Done", scoring="yes_no", direction="up")
    assert score_value(measure, MeasuredValue("2026-11", 1.0), None).colour == "green"
    odd = score_value(measure, MeasuredValue("2026-11", 0.5), None)
    assert (odd.score, odd.colour) == (None, "none")
