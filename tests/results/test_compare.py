"""The compare page and its JSON twin: this period against the previous one, each segment against the rest, the
core's tests on the database's counts, and Holm's adjustment marking only what survives it."""

from __future__ import annotations

import html
import json
import shlex
from datetime import date, datetime, timezone

import pytest
from typer.testing import CliRunner

from tests.helpers import login, make_user
from tests.results.stored import answer, shop
from tests.web.test_no_inline import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE, STYLE_ELEMENT
from voxpop.collection.filters import parse_response_filter
from voxpop.core import comparisons
from voxpop.results.compare import previous_days


def measure(data: dict, question: str, metric: str, option: str | None = None) -> dict:
    found = next(item for item in data["questions"] if item["question"] == question)
    return next(item for item in found["measures"] if item["metric"] == metric and item["option"] == option)


@pytest.mark.parametrize(("preset", "current", "previous"), [
    ("last-quarter", ("2026-07-01", "2026-09-30"), ("2026-04-01", "2026-06-30")),
    ("this-quarter", ("2026-10-01", "2026-12-06"), ("2026-07-01", "2026-09-05")),  # as many days
    ("last-month", ("2026-11-01", "2026-11-30"), ("2026-10-01", "2026-10-31")),
    ("this-year", ("2026-01-01", "2026-12-06"), ("2025-01-01", "2025-12-06")),
    ("last-30-days", ("2026-11-07", "2026-12-06"), ("2026-10-08", "2026-11-06")),
])
def test_the_previous_period_is_the_calendar_period_before_or_as_many_days_before(preset, current, previous):
    today = date(2026, 12, 6)
    days = previous_days(parse_response_filter(today=today, period=preset), today=today)
    assert [(str(side.since), str(side.until)) for side in days] == [current, previous]


@pytest.fixture
def two_months(db):
    """March 2026 against the 31 days before it (29 January to 28 February), and one response outside both."""
    shop(db)
    march, february = datetime(2026, 3, 15, 12, tzinfo=timezone.utc), datetime(2026, 2, 10, 12, tzinfo=timezone.utc)
    for index in range(40):  # March: 24 promoters, 8 passives, 8 detractors; 30 top-two CSAT; 30 bought boots
        answer(db, {"nps": 10 if index < 24 else 7 if index < 32 else 3, "csat": 5 if index < 30 else 2,
                    "bought": ["boots"] if index < 30 else ["tents"]}, when=march)
    for index in range(40):  # February: 12 promoters, 12 passives, 16 detractors; 20 top-two; 24 bought boots
        answer(db, {"nps": 10 if index < 12 else 8 if index < 24 else 2, "csat": 5 if index < 20 else 1,
                    "bought": ["boots"] if index < 24 else ["tents"]}, when=february)
    answer(db, {"nps": 0, "csat": 1}, when=datetime(2025, 12, 1, tzinfo=timezone.utc))
    return db


