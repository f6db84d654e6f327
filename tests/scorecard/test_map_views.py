"""The strategy map page and its JSON twin: every staff role reads them, an unknown scorecard is a 404, a bad
period a clear 4xx, and the page carries no inline style or script."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import login, make_user
from tests.scorecard.test_strategy_map import linked_card, planted
from voxpop.scorecard.map_svg import strategy_map_svg
from voxpop.scorecard.measured import ScorecardResult, ScoredObjective, ScoredPerspective
from voxpop.scorecard.models import Link


@pytest.fixture
def mapped(db):
    cause, effect = planted()
    linked_card(db, cause_values=cause, effect_values=effect, names=("People <b>trained</b>", "Loyal customers"))


def test_the_page_shows_the_map_and_the_links_table_to_every_staff_role(client, db, mapped):
    for role in ("viewer", "agent", "analyst", "manager", "admin"):
        client.cookies.clear()
        login(client, make_user(db, role))
        page = client.get("/scorecards/org/map?period=2026-11")
        assert page.status_code == 200, (role, page.text[:300])
    html = page.text
    assert 'role="img"' in html and "Strategy map of Northwind, 2026-11" in html
    assert 'data-testid="map-links"' in html and "Supported" in html and "People &lt;b&gt;trained&lt;/b&gt;" in html
    assert "<b>trained</b>" not in html
    assert not re.search(r"\sstyle=", html) and "<script>" not in html and "<style" not in html
    assert "/static/scorecard-map.css" in html


def test_the_json_twin_has_the_objectives_and_each_link_tested(client, db, mapped):
    login(client, make_user(db, "viewer"))
    body = client.get("/api/v1/scorecards/org/map", params={"period": "2026-11"}).json()
    assert body["key"] == "org" and body["period"] == "2026-11" and body["history"] == 24
    assert {objective["name"] for objective in body["objectives"]} == {"People <b>trained</b>", "Loyal customers"}
    (link,) = body["links"]
    assert link["number"] == 1 and link["verdict"] == "supported" and link["lag"] == 1 and link["needed"] == 30
    assert link["lagged"]["n"] == 23 and link["lagged"]["ci_low"] > 0 and len(link["cross"]) == 7
    assert link["strongest_lag"] == 1 and link["pooled"] is None


def test_unknown_scorecards_and_bad_periods_are_refused_clearly(client, db, mapped):
    login(client, make_user(db, "viewer"))
    assert client.get("/scorecards/nope/map").status_code == 404
    missing = client.get("/api/v1/scorecards/nope/map")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    page = client.get("/scorecards/org/map?period=2026-13")
    assert page.status_code == 400 and "write a month as 2026-11" in page.text
    bad = client.get("/api/v1/scorecards/org/map", params={"period": "November"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "period"
    future = client.get("/api/v1/scorecards/org/map", params={"period": "2999-01"})
    assert future.status_code == 422 and "has not started yet" in future.json()["detail"]


def test_the_map_needs_a_login(client, mapped):
    page = client.get("/scorecards/org/map", follow_redirects=False)
    assert page.status_code in (303, 401)
    assert client.get("/api/v1/scorecards/org/map").status_code == 401


# ---- the drawing (map_svg): arrows never cross a box, numbers sit clear, names wrap --------------------------------

SVG = "{http://www.w3.org/2000/svg}"
NAMES = ["Grow revenue from the customers we have", "Customers who recommend us", "Every segment served well",
         "Easy to buy from and to set up", "Support that satisfies", "Staff who recommend Northwind as a place to work"]


def map_of(bands: list[list[str]], pairs: list[tuple[int, int]], verdicts: dict[int, str] | None = None):
    """What strategy_map_svg takes: objectives named by band (ids from 1 in reading order), links between ids."""
    perspectives, next_id = [], 1
    for index, names in enumerate(bands):
        listed = []
        for name in names:
            listed.append(ScoredObjective(next_id, f"o{next_id}", name, None, 1.0, 50.0, "amber"))
            next_id += 1
        perspectives.append(ScoredPerspective(index + 1, f"p{index}", f"Perspective {index}", 50.0, "amber",
                                              tuple(listed)))
    result = ScorecardResult(1, "org", "Northwind", "2026-11", 50.0, "amber", False, tuple(perspectives))
    links = [Link(id=number, cause_id=cause, effect_id=effect, polarity=1, lag=1, strength="moderate")
             for number, (cause, effect) in enumerate(pairs, start=1)]
    tests = [SimpleNamespace(link_id=link_id, verdict=verdict, cause="cause", effect="effect")
             for link_id, verdict in (verdicts or {}).items()]  # a link without one is drawn "not tested"
    return result, links, tests


def drawn(bands: list[list[str]], pairs: list[tuple[int, int]], verdicts: dict[int, str] | None = None):
    """The map, parsed."""
    return ET.fromstring(strategy_map_svg(*map_of(bands, pairs, verdicts)))


def boxes_of(root) -> list[tuple[float, float, float, float]]:
    return [(float(rect.get("x")), float(rect.get("y")), float(rect.get("x")) + float(rect.get("width")),
             float(rect.get("y")) + float(rect.get("height"))) for rect in root.iter(f"{SVG}rect")
            if rect.get("class") == "objective-box"]


def path_points(d: str, steps: int = 30) -> list[tuple[float, float]]:
    """Points along an SVG path of M, L, Q and C commands with absolute coordinates."""
    tokens = re.findall(r"[MLQC]|-?\d+(?:\.\d+)?", d)
    points, here, index = [], (0.0, 0.0), 0
    while index < len(tokens):
        command, index = tokens[index], index + 1
        count = {"M": 1, "L": 1, "Q": 2, "C": 3}[command]
        xy = [float(token) for token in tokens[index:index + 2 * count]]
        index += 2 * count
        controls = [here] + [(xy[k], xy[k + 1]) for k in range(0, len(xy), 2)]
        if command == "M":
            here = controls[-1]
            points.append(here)
            continue
        for step in range(1, steps + 1):
            t = step / steps
            layer = controls
            while len(layer) > 1:  # de Casteljau
                layer = [((1 - t) * a[0] + t * b[0], (1 - t) * a[1] + t * b[1]) for a, b in zip(layer, layer[1:])]
            points.append(layer[0])
        here = controls[-1]
    return points


def inside(point, box, margin=0.0) -> bool:
    left, top, right, bottom = box
    return left - margin < point[0] < right + margin and top - margin < point[1] < bottom + margin


def arrows_of(root) -> list[list[tuple[float, float]]]:
    """Points along each arrow: a straight one is a line, one that bends a path."""
    arrows = []
    for group in root.iter(f"{SVG}g"):
        if not group.get("class", "").startswith("link "):
            continue
        line = group.find(f"{SVG}line")
        d = group.find(f"{SVG}path").get("d") if line is None else "M{x1},{y1} L{x2},{y2}".format(**line.attrib)
        arrows.append(path_points(d))
    return arrows


def badges_of(root) -> list[tuple[float, float]]:
    return [(float(circle.get("cx")), float(circle.get("cy"))) for circle in root.iter(f"{SVG}circle")]


def clear_of(point, box) -> float:
    left, top, right, bottom = box
    return math.hypot(max(left - point[0], 0, point[0] - right), max(top - point[1], 0, point[1] - bottom))


def test_neighbours_in_one_band_are_joined_by_a_visible_arc_over_their_boxes():
    root = drawn([["Reach unhappy customers fast", "Win back unhappy customers", "Hand-offs closed on time"]],
                 [(1, 2)])
    (arrow,) = arrows_of(root)
    (first, second, _) = boxes_of(root)
    assert arrow[0][1] < first[1] and arrow[-1][1] < second[1]  # leaves and enters the tops
    assert min(y for _, y in arrow) <= first[1] - 20  # it rises into the lane above the boxes, clearly seen
    assert sum(math.dist(a, b) for a, b in zip(arrow, arrow[1:])) > 100
    (badge,) = badges_of(root)
    assert all(clear_of(badge, box) >= 10 for box in boxes_of(root))


def test_the_reviewers_map_draws_no_arrow_under_a_box_and_no_number_on_a_name():
    """The demo's layout: a link within the customer band over the box between, one from learning and growth to the
    customer band past the internal process band, and neighbours in that band."""
    root = drawn([NAMES[:3], NAMES[1:5], ["Reach unhappy customers fast", "Win back unhappy customers",
                                          "Hand-offs between teams closed on time"], [NAMES[5], "Staff skilled"]],
                 [(7, 5), (11, 7), (8, 9), (4, 1)])
    boxes = boxes_of(root)
    for arrow in arrows_of(root):
        assert not any(inside(point, box) for point in arrow for box in boxes)
    badges = badges_of(root)
    assert len(badges) == 4
    assert all(clear_of(badge, box) >= 10 for badge in badges for box in boxes)
    assert all(math.dist(a, b) >= 20 for a, b in itertools.combinations(badges, 2))


def test_a_contradicted_link_keeps_its_cross_off_the_boxes():
    root = drawn([["Cause"], ["Effect"]], [(1, 2)], verdicts={1: "contradicted"})
    (cross,) = [path for path in root.iter(f"{SVG}path") if path.get("class") == "link-cross"]
    start = [float(value) for value in re.findall(r"-?\d+(?:\.\d+)?", cross.get("d"))[:2]]
    assert all(clear_of((start[0] + dx, start[1] + dy), box) > 0 for dx in (0, 14) for dy in (0, 14)
               for box in boxes_of(root))


def test_long_names_wrap_on_up_to_three_lines_and_only_a_name_too_long_for_them_is_cut():
    root = drawn([[NAMES[5], "Staff skilled", "Third", "Fourth"]], [])
    names = [box for box in root.iter(f"{SVG}text") if box.get("class", "").startswith("objective-name")]
    lines = [span.text for span in names[0].iter(f"{SVG}tspan")]
    assert 2 <= len(lines) <= 3 and " ".join(lines) == NAMES[5] and "…" not in "".join(lines)
    lengthy = "A very long objective name that goes on and on about everything the company would like to be " * 2
    root = drawn([[lengthy, "Two", "Three", "Four"]], [])
    (name, *_) = [box for box in root.iter(f"{SVG}text") if box.get("class", "").startswith("objective-name")]
    lines = [span.text for span in name.iter(f"{SVG}tspan")]
    assert len(lines) == 3 and lines[-1].endswith("…") and name.get("class") == "objective-name objective-name-small"
    assert root.find(f"{SVG}g[@class='objective objective-amber']/{SVG}title").text.startswith(lengthy.strip())


def test_names_are_escaped_in_every_line():
    svg = strategy_map_svg(*map_of([['<script>alert("x")</script> & a long name over two lines', "B"]], [(1, 2)]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = drawn([['<script>alert("x")</script> & a long name over two lines', "B"]], [(1, 2)])
    spans = [span.text for span in root.iter(f"{SVG}tspan")]
    assert '<script>alert("x")</script>' in " ".join(spans)  # parsed back: it was escaped in the markup


@st.composite
def maps(draw):
    bands = draw(st.lists(st.integers(1, 6), min_size=1, max_size=4))
    names = [[draw(st.sampled_from(NAMES)) for _ in range(count)] for count in bands]
    total = sum(bands)
    pairs = draw(st.lists(st.tuples(st.integers(1, total), st.integers(1, total)).filter(lambda pair: pair[0] != pair[1]),
                          max_size=6, unique=True))
    return names, pairs


@settings(max_examples=80, deadline=None)
@given(maps())
def test_no_arrow_ever_passes_through_a_box_and_every_number_is_off_the_boxes(drawing):
    names, pairs = drawing
    root = drawn(names, pairs)
    boxes = boxes_of(root)
    arrows = arrows_of(root)
    assert len(arrows) == len(pairs)
    for arrow in arrows:
        assert not any(inside(point, box) for point in arrow for box in boxes)
        assert sum(math.dist(a, b) for a, b in zip(arrow, arrow[1:])) >= 30  # long enough to see
    for badge in badges_of(root):
        assert all(clear_of(badge, box) >= 10 for box in boxes)  # the circle (radius 10) off every box
