"""The key-drivers page and its JSON twin: the figures `voxpop drivers` gives for the same survey and questions,
under the response filter, with a sentence instead of figures when the data cannot give them."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.helpers import login, make_user
from tests.results.stored import answer, shop
from tests.web.test_no_inline import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE, STYLE_ELEMENT
from voxpop.metrics import drivers

DRIVER_FIELDS = ("raw_weight", "rescaled", "ci_low", "ci_high", "raw_ci_low", "raw_ci_high", "performance")


@pytest.fixture
def scored(db):
    """60 responses whose NPS follows quality more than CSAT; a few skip a driver (left out, listwise)."""
    shop(db)
    rng = random.Random(13)
    rows = []
    for index in range(60):
        quality, csat = rng.randint(1, 5), rng.randint(1, 5)
        nps = max(0, min(10, round(1.4 * quality + 0.5 * csat + rng.gauss(0, 1.5))))
        row = {"nps": nps, "quality": quality, "csat": None if index % 15 == 0 else csat}
        rows.append(row | {"segment": "SMB" if index % 3 else "Enterprise"})
        answer(db, {name: value for name, value in row.items() if value is not None}, segment=rows[-1]["segment"])
    db.rows = pd.DataFrame(rows)
    return db


def test_the_page_gives_the_figures_of_voxpop_drivers(client, scored, database_url, monkeypatch, tmp_path):
    from voxpop.cli import app
    from voxpop.settings import get_settings

    login(client, make_user(scored, "analyst"))
    query = "outcome=nps&driver=quality&driver=csat&resamples=200&seed=7"
    data = client.get(f"/api/v1/surveys/shop/drivers?{query}").json()
    monkeypatch.setenv("VOXPOP_DATABASE_URL", database_url)
    monkeypatch.setenv("VOXPOP_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["drivers", "--survey", "shop", "--outcome", "nps", "--driver", "quality",
                                          "--driver", "csat", "--bootstrap", "200", "--seed", "7", "--format", "json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)
    assert data["command"] == ("voxpop drivers --survey shop --outcome nps --driver quality --driver csat "
                               "--bootstrap 200 --seed 7")
    assert (data["n"], data["resamples"], data["seed"]) == (cli["n"], cli["resamples"], cli["seed"]) == (56, 200, 7)
    assert data["r_squared"] == pytest.approx(cli["r_squared"], rel=1e-9)
    assert [row["driver"] for row in data["rows"]] == [row["driver"] for row in cli["rows"]] == ["quality", "csat"]
    for page_row, cli_row in zip(data["rows"], cli["rows"]):
        assert page_row["quadrant"] == cli_row["quadrant"]
        for name in DRIVER_FIELDS:
            assert page_row[name] == pytest.approx(cli_row[name], rel=1e-9), name
    csv_lines = client.get(f"/surveys/shop/drivers?{query}&format=csv").text.splitlines()
    assert csv_lines[0] == "driver,raw_weight,rescaled,ci_low,ci_high,raw_ci_low,raw_ci_high,performance,quadrant,n,r_squared"
    assert csv_lines[1].startswith("quality,") and csv_lines[1].endswith(f",56,{data['r_squared']!r}")


def test_the_filter_narrows_the_responses_and_the_defaults_take_every_other_scored_question(client, scored):
    login(client, make_user(scored, "viewer"))
    data = client.get("/api/v1/surveys/shop/drivers?attribute=segment%3DSMB&resamples=0").json()
    assert (data["outcome"], data["drivers"]) == ("nps", ["csat", "quality"])  # not ease: no one answered it
    assert data["notes"] == []  # both on 1–5
    smb = scored.rows[scored.rows.segment == "SMB"][["nps", "csat", "quality"]]
    expected = drivers(smb, outcome="nps", drivers=["csat", "quality"])
    assert data["n"] == expected["n"] == len(smb.dropna()) and data["command"] is None
    assert data["r_squared"] == pytest.approx(expected["r_squared"])
    assert {row["driver"]: row["rescaled"] for row in data["rows"]} == pytest.approx(
        {row["driver"]: row["rescaled"] for row in expected["rows"]})
    assert all(row["ci_low"] is None for row in data["rows"])
    page = client.get("/surveys/shop/drivers?attribute=segment%3DSMB&driver=csat&driver=quality")
    assert page.status_code == 200 and '<svg class="chart-plot"' in page.text
    assert not any(pattern.search(page.text) for pattern in (INLINE_STYLE, STYLE_ELEMENT, INLINE_SCRIPT, EVENT_HANDLER))
    assert any(quadrant in page.text for quadrant in ("Fix first", "Keep up", "Secondary", "Possible overkill"))
    assert "voxpop drivers --survey" not in page.text  # the command takes no filter, so none is offered


def test_too_few_complete_responses_is_a_sentence_not_an_error(client, db):
    shop(db)
    answer(db, {"nps": 9, "quality": 4, "csat": 5})
    answer(db, {"nps": 3, "quality": 2})
    login(client, make_user(db, "viewer"))
    page = client.get("/surveys/shop/drivers?driver=quality&driver=csat")
    assert page.status_code == 200 and "Not enough data for key drivers" in page.text and "at least 3" in page.text
    problem = client.get("/api/v1/surveys/shop/drivers?driver=quality&driver=csat")
    assert problem.status_code == 422 and problem.json()["type"] == "urn:voxpop:problem:not-enough-data"


@pytest.mark.parametrize(("query", "parameter"), [
    ("outcome=why", "outcome"),
    ("outcome=nothere", "outcome"),
    ("driver=nothere", "driver"),
    ("driver=agree", "driver"),
    ("outcome=nps&driver=nps", "driver"),
    ("confidence=1", "confidence"),
    ("until=yesterday", "until"),
])
def test_bad_parameters_are_a_400_page_and_a_422_problem_naming_them(client, db, query, parameter):
    shop(db)
    answer(db, {"nps": 9, "quality": 4})
    login(client, make_user(db, "viewer"))
    page = client.get(f"/surveys/shop/drivers?{query}")
    assert page.status_code == 400 and 'class="error-summary"' in page.text
    problem = client.get(f"/api/v1/surveys/shop/drivers?{query}")
    assert problem.status_code == 422 and problem.json()["detail"].startswith(f"Parameter {parameter}:")
    assert client.get(f"/api/v1/surveys/shop/drivers?resamples=-1&{query}").status_code == 422


def test_staff_only(client, db):
    shop(db)
    assert client.get("/surveys/shop/drivers", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/surveys/shop/drivers").status_code == 401
    login(client, make_user(db, "viewer"))
    assert 'aria-current="page">Drivers' in client.get("/surveys/shop/drivers").text
    assert client.get("/surveys/nothere/drivers").status_code == 404


def test_drivers_on_unlike_scales_are_computed_with_a_note_on_the_quadrants(client, db):
    shop(db)
    for nps, quality, ease in [(9, 4, 6), (3, 2, 3), (7, 3, 6), (10, 5, 5), (5, 3, 2), (8, 4, 7)]:
        answer(db, {"nps": nps, "quality": quality, "ease": ease})
    login(client, make_user(db, "viewer"))
    data = client.get("/api/v1/surveys/shop/drivers?driver=quality&driver=ease&resamples=0").json()
    assert data["n"] == 6 and data["notes"][0].startswith("The drivers are on different scales (quality 1–5, ease 1–7)")


def test_the_quadrant_chart_places_each_driver_at_its_performance_and_importance():
    from voxpop.web import charts

    chart = charts.quadrant_chart(
        [charts.QuadrantPoint("quality", 3.1, 80.0, 70.0, 90.0, "quality"),
         charts.QuadrantPoint("csat", 3.9, 20.0, None, None, "csat")],
        title="t", x_title="x", y_title="Importance (% of R²)", mean_performance=3.5, mean_importance=50.0)
    ticks = [float(tick.label) for tick in chart.x_ticks]
    low, high = ticks[0], ticks[-1]
    assert low < 3.1 and high >= 3.9  # room to the left for the names, which sit left of their points
    assert [point.x for point in chart.points] == pytest.approx([100 * (3.1 - low) / (high - low),
                                                                 100 * (3.9 - low) / (high - low)], abs=0.01)
    assert [point.note for point in chart.points] == ["quality", "csat"]
    assert [line.kind for line in chart.lines] == ["limit", "limit", "centre"]  # two means, one interval
    assert chart.points[0].y < chart.points[1].y  # more important is higher up