def test_this_period_against_the_previous_one_is_the_cores_tests_on_the_counts(client, two_months, database_url,
                                                                              monkeypatch, tmp_path):
    login(client, make_user(two_months, "viewer"))
    data = client.get("/api/v1/surveys/shop/compare?since=2026-03-01&until=2026-03-31").json()
    assert data["mode"] == "period"
    assert (data["current"], data["previous"]) == ({"since": "2026-03-01", "until": "2026-03-31"},
                                                   {"since": "2026-01-29", "until": "2026-02-28"})
    nps = measure(data, "nps", "nps")["rows"][0]
    expected = comparisons.nps_difference(a=(24, 8, 8), b=(12, 12, 16))
    assert (nps["a"]["value"], nps["a"]["n"], nps["b"]["value"], nps["b"]["n"]) == (40.0, 40, -10.0, 40)
    assert nps["difference"] == pytest.approx(expected.difference) == 50.0
    assert (nps["ci_low"], nps["ci_high"]) == pytest.approx((expected.ci_low, expected.ci_high))
    assert nps["p_value"] == pytest.approx(expected.p_value) and nps["p_holm"] == pytest.approx(expected.p_value)
    assert nps["significant"] and nps["test"] == "nps-z"
    csat = measure(data, "csat", "csat")["rows"][0]
    assert csat["difference"] == pytest.approx(comparisons.proportion_difference(a=(30, 40), b=(20, 40)).difference)
    # The options of one question are one family: boots, tents and socks (no one chose socks: p = 1).
    boots, tents = (measure(data, "bought", "share", option)["rows"][0] for option in ("boots", "tents"))
    raw = [comparisons.proportion_difference(a=(30, 40), b=(24, 40)).p_value,
           comparisons.proportion_difference(a=(10, 40), b=(16, 40)).p_value, 1.0]
    assert (boots["p_value"], tents["p_value"]) == pytest.approx(raw[:2])
    assert (boots["p_holm"], tents["p_holm"]) == pytest.approx(comparisons.holm(raw)[:2])
    assert data["findings"][0].startswith("NPS of “How likely are you to recommend us?” is 50 points higher from "
                                          "2026-03-01 to 2026-03-31 than from 2026-01-29 to 2026-02-28: 40 against −10")
    page = client.get("/surveys/shop/compare?since=2026-03-01&until=2026-03-31")
    assert page.status_code == 200 and data["findings"][0] in html.unescape(page.text)
    assert "Compared with: 2026-01-29 to 2026-02-28" in page.text
    commands = next(item for item in data["questions"] if item["question"] == "nps")["commands"]
    assert commands[1] == ("voxpop metrics --survey shop --question nps --metric nps --since 2026-01-29 "
                           "--until 2026-02-28 --format json")
    from voxpop.cli import app
    from voxpop.settings import get_settings

    monkeypatch.setenv("VOXPOP_DATABASE_URL", database_url)
    monkeypatch.setenv("VOXPOP_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        printed = [json.loads(CliRunner().invoke(app, shlex.split(command)[1:]).stdout)["rows"][0]
                   for command in commands]
    finally:
        get_settings.cache_clear()
    assert [(row["value"], row["n"]) for row in printed] == [(40.0, 40), (-10.0, 40)]
    assert (printed[0]["ci_low"], printed[1]["ci_high"]) == pytest.approx((nps["a"]["ci_low"], nps["b"]["ci_high"]))


@pytest.fixture
def segments(db):
    """Four segments of 40 and one of 5. NPS: A 75, the others 0, so A survives Holm. CSAT: A 70% against 50%, a
    raw p of about 0.03 that four comparisons at once do not survive. E is a low base, however different."""
    shop(db)
    for segment in "ABCD":
        for index in range(40):
            if segment == "A":
                scores = {"nps": 10 if index < 30 else 8, "csat": 5 if index < 28 else 2}
            else:
                scores = {"nps": 10 if index < 10 else 8 if index < 30 else 3, "csat": 5 if index < 20 else 2}
            answer(db, scores, segment=segment)
    for _ in range(5):
        answer(db, {"nps": 10, "csat": 5}, segment="E")
    return db


def test_holm_marks_only_the_differences_that_survive_it(client, segments):
    login(client, make_user(segments, "viewer"))
    data = client.get("/api/v1/surveys/shop/compare?mode=segment&segment_by=segment").json()
    csat = {row["segment"]: row for row in measure(data, "csat", "csat")["rows"]}
    raw = comparisons.proportion_difference(a=(28, 40), b=(60 + 5, 125))
    assert csat["A"]["p_value"] == pytest.approx(raw.p_value) and raw.p_value < 0.05  # significant alone ...
    assert csat["A"]["p_holm"] >= 0.05 and not csat["A"]["significant"]  # ... but not among four comparisons
    assert csat["A"]["p_holm"] == pytest.approx(comparisons.holm([csat[s]["p_value"] for s in "ABCD"])[0])
    nps = {row["segment"]: row for row in measure(data, "nps", "nps")["rows"]}
    assert nps["A"]["significant"] and nps["A"]["p_holm"] < 0.05
    # A low base is shown with its figure, and never tested or marked.
    assert nps["E"]["a"]["low_base"] and nps["E"]["a"]["n"] == 5 and nps["E"]["p_value"] is None
    assert not nps["E"]["significant"] and csat["E"]["p_holm"] is None
    assert len([s for s in data["findings"] if "where segment is A" in s]) == 1
    assert not any("CSAT" in sentence for sentence in data["findings"])
    page = client.get("/surveys/shop/compare?mode=segment&segment_by=segment").text
    assert page.count("▲\u00a0Higher") == sum(row["significant"] and row["difference"] > 0
                                         for item in data["questions"] for m in item["measures"] for row in m["rows"])
    assert "Low base, not tested" in page


