"""The strategy map page and its JSON twin: every staff role reads them, an unknown scorecard is a 404, a bad
period a clear 4xx, and the page carries no inline style or script."""

from __future__ import annotations

import re

import pytest

from tests.helpers import login, make_user
from tests.scorecard.test_strategy_map import linked_card, planted


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
