"""Honest about noise: a target inside the value's interval is never a confident red or green, and a colour change
the control chart does not flag is marked as likely noise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.cases.loop_data import add_answers, month_of
from tests.helpers import apply_survey
from tests.scorecard import builders as build
from voxpop.analysis.periods import period_series
from voxpop.core import scoring
from voxpop.scorecard.evaluation import WITHIN_NOISE, evaluate, score_value
from voxpop.scorecard.measured import MeasuredValue
from voxpop.scorecard.models import Measure, MeasureTarget, Scorecard

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)
NPS = {"kind": "survey", "survey": "feedback", "metric": "nps", "question": "nps"}


def measures_of(db, period="2026-11"):
    with db.read() as s:
        card = s.scalars(select(Scorecard).where(Scorecard.key == "org")).one()
        result = evaluate(s, scorecard=card, period=period, zone="UTC", min_base=30, now=NOW)
    return {m.key: m for p in result.perspectives for o in p.objectives for m in o.measures}


def test_a_live_nps_whose_interval_holds_the_target_is_within_noise_not_red(db):
    apply_survey(db)
    # 100 answers: 40 promoters, 40 passives, 20 detractors -> NPS 20, interval about ±15
    add_answers(db, month_of(2026, 11, {10: 40, 8: 40, 3: 20}))
    with db.write() as s:
        card = build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card), "loyalty")
        for key, target in (("near", 25), ("far", 60)):
            measure = build.measure(s, goal, key, source=NPS)
            build.target(s, measure, "2026-01", target=target, minimum=0, maximum=100)
    found = measures_of(db)
    near, far = found["near"], found["far"]
    assert near.value.value == pytest.approx(20) and near.value.n == 100
    assert near.value.ci_low < 25 < near.value.ci_high
    assert near.score == pytest.approx(20)  # red on the score alone
    assert (near.colour, near.status, near.within_noise) == ("amber", WITHIN_NOISE, True)
    assert not far.value.ci_low <= 60 <= far.value.ci_high
    assert (far.colour, far.status, far.within_noise) == ("red", "off target", False)


def test_a_value_without_an_interval_is_scored_on_its_value():
    measure = Measure(key="typed", name="Typed", scoring="linear", direction="up")
    row = MeasureTarget(from_period="2026-01", target=50, minimum=0, maximum=100)
    found = score_value(measure, MeasuredValue("2026-11", 50.0, origin="manual"), row)
    assert (found.colour, found.within_noise) == ("amber", False)


@given(value=st.floats(0, 100), half_width=st.floats(0.1, 50), target=st.floats(0, 100))
def test_a_target_inside_the_interval_is_amber_and_never_a_confident_colour(value, half_width, target):
    measure = Measure(key="m", name="M", scoring="linear", direction="up")
    row = MeasureTarget(from_period="2026-01", target=target, minimum=0, maximum=100)
    measured = MeasuredValue("2026-11", value, n=100, ci_low=value - half_width, ci_high=value + half_width)
    found = score_value(measure, measured, row)
    if value - half_width <= target <= value + half_width:
        assert (found.colour, found.status, found.within_noise) == ("amber", WITHIN_NOISE, True)
    else:
        assert found.colour == scoring.colour(scoring.bounded(value)) and not found.within_noise


def _series_measure(db, key: str, series: list[float]) -> None:
    with db.write() as s:
        card = s.scalars(select(Scorecard).where(Scorecard.key == "org")).first() or build.scorecard(s)
        goal = build.objective(s, build.perspective(s, card, key), key)
        measure = build.measure(s, goal, key)
        build.target(s, measure, "2025-01", minimum=0, maximum=100)
        build.values(s, measure, dict(zip(period_series("2026-11", len(series)), series, strict=True)))


def test_a_colour_change_inside_the_limits_is_marked_as_likely_noise(db):
    # wandering around 64: amber in October, green in November, well inside the natural process limits
    _series_measure(db, "wandering", [62, 66, 63, 65, 61, 67, 64, 63, 66, 62, 64, 62, 68])
    found = measures_of(db)["wandering"]
    assert (found.previous_colour, found.colour) == ("amber", "green")
    assert found.signals == () and found.change_is_signal is False


def test_a_colour_change_the_chart_flags_is_a_signal(db):
    # steady around 50, then a clear shift to 85 in November: beyond the upper limit
    _series_measure(db, "shifted", [50, 51, 49, 50, 52, 48, 50, 51, 49, 50, 51, 85])
    found = measures_of(db)["shifted"]
    assert (found.previous_colour, found.colour) == ("amber", "green")
    assert found.change_is_signal is True
    assert any("3σ" in signal for signal in found.signals)


def test_no_change_in_colour_is_neither_signal_nor_noise(db):
    _series_measure(db, "steady", [50, 51, 49, 50, 52, 48, 50, 51, 49, 50, 51, 50])
    found = measures_of(db)["steady"]
    assert found.previous_colour == found.colour == "amber" and found.change_is_signal is None


def test_a_stabilised_measure_is_within_noise_when_its_interval_crosses_an_edge_of_the_band():
    measure = Measure(key="wait", name="Wait", scoring="stabilise", direction="middle")
    row = MeasureTarget(from_period="2026-01", low=40, high=60, minimum=0, maximum=100)
    across = score_value(measure, MeasuredValue("2026-11", 65.0, n=50, ci_low=58, ci_high=72), row)
    assert (across.colour, across.status) == ("amber", WITHIN_NOISE)
    inside = score_value(measure, MeasuredValue("2026-11", 50.0, n=50, ci_low=45, ci_high=55), row)
    assert (inside.colour, inside.status, inside.within_noise) == ("green", "on target", False)

