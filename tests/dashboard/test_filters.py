"""The dashboard filtered: days and one attribute from the rollups, anything else counted from the answers, and
both ways agreeing where both can answer; the page and its JSON twin take the response filter's parameters."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.helpers import apply_survey, login, make_user
from voxpop.analysis.rollups import rebuild_store
from voxpop.collection.filters import parse_response_filter, response_conditions
from voxpop.collection.service import version_questions
from voxpop.collection.writer import insert_response
from voxpop.dashboard.metrics import answer_counts, rollup_counts
from voxpop.surveys.models import Survey
from voxpop.web.app import create_app

ZONE = "Europe/Berlin"
# (moment in UTC, nps, csat, channel, segment): in Berlin, 28 February 23:30 is already March (CET), 31 March
# 22:30 already April (CEST), and 30 June 21:59 still June.
ANSWERS = [
    (datetime(2026, 1, 5, 9), 10, 5, "web", "SMB"), (datetime(2026, 1, 20, 9), 3, 2, "store", "SMB"),
    (datetime(2026, 2, 3, 9), 9, 4, "web", "Enterprise"), (datetime(2026, 2, 28, 23, 30), 6, 3, "web", "SMB"),
    (datetime(2026, 3, 15, 9), 8, 4, "store", "Enterprise"), (datetime(2026, 3, 31, 22, 30), 2, 1, "web", "SMB"),
    (datetime(2026, 4, 10, 9), 10, 5, "web", "SMB"), (datetime(2026, 4, 11, 9), 0, 1, "store", "SMB"),
    (datetime(2026, 5, 2, 9), 7, 4, "web", "Enterprise"), (datetime(2026, 5, 30, 9), 9, 5, "store", "SMB"),
    (datetime(2026, 6, 30, 21, 59), 5, 2, "web", "Enterprise"), (datetime(2026, 6, 30, 22, 1), 10, 5, "web", "SMB"),
]


@pytest.fixture
def answered(db):
    apply_survey(db)
    with db.read() as db_session:
        survey = db_session.scalar(select(Survey).where(Survey.key == "feedback"))
        version_id, survey_id = survey.current_version.id, survey.id
        questions = version_questions(db_session=db_session, version_id=version_id)
    for number, (moment, nps, csat, channel, segment) in enumerate(ANSWERS):
        answers = {"nps": nps, "csat": csat} | ({"why_low": f"comment {number}"} if nps <= 6 else {})
        with db.write_connection() as connection:
            stored = insert_response(db_session=connection, survey_id=survey_id, version_id=version_id,
                                     questions=questions, answers=answers, language="en", channel="web",
                                     attributes={"channel": channel, "segment": segment}, zone=ZONE)
            connection.execute(text("UPDATE responses SET submitted_at = :moment WHERE public_id = :id"),
                               {"moment": moment if db.is_sqlite else moment.replace(tzinfo=timezone.utc),
                                "id": stored.public_id})
    rebuild_store(db, zone=ZONE)  # the rollups of the moved responses, by the engine's own rebuild
    return db


def _normal(records):
    return sorted((record["survey"], record["question"], str(record.get("period")), int(record["n"]),
                   float(record["total"]), float(record["total_squares"]), int(record["promoters"]),
                   int(record["detractors"]), int(record["top_two"]), int(record["agree"])) for record in records)


@pytest.mark.parametrize("query", [
    {}, {"since": "2026-02-01", "until": "2026-04-30"}, {"attribute": ["channel=web", "channel=store"]},
    {"attribute": ["segment=SMB"], "until": "2026-03-31"}, {"since": "2026-04-01"},
])
def test_the_answers_count_what_the_rollups_count(answered, query):
    response_filter = parse_response_filter(today=date(2026, 7, 15), **query)
    where = (response_filter.attributes[0][0], list(response_filter.attributes[0][1])) \
        if response_filter.attributes else None
    with answered.read_connection() as connection:
        from_rollups = rollup_counts(connection, period="month", where=where, since=response_filter.since,
                                     until=response_filter.until)
        from_answers = answer_counts(connection, conditions=response_conditions(response_filter, zone=ZONE),
                                     zone=ZONE, period="month")
    assert from_rollups and _normal(from_answers) == _normal(from_rollups)


def test_months_are_the_workspace_zones(answered):
    with answered.read_connection() as connection:
        counted = answer_counts(connection, conditions=[], zone=ZONE, period="month")
    nps = {record["period"]: record["n"] for record in counted if record["question"] == "nps"}
    assert nps == {"2026-01-01": 2, "2026-02-01": 1, "2026-03-01": 2, "2026-04-01": 3, "2026-05-01": 2,
                   "2026-06-01": 1, "2026-07-01": 1}


@pytest.fixture
def staff(settings, answered):
    with TestClient(create_app(settings.model_copy(update={"timezone": ZONE}), answered)) as client:
        login(client, make_user(answered, "viewer"))
        yield client


def test_two_attributes_and_an_answer_test_filter_every_figure(staff):
    def survey(**params):
        return staff.get("/api/v1/dashboard", params=params).json()["surveys"][0]

    assert survey()["responses"] == 12
    web_smb = survey(attribute=["channel=web", "segment=SMB"])
    assert web_smb["responses"] == 5 and web_smb["metrics"]["nps"]["n"] == 5
    detractors = survey(answer="nps:detractors", since="2026-01-01", until="2026-06-30")
    assert detractors["responses"] == 5 and detractors["metrics"]["nps"]["value"] == -100.0
    assert detractors["metrics"]["csat"]["n"] == 5 and detractors["metrics"]["csat"]["value"] == 0.0
    satisfied = survey(answer="csat:4-5", attribute="segment=Enterprise")
    assert satisfied["responses"] == 3 and satisfied["metrics"]["nps"]["n"] == 3
    document = staff.get("/api/v1/dashboard", params={"attribute": "segment=SMB", "period": "last-year"}).json()
    assert document["filter"][1] == "segment is SMB" and document["surveys"][0]["responses"] == 0


def test_the_page_shows_the_filter_and_refuses_a_bad_one(staff):
    page = staff.get("/dashboard", params={"answer": "nps:promoters", "attribute": "channel=web"})
    assert page.status_code == 200 and 'data-testid="responses-feedback">4<' in page.text
    assert "Filter: channel is web; nps is promoters." in page.text
    assert '<option value="channel=web" selected>' in page.text
    bad = staff.get("/dashboard", params={"since": "2026-05-01", "until": "2026-04-01"})
    assert bad.status_code == 400 and "The first day (2026-05-01) is after the last day (2026-04-01); swap them." in bad.text
    assert 'data-testid="responses-feedback"' not in bad.text  # no figures that would read as unfiltered
    problem = staff.get("/api/v1/dashboard", params={"attribute": "segment"})
    assert problem.status_code == 422 and problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["errors"][0]["field"] == "attribute"


def test_latest_comments_follow_the_filter(staff):
    def comments(**params):
        return [comment["text"] for comment in staff.get("/api/v1/dashboard", params=params).json()["latest_comments"]]

    assert comments() == ["comment 10", "comment 7", "comment 5", "comment 3", "comment 1"]
    assert comments(attribute="segment=Enterprise") == ["comment 10"]
    assert comments(answer="nps:0-2", period="last-year") == []


def test_the_survey_cards_figures_as_csv_keep_the_filter(staff):
    page = staff.get("/dashboard", params={"attribute": "channel=web"})
    assert 'href="/dashboard?attribute=channel%3Dweb&amp;format=csv"' in page.text
    table = staff.get("/dashboard", params={"attribute": "channel=web", "format": "csv"})
    assert table.status_code == 200 and table.headers["content-type"] == "text/csv; charset=utf-8"
    lines = table.text.splitlines()
    assert lines[0] == "survey,title,metric,label,value,ci_low,ci_high,n,low_base"
    assert lines[1].startswith("feedback,") and lines[1].endswith(",responses,Responses,8,,,8,False")  # 8 of the 12 on the web
    assert any(line.startswith("feedback,") and ",nps,NPS," in line and line.endswith(",8,True") for line in lines)
    bad = staff.get("/dashboard", params={"since": "2026-13-01", "format": "csv"})
    assert bad.status_code == 400 and "text/html" in bad.headers["content-type"]


@pytest.mark.parametrize(("params", "field"), [({"answer": "nps"}, "answer-1"), ({"attribute": "segment"}, "attribute-1"),
                                               ({"until": "31/12/2026"}, "until")])
def test_a_filter_error_links_to_a_field_on_the_page(staff, params, field):
    bad = staff.get("/dashboard", params=params)
    assert bad.status_code == 400 and f'href="#{field}"' in bad.text and f'id="{field}"' in bad.text
