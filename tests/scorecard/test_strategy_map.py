"""The strategy map's links tested on measures' series read through scorecard.sources, and the map drawn as SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select

from tests.scorecard import builders as build
from voxpop.analysis.periods import period_series
from voxpop.scorecard.evaluation import evaluate
from voxpop.scorecard.map_svg import strategy_map_svg
from voxpop.scorecard.models import Link, Scorecard
from voxpop.scorecard.strategy_map import test_links as tested_links

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)
MONTHS = period_series("2026-11", 24)
SVG = "{http://www.w3.org/2000/svg}"


def linked_card(db, *, cause_values, effect_values, polarity=1, lag=1, strength="strong", unit_attribute=None,
                names=("Trained staff", "Loyal customers")):
    """Two objectives in two perspectives, each with a manual measure holding the given values, and a link."""
    with db.write() as s:
        card = build.scorecard(s, "org", name="Northwind")
        customer = build.perspective(s, card, "customer", position=0)
        learning = build.perspective(s, card, "learning", name="Learning and growth", position=1)
        cause = build.objective(s, learning, "training")
        cause.name = names[0]
        effect = build.objective(s, customer, "loyalty")
        effect.name = names[1]
        cause_measure = build.measure(s, cause, "trained")
        effect_measure = build.measure(s, effect, "nps")
        build.values(s, cause_measure, {m: v for m, v in zip(MONTHS, cause_values, strict=False) if v is not None})
        build.values(s, effect_measure, {m: v for m, v in zip(MONTHS, effect_values, strict=False) if v is not None})
        s.add(Link(scorecard_id=card.id, cause_id=cause.id, effect_id=effect.id, polarity=polarity, lag=lag,
                   strength=strength, unit_attribute=unit_attribute))
        s.flush()
        return card.id


def link_tests(db, period="2026-11", periods=24):
    with db.read() as s:
        card = s.scalars(select(Scorecard).where(Scorecard.key == "org")).one()
        return tested_links(s, scorecard=card, period=period, zone="UTC", min_base=30, now=NOW, periods=periods)


def planted(seed=11, lag=1, slope=0.9):
    rng = np.random.default_rng(seed)
    cause = 50 + 10 * rng.normal(size=24)
    effect = np.full(24, np.nan)
    effect[lag:] = 20 + slope * (cause[:-lag] - 50) + 3 * rng.normal(size=24 - lag)
    return [float(v) for v in cause], [None if np.isnan(v) else float(v) for v in effect]


def test_a_planted_link_is_found_at_its_lag_and_supported(db):
    cause, effect = planted()
    linked_card(db, cause_values=cause, effect_values=effect)
    (found,) = link_tests(db)
    assert (found.cause, found.effect, found.cause_measure, found.effect_measure) == (
        "Trained staff", "Loyal customers", "Trained", "Nps")
    assert found.lagged.lag == 1 and found.lagged.n == 23 and found.lagged.ci_low > 0
    assert found.strongest_lag == 1 and [item.lag for item in found.cross] == list(range(7))
    assert found.verdict == "supported" and found.needed == 30
    assert found.sentence.startswith("Supported: r ") and "over 23 pairs of months" in found.sentence


def test_the_opposite_sign_is_contradicted(db):
    cause, effect = planted()
    linked_card(db, cause_values=cause, effect_values=effect, polarity=-1)
    (found,) = link_tests(db)
    assert found.verdict == "contradicted"
    assert "declared more cause, less effect" in found.sentence


def test_a_short_series_says_how_many_periods_are_needed(db):
    rng = np.random.default_rng(3)
    twelve = [None] * 12
    linked_card(db, cause_values=twelve + list(rng.normal(size=12)), effect_values=twelve + list(rng.normal(size=12)),
                strength="moderate")
    (found,) = link_tests(db)
    assert found.lagged.n == 11  # months without data on either side are left out, never counted as zero
    if found.verdict == "not enough periods":
        assert "a moderate link needs 85 pairs" in found.sentence


def test_a_link_at_a_lag_other_than_the_strongest_says_where_it_is_strongest(db):
    cause, effect = planted(lag=3)
    linked_card(db, cause_values=cause, effect_values=effect, lag=0)
    (found,) = link_tests(db)
    assert found.strongest_lag == 3
    assert "strongest at a lag of 3 months" in found.sentence


def test_units_of_a_manual_measure_are_said_to_be_missing(db):
    cause, effect = planted()
    linked_card(db, cause_values=cause, effect_values=effect, unit_attribute="segment")
    (found,) = link_tests(db)
    assert found.pooled is None and found.verdict == "supported"
    assert "No pooled test by segment: " in found.sentence


def test_an_objective_without_a_measure_cannot_be_tested(db):
    with db.write() as s:
        card = build.scorecard(s, "org")
        customer = build.perspective(s, card)
        cause, effect = build.objective(s, customer, "people"), build.objective(s, customer, "loyalty", position=1)
        build.measure(s, effect, "nps")
        s.add(Link(scorecard_id=card.id, cause_id=cause.id, effect_id=effect.id))
    (found,) = link_tests(db)
    assert found.verdict == "not enough periods" and found.lagged is None
    assert "the objective 'People' has no measure to test" in found.sentence


def test_the_map_draws_bands_boxes_and_arrows_by_verdict_with_every_text_escaped(db):
    cause, effect = planted()
    linked_card(db, cause_values=cause, effect_values=effect, polarity=-1,
                names=('Staff <script>alert("x")</script>', "Loyal & happy"))
    with db.read() as s:
        card = s.scalars(select(Scorecard).where(Scorecard.key == "org")).one()
        result = evaluate(s, scorecard=card, period="2026-11", zone="UTC", min_base=30, now=NOW, history=1)
        links = list(s.scalars(select(Link)))
        tests = tested_links(s, scorecard=card, period="2026-11", zone="UTC", min_base=30, now=NOW)
        svg = strategy_map_svg(result, links, tests)
    assert "<script" not in svg and "style=" not in svg
    root = ET.fromstring(svg)  # well-formed XML
    assert root.get("role") == "img" and root.get("aria-labelledby") == "strategy-map-title strategy-map-desc"
    assert root.find(f"{SVG}title").text == "Strategy map of Northwind, 2026-11"
    assert "1 contradicted" in root.find(f"{SVG}desc").text
    bands = [group for group in root.iter(f"{SVG}g") if "band" in group.get("class", "").split()]
    assert [band.find(f"{SVG}text").text for band in bands] == ["Customer", "Learning and growth"]  # by position
    boxes = [group for group in root.iter(f"{SVG}g") if group.get("class", "").startswith("objective ")]
    assert {box.find(f"{SVG}title").text.split(":")[0] for box in boxes} == {
        'Staff <script>alert("x")</script>', "Loyal & happy"}
    (arrow,) = [group for group in root.iter(f"{SVG}g") if group.get("class", "").startswith("link ")]
    (label,) = [group for group in root.iter(f"{SVG}g") if group.get("class", "").startswith("link-label ")]
    assert arrow.get("class") == "link link-contradicted" and label.get("class") == "link-label link-contradicted"
    assert arrow.find(f"{SVG}title").text.endswith(": contradicted")
    assert label.find(f"{SVG}path").get("class") == "link-cross" and label.find(f"{SVG}text").text == "1"
    line = arrow.find(f"{SVG}line")
    assert float(line.get("y1")) > float(line.get("y2"))  # from the learning band up to the customer band


def test_a_link_by_unit_is_tested_pooled_across_the_units_from_the_rollups(db):
    from tests.cases.loop_data import add_answers, month_of
    from tests.helpers import apply_survey

    apply_survey(db)
    rng = np.random.default_rng(5)
    months = period_series("2026-11", 12)
    for channel in ("app", "web", "store", "phone"):
        satisfied = rng.integers(2, 9, size=len(months))  # of 10 answers in the month
        answers = []
        for index, month in enumerate(months):
            year, number = map(int, month.split("-"))
            answers += month_of(year, number, {5: int(satisfied[index]), 1: 10 - int(satisfied[index])},
                                question="csat")
            if index + 1 < len(months):  # next month's NPS follows this month's CSAT, give or take one promoter
                promoters = int(np.clip(satisfied[index] + rng.integers(-1, 2), 0, 10))
                following_year, following = map(int, months[index + 1].split("-"))
                answers += month_of(following_year, following, {10: promoters, 0: 10 - promoters}, day=20)
        add_answers(db, answers, channel=channel)
    with db.write() as s:
        card = build.scorecard(s, "org")
        customer = build.perspective(s, card, "customer")
        satisfaction = build.objective(s, customer, "satisfaction")
        loyalty = build.objective(s, customer, "loyalty", position=1)
        build.measure(s, satisfaction, "csat", source={"kind": "survey", "survey": "feedback", "metric": "csat",
                                                       "question": "csat"})
        build.measure(s, loyalty, "nps", source={"kind": "survey", "survey": "feedback", "metric": "nps",
                                                 "question": "nps"})
        s.add(Link(scorecard_id=card.id, cause_id=satisfaction.id, effect_id=loyalty.id, polarity=1, lag=1,
                   strength="strong", unit_attribute="channel"))
    with db.read() as s:
        card = s.scalars(select(Scorecard).where(Scorecard.key == "org")).one()
        (found,) = tested_links(s, scorecard=card, period="2026-11", zone="UTC", min_base=1, now=NOW, periods=12)
    assert found.pooled is not None and found.pooled.units == 4 and found.pooled.n == 44
    assert found.pooled.ci_low > 0 and found.verdict == "supported"
    assert found.sentence.startswith("Supported: pooled over 4 channel units, the effect 1 month later moves ")


def test_a_measure_without_data_or_whose_source_cannot_be_read_is_said_not_raised(db):
    from voxpop.scorecard.models import Measure

    cause, effect = planted()
    linked_card(db, cause_values=cause, effect_values=effect)
    with db.write() as s:
        trained = s.scalars(select(Measure).where(Measure.key == "trained")).one()
        trained.source = {"kind": "survey", "survey": "gone", "metric": "nps", "question": "nps"}
    (found,) = link_tests(db)
    assert found.verdict == "not enough periods" and found.lagged is None
    assert found.sentence.startswith("Not enough periods to tell: 'Trained' has no value in the 24 months up to "
                                     "2026-11")
    with db.write() as s:
        s.scalars(select(Measure).where(Measure.key == "trained")).one().source = {"kind": "survey"}
    (found,) = link_tests(db)
    assert found.verdict == "not enough periods"
    assert found.sentence.startswith("Not enough periods to tell: a measure's source cannot be read: ")