def test_segment_p_values_equal_voxpop_metrics_compare(client, segments, database_url, monkeypatch, tmp_path):
    from voxpop.cli import app
    from voxpop.settings import get_settings

    login(client, make_user(segments, "viewer"))
    data = client.get("/api/v1/surveys/shop/compare?mode=segment&segment_by=segment").json()
    monkeypatch.setenv("VOXPOP_DATABASE_URL", database_url)
    monkeypatch.setenv("VOXPOP_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        for metric in ("nps", "csat"):
            command = next(item for item in data["questions"] if item["question"] == metric)["commands"][0]
            assert command == (f"voxpop metrics --survey shop --question {metric} --metric {metric} --by segment "
                               "--compare --format json")
            result = CliRunner().invoke(app, shlex.split(command)[1:])  # the command the page shows
            assert result.exit_code == 0, result.output
            cli = {row["segment"]: row for row in json.loads(result.stdout)["rows"]}
            page = {row["segment"]: row for row in measure(data, metric, metric)["rows"]}
            for segment, row in page.items():
                assert row["a"]["value"] == pytest.approx(cli[segment]["value"])
                assert row["p_holm"] == pytest.approx(cli[segment]["p_holm"])
                assert row["significant"] == cli[segment]["significant"]
    finally:
        get_settings.cache_clear()


def test_every_figure_as_csv_with_formulas_quoted(client, db):
    shop(db)
    for index in range(3):
        answer(db, {"nps": 9, "bought": ["boots"]}, segment="=HYPERLINK(1)" if index else "SMB")
    login(client, make_user(db, "viewer"))
    response = client.get("/surveys/shop/compare?mode=segment&segment_by=segment&format=csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0].startswith("question,figure,option,segment,a_value,a_n")
    assert any(line.startswith("nps,nps,,'=HYPERLINK(1),") for line in lines)
    assert len(lines) == 1 + 2 * (1 + 3)  # NPS and the three options of `bought`, for each of the two segments


@pytest.mark.parametrize(("query", "parameter"), [
    ("mode=sideways", "mode"),
    ("mode=segment&segment_by=planet", "segment_by"),
    ("mode=period", "period"),
    ("confidence=0.5", "confidence"),
    ("since=2026-13-01", "since"),
    ("answer=nothere:5", "answer"),
    ("format=pdf", "format"),
])
def test_bad_parameters_are_a_400_page_and_a_422_problem_naming_them(client, db, query, parameter):
    shop(db)
    answer(db, {"nps": 9})
    login(client, make_user(db, "viewer"))
    page = client.get(f"/surveys/shop/compare?{query}")
    assert page.status_code == 400 and 'class="error-summary"' in page.text
    if parameter != "format":
        problem = client.get(f"/api/v1/surveys/shop/compare?{query}")
        assert problem.status_code == 422 and problem.headers["content-type"] == "application/problem+json"
        assert problem.json()["detail"].startswith(f"Parameter {parameter}:")


def test_every_staff_role_may_compare_and_nobody_else(client, db):
    shop(db)
    answer(db, {"nps": 9})
    assert client.get("/surveys/shop/compare", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/surveys/shop/compare").status_code == 401
    for role in ("viewer", "agent", "analyst", "manager", "admin"):
        login(client, make_user(db, role))
        page = client.get("/surveys/shop/compare")
        assert page.status_code == 200 and 'aria-current="page">Compare' in page.text, role
        assert not any(pattern.search(page.text) for pattern in (INLINE_STYLE, STYLE_ELEMENT, INLINE_SCRIPT,
                                                                  EVENT_HANDLER))
        client.cookies.clear()
    login(client, make_user(db, "viewer", "other@example.com"))
    assert client.get("/surveys/nothere/compare").status_code == 404
    assert client.get("/api/v1/surveys/nothere/compare").json()["status"] == 404
