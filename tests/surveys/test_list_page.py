import csv
import io
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tests.helpers import FEEDBACK_SURVEY, apply_survey, csrf_from, login, make_user
from voxpop.accounts.models import AuditEntry, User
from voxpop.collection.models import Response
from voxpop.results import survey_list
from voxpop.surveys import service
from voxpop.surveys.models import Survey

SECOND_SURVEY = FEEDBACK_SURVEY.replace("key: feedback", "key: onboarding").replace(
    'title: {en: "How did we do?", de: "Wie war es?"}', 'title: {en: "Getting started", de: "Der Anfang"}').replace(
    "status: live", "status: draft")


def add_responses(db, key: str, *times: datetime) -> None:
    with db.write() as db_session:
        survey = service.get_by_key(db_session=db_session, key=key)
        db_session.add_all(Response(public_id=str(uuid.uuid4()), survey_id=survey.id,
                                    version_id=survey.current_version.id, language="en", channel="web",
                                    submitted_at=at) for at in times)


def set_owner(db, key: str, email: str) -> None:
    with db.write() as db_session:
        survey = service.get_by_key(db_session=db_session, key=key)
        owner = db_session.scalar(select(User).where(User.email == email))
        service.set_owner(db_session=db_session, survey=survey, owner=owner)


@pytest.fixture
def two_surveys(db):
    apply_survey(db)
    apply_survey(db, SECOND_SURVEY)
    now = datetime.now(timezone.utc)
    add_responses(db, "feedback", now - timedelta(days=40), now - timedelta(minutes=5), now - timedelta(minutes=1))
    add_responses(db, "onboarding", now - timedelta(days=800))
    make_user(db, "manager", "owner@example.com")
    set_owner(db, "feedback", "owner@example.com")
    return now


@pytest.mark.parametrize("role", ["viewer", "agent", "analyst", "manager", "admin"])
def test_every_staff_role_sees_the_list_and_only_editors_get_its_actions(client, db, two_surveys, role):
    login(client, make_user(db, role, f"{role}-user@example.com"))
    page = client.get("/surveys")
    assert page.status_code == 200
    assert "How did we do?" in page.text and "Getting started" in page.text
    assert ('href="/surveys/new"' in page.text) == (role in ("admin", "manager"))
    assert ('action="/surveys/feedback/status"' in page.text) == (role in ("admin", "manager"))
    assert 'href="/surveys/feedback/results"' in page.text


