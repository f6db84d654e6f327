"""The non-response page and its JSON twin: staff only, every role reads, bad parameters named, the empty state for
open-link surveys, and no inline script or style."""

from __future__ import annotations

import pytest

from tests.helpers import login, make_user
from tests.results.nonresponse_stored import WEIGHTED_NPS, invited_audience
from tests.results.stored import answer, shop
from tests.web.test_no_inline import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE, STYLE_ELEMENT


def test_login_is_required(client, db):
    invited_audience(db, spend=False)
    assert client.get("/surveys/shop/nonresponse", follow_redirects=False).status_code in (302, 303, 401)
    assert client.get("/api/v1/surveys/shop/nonresponse").status_code == 401


@pytest.mark.parametrize("role", ["viewer", "agent", "admin"])
def test_every_role_reads_the_page_with_its_findings(client, db, role):
    invited_audience(db, spend=False)
    login(client, make_user(db, role))
    page = client.get("/surveys/shop/nonresponse")
    assert page.status_code == 200
    html = page.text
    assert "Response differs by segment" in html and "Enterprise answered least" in html
    assert "Raked on segment" in html and "What changes when weighted" in html
    assert "p &lt; 0.001, Holm-adjusted p &lt; 0.001" in html and "to 200 customers" in html
    assert 'href="/surveys/shop/nonresponse" aria-current="page"' in html
    for pattern in (INLINE_SCRIPT, INLINE_STYLE, STYLE_ELEMENT, EVENT_HANDLER):
        assert not pattern.search(html)


def test_json_twin_matches_the_page(client, db):
    invited_audience(db, spend=False)
    login(client, make_user(db, "viewer"))
    data = client.get("/api/v1/surveys/shop/nonresponse").json()
    assert (data["invited"], data["responded"]) == (200, 80)
    assert data["weighting"]["by"] == ["segment"]
    nps = next(metric for metric in data["weighting"]["metrics"] if metric["question"] == "nps")
    assert nps["weighted"]["value"] == pytest.approx(WEIGHTED_NPS) and nps["changes"]
    asked = client.get("/api/v1/surveys/shop/nonresponse?weight=region&confidence=0.99").json()
    assert asked["weighting"]["by"] == ["region"] and asked["confidence"] == 0.99


def test_bad_parameters_are_named(client, db):
    invited_audience(db, spend=False)
    login(client, make_user(db, "viewer"))
    response = client.get("/api/v1/surveys/shop/nonresponse?weight=colour")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "weight"
    assert client.get("/api/v1/surveys/shop/nonresponse?confidence=2").json()["errors"][0]["field"] == "confidence"
    assert client.get("/api/v1/surveys/shop/nonresponse?send=nope").status_code == 422
    page = client.get("/surveys/shop/nonresponse?weight=colour")
    assert page.status_code == 400 and "no categorical attribute" in page.text and "Raked on segment" in page.text
    assert client.get("/surveys/nope/nonresponse").status_code == 404
    assert client.get("/api/v1/surveys/nope/nonresponse").status_code == 404


def test_open_link_survey_shows_the_empty_state(client, db):
    shop(db)
    answer(db, {"nps": 9})
    login(client, make_user(db, "viewer"))
    page = client.get("/surveys/shop/nonresponse")
    assert page.status_code == 200
    assert "came through open links; non-response needs an invited audience" in page.text


def test_the_audience_select_lists_the_surveys_sends(client, db):
    from tests.results.test_nonresponse import _send

    invited_audience(db, spend=False)
    _send(db, "wave-1", {f"SMB-{i}" for i in range(40)} | {f"Enterprise-{i}" for i in range(40)})
    login(client, make_user(db, "viewer"))
    page = client.get("/surveys/shop/nonresponse?send=wave-1")
    assert page.status_code == 200
    assert '<option value="wave-1" selected>Send wave-1</option>' in page.text
    assert "60 of 80 invitations were answered" in page.text