def test_the_list_needs_a_login(client, db, two_surveys):
    assert client.get("/surveys", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/surveys").status_code == 401


def test_counts_trend_owner_and_version(db, two_surveys):
    with db.read() as db_session:
        listing = survey_list.list_surveys(db_session=db_session, now=two_surveys)
    first, second = listing.surveys
    assert (first.key, first.responses, first.owner, first.version, first.status) == (
        "feedback", 3, "owner@example.com", 1, "live")
    assert len(first.monthly_responses) == 12 == len(listing.months)
    assert listing.months[-1] == two_surveys.strftime("%Y-%m")
    assert sum(first.monthly_responses) == 3 and first.monthly_responses[-1] >= 1
    # A response older than the trend's twelve months counts in the total only.
    assert (second.key, second.responses, second.monthly_responses, second.owner) == ("onboarding", 1, [0] * 12, None)


def test_search_status_and_owner_filters(client, db, two_surveys):
    login(client, make_user(db, "viewer"))
    keys = lambda query: [survey["key"] for survey in client.get(f"/api/v1/surveys?{query}").json()["surveys"]]
    assert keys("") == ["feedback", "onboarding"]
    assert keys("q=GETTING") == ["onboarding"] and keys("q=feedb") == ["feedback"]
    assert keys("q=100%25") == [] and keys("q=_") == []  # LIKE's wildcards are searched for as written
    assert keys("status=draft") == ["onboarding"] and keys("status=live") == ["feedback"]
    assert keys("owner=owner@example.com") == ["feedback"]
    page = client.get("/surveys?q=nothing-like-it")
    assert "No survey matches these filters." in page.text


def test_bad_query_values_are_clear_and_never_a_500(client, db, two_surveys):
    login(client, make_user(db, "viewer"))
    page = client.get("/surveys?status=open")
    assert page.status_code == 422 and "choose draft, live or closed" in page.text
    reply = client.get("/api/v1/surveys?status=open")
    assert reply.status_code == 422 and reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["errors"][0]["field"] == "status"
    for query in ("page=0", "page=abc", "format=xlsx", "q=" + "x" * 201):
        assert client.get(f"/surveys?{query}").status_code == 400, query
    for query in ("limit=0", "offset=-1", "limit=many"):
        assert client.get(f"/api/v1/surveys?{query}").status_code == 422, query
    assert client.get("/surveys?page=99").status_code == 200


def test_the_table_downloads_as_csv_with_the_filters(client, db, two_surveys):
    login(client, make_user(db, "viewer"))
    assert 'href="/surveys?format=csv"' in client.get("/surveys").text
    reply = client.get("/surveys?status=live&format=csv")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert [(row["key"], row["responses"], row["owner"]) for row in rows] == [("feedback", "3", "owner@example.com")]
    assert rows[0][f"responses_{two_surveys:%Y-%m}"] != ""


def test_a_title_a_spreadsheet_would_run_is_kept_as_text(db):
    apply_survey(db, FEEDBACK_SURVEY.replace('{en: "How did we do?", de: "Wie war es?"}',
                                             '{en: "=HYPERLINK(1)", de: "=HYPERLINK(1)"}'))
    with db.read() as db_session:
        text = survey_list.survey_csv(survey_list.list_surveys(db_session=db_session, now=datetime.now(timezone.utc)))
    assert "'=HYPERLINK(1)" in text


def test_more_than_fifty_surveys_are_paged(client, db):
    for number in range(53):
        apply_survey(db, FEEDBACK_SURVEY.replace("key: feedback", f"key: s{number:02d}"))
    login(client, make_user(db, "viewer"))
    first, second = client.get("/surveys").text, client.get("/surveys?page=2").text
    assert first.count('href="/surveys/s') == 50 and second.count('href="/surveys/s') == 3
    assert 'href="/surveys?page=2"' in first and "Page 1 of 2" in first
    assert client.get("/api/v1/surveys?offset=50").json()["total"] == 53


def test_status_form_needs_csrf_and_goes_back_only_within_the_site(client, db, two_surveys):
    login(client, make_user(db, "manager", "lead@example.com"))
    token = csrf_from(client.get("/surveys").text)
    assert client.post("/surveys/feedback/status", data={"status": "closed"}).status_code == 403
    reply = client.post("/surveys/feedback/status", data={"csrf_token": token, "status": "closed",
                                                          "back": "/surveys?status=live"}, follow_redirects=False)
    assert (reply.status_code, reply.headers["location"]) == (303, "/surveys?status=live")
    for elsewhere in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", ""):
        reply = client.post("/surveys/feedback/status", data={"csrf_token": token, "status": "live",
                                                              "back": elsewhere}, follow_redirects=False)
        assert reply.headers["location"] == "/surveys", elsewhere
    assert client.post("/surveys/feedback/status", data={"csrf_token": token, "status": "open"}).status_code == 400


def test_editors_set_and_clear_the_owner_and_it_is_audited(client, db, two_surveys):
    login(client, make_user(db, "admin", "boss@example.com"))
    token = csrf_from(client.get("/surveys").text)
    reply = client.post("/surveys/onboarding/owner", data={"csrf_token": token, "owner": "boss@example.com"},
                        follow_redirects=False)
    assert (reply.status_code, reply.headers["location"]) == (303, "/surveys")
    assert client.post("/surveys/onboarding/owner", data={"csrf_token": token, "owner": "nobody@example.com"}
                       ).status_code == 400
    client.post("/surveys/feedback/owner", data={"csrf_token": token, "owner": ""})
    with db.read() as db_session:
        owners = dict(db_session.execute(select(Survey.key, Survey.owner_id)).all())
        assert owners["feedback"] is None and owners["onboarding"] is not None
        entries = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "survey.owner")).all()
        assert [(entry.target, entry.details["after"]) for entry in entries] == [
            ("onboarding", "boss@example.com"), ("feedback", None)]


def test_viewers_cannot_set_an_owner(client, db, two_surveys):
    login(client, make_user(db, "viewer"))
    token = csrf_from(client.get("/surveys").text)
    assert client.post("/surveys/feedback/owner", data={"csrf_token": token, "owner": ""}).status_code == 403


def test_the_json_twin_of_one_survey_gives_its_definition_and_versions(client, db, two_surveys):
    apply_survey(db, FEEDBACK_SURVEY.replace("What did you like most?", "What did you like best?"))
    login(client, make_user(db, "viewer"))
    body = client.get("/api/v1/surveys/feedback").json()
    assert body["survey"]["responses"] == 3 and body["survey"]["version"] == 2
    assert [version["number"] for version in body["versions"]] == [1, 2]
    assert body["versions"][0]["questions"][:2] == ["nps", "why_low"]
    assert body["definition"]["questions"][2]["text"]["en"] == "What did you like best?"
    assert service.parse_definition(str(body["definition"]).replace("'", '"'), source="api").key == "feedback"
    missing = client.get("/api/v1/surveys/nope")
    assert missing.status_code == 404 and "/api/v1/surveys" in missing.json()["detail"]


def test_no_surveys_says_what_to_do(client, db):
    login(client, make_user(db, "manager"))
    page = client.get("/surveys")
    assert page.status_code == 200 and "There are no surveys yet." in page.text
