"""The improvement pages and their JSON twins: roles, CSRF, bad input, and the flows of an initiative and an alert."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from tests.cases.loop_data import add_answers, month_of
from tests.helpers import apply_survey, csrf_from, login, make_user
from voxpop.accounts.models import Department, User
from voxpop.cases.alerts import watch_alerts
from voxpop.cases.models import AlertRule, Case, Initiative

PAGES = ["/improvement", "/improvement/initiatives", "/improvement/alerts"]


def staff(db, client, role: str, department: str | None = None) -> str:
    email = make_user(db, role, f"{role}@example.com")
    if department:
        with db.write() as db_session:
            found = db_session.scalar(select(Department).where(Department.name == department))
            if found is None:
                found = Department(name=department)
                db_session.add(found)
                db_session.flush()
            db_session.scalar(select(User).where(User.email == email)).department_id = found.id
    login(client, email)
    return email


def token(client, path: str = "/improvement/initiatives/new") -> str:
    return csrf_from(client.get(path).text)


@pytest.mark.parametrize("path", PAGES + ["/improvement/initiatives/new", "/improvement/alerts/new"])
def test_pages_need_a_login(client, path):
    assert client.get(path, follow_redirects=False).status_code in (302, 303)
    assert client.get("/api/v1" + path.replace("/new", "")).status_code == 401


@pytest.mark.parametrize("role", ["viewer", "analyst", "manager", "admin"])
def test_readers_read_every_page_and_twin(client, db, role):
    staff(db, client, role)
    for path in PAGES:
        assert client.get(path).status_code == 200, path
        assert client.get("/api/v1" + path).status_code == 200, path
    editing = client.get("/improvement/initiatives/new").status_code
    assert editing == (200 if role in ("manager", "admin") else 403)


def test_agents_read_only_their_own_departments_loop_metrics(client, db):
    staff(db, client, "agent", "Care")
    with db.write() as db_session:
        care = db_session.scalar(select(Department).where(Department.name == "Care"))
        digital = Department(name="Digital")
        db_session.add(digital)
        db_session.flush()
        opened = datetime.now(timezone.utc)
        db_session.add_all([Case(title="mine", department_id=care.id, opened_at=opened),
                            Case(title="theirs", department_id=digital.id, opened_at=opened),
                            Case(title="theirs too", department_id=digital.id, opened_at=opened)])
        digital_id = digital.id
    data = client.get(f"/api/v1/improvement?department={digital_id}").json()
    assert [(row["department"], row["cases"]) for row in data["rows"]] == [("Care", 1)]
    assert 'name="department"' not in client.get("/improvement").text  # no department to choose
    for path in ("/improvement/initiatives", "/improvement/alerts", "/api/v1/improvement/initiatives"):
        assert client.get(path).status_code == 403


@pytest.mark.parametrize("query, field", [("since=2026-13-01", "since"), ("until=soon", "until"),
                                          ("since=2026-05-01&until=2026-04-01", "since"), ("department=x", "department")])
def test_bad_input_is_a_sentence_at_its_field(client, db, query, field):
    staff(db, client, "analyst")
    page = client.get(f"/improvement?{query}")
    assert page.status_code == 400 and "These figures cannot be shown" in page.text
    problem = client.get(f"/api/v1/improvement?{query}")
    assert problem.status_code == 422 and problem.json()["errors"][0]["field"] == field
    assert client.get("/api/v1/improvement?by=week").status_code == 422


def test_the_overview_shows_the_holdout_advice_and_csv(client, db):
    staff(db, client, "manager")
    page = client.get("/improvement").text
    assert "each arm needs 859 customers" in page
    assert client.get("/improvement?format=csv").text.startswith("period,department,cases")


def test_an_initiative_is_created_moved_and_checked(client, db):
    apply_survey(db)
    add_answers(db, [pair for month in range(1, 7) for pair in month_of(2026, month, {10: 40, 8: 30, 3: 30})]
                + [pair for month in range(7, 12) for pair in month_of(2026, month, {10: 60, 8: 25, 3: 15})])
    staff(db, client, "manager")
    form = {"csrf_token": token(client), "title": "Call back within a day", "problem": "<b>late</b> callbacks",
            "survey": "feedback", "metric": "nps", "question": "nps", "filter": "", "change_date": "2026-07-01",
            "themes": ["delivery"]}
    assert client.post("/improvement/initiatives", data=form | {"csrf_token": "forged"}).status_code == 403
    created = client.post("/improvement/initiatives", data=form, follow_redirects=False)
    assert created.status_code == 303
    path = created.headers["location"].split("?")[0]
    page = client.get(path).text
    assert "&lt;b&gt;late&lt;/b&gt; callbacks" in page and "<b>late" not in page
    assert "The data show an improvement." in page and "<svg" in page and 'class="change"' in page
    detail = client.get("/api/v1" + path).json()
    assert detail["check"]["verdict"] == "improvement" and detail["next_stages"] == ["do"]
    for stage in ("do", "check", "act"):
        moved = client.post(path + "/stage", data={"csrf_token": token(client, path), "to": stage},
                            follow_redirects=False)
        assert moved.status_code == 303
    wrong = client.post(path + "/stage", data={"csrf_token": token(client, path), "to": "do"})
    assert wrong.status_code == 400 and "can move to Plan or Closed, not Do" in wrong.text
    with db.read() as db_session:
        assert db_session.scalar(select(Initiative.stage)) == "act"


@pytest.mark.parametrize("changes, words", [
    ({"title": ""}, "Give the initiative a title."),
    ({"survey": "nope", "question": "nps"}, "There is no survey &#39;nope&#39;"),
    ({"change_date": "01/07/2026"}, "Change date must be a date written YYYY-MM-DD"),
    ({"owner": "abc"}, "The owner must be a user"),
    ({"root_causes": ["nope"]}, "There is no root cause &#39;nope&#39;"),
])
def test_a_bad_initiative_form_says_what_to_fix(client, db, changes, words):
    apply_survey(db)
    staff(db, client, "admin")
    form = {"csrf_token": token(client), "title": "x", "survey": "", "question": ""} | changes
    page = client.post("/improvement/initiatives", data=form)
    assert page.status_code == 400 and words in page.text and "The initiative cannot be saved" in page.text


def test_an_alert_is_created_tells_once_and_opens_a_draft(client, db):
    apply_survey(db)
    add_answers(db, [pair for month in range(3, 13)
                     for pair in month_of(2026, month, {2: 32, 10: 8} if month == 9 else {10: 20, 8: 12, 3: 8})])
    staff(db, client, "manager")
    bad = client.post("/improvement/alerts", data={"csrf_token": token(client, "/improvement/alerts/new"),
                                                   "name": "NPS", "survey": "feedback", "metric": "mean",
                                                   "question": "nps"})
    assert bad.status_code == 400 and "choose the metric: nps, csat, ces" in bad.text.lower()
    with db.read() as db_session:
        owner = db_session.scalar(select(User.id))
    created = client.post("/improvement/alerts", follow_redirects=False, data={
        "csrf_token": token(client, "/improvement/alerts/new"), "name": "Relationship NPS", "owner": str(owner),
        "survey": "feedback", "metric": "nps", "question": "nps"})
    assert created.status_code == 303
    path = created.headers["location"].split("?")[0]
    with db.write() as db_session:  # made before the months it watches, so their signals are news
        db_session.scalar(select(AlertRule)).created_at = datetime(2026, 1, 2, tzinfo=timezone.utc)
    assert watch_alerts(db, now=datetime(2027, 1, 5, tzinfo=timezone.utc), zone="UTC", public_url="") >= 1
    page = client.get(path).text
    assert "September 2026 is unusually low" in page and "Open a draft initiative" in page
    detail = client.get("/api/v1" + path).json()
    signal = next(item for item in detail["signals"] if item["rule"] == "nelson-1")
    drafted = client.post(f"{path}/signals/{signal['period']}/nelson-1/initiative",
                          data={"csrf_token": token(client, path)}, follow_redirects=False)
    assert drafted.status_code == 303 and "/improvement/initiatives/" in drafted.headers["location"]
    paused = client.post(f"{path}/active", data={"csrf_token": token(client, path), "active": "no"},
                         follow_redirects=False)
    assert paused.status_code == 303
    with db.read() as db_session:
        assert db_session.scalar(select(AlertRule.active)) is False
        assert db_session.scalar(select(Initiative.draft)) is True


def test_unknown_numbers_are_404(client, db):
    staff(db, client, "viewer")
    assert client.get("/improvement/initiatives/999").status_code == 404
    assert client.get("/api/v1/improvement/alerts/999").status_code == 404
    assert client.get("/improvement/initiatives/0").status_code == 400  # the path cannot be read: a page error, not a 500



def test_a_target_stored_by_hand_that_no_longer_reads_breaks_no_page(client, db):
    apply_survey(db)
    staff(db, client, "analyst")
    broken = {"survey": "feedback", "metric": "nps", "question": "nps", "filter": [["attribute", "no equals"]]}
    with db.write() as db_session:
        alert = AlertRule(name="Broken", target=broken)
        initiative = Initiative(title="Broken", target=broken, change_date=datetime(2026, 7, 1).date(), stage="plan")
        db_session.add_all([alert, initiative])
        db_session.flush()
        ids = alert.id, initiative.id
    for path in ("/improvement/alerts", f"/improvement/alerts/{ids[0]}", "/improvement/initiatives",
                 f"/improvement/initiatives/{ids[1]}"):
        assert client.get(path).status_code == 200, path
        assert client.get("/api/v1" + path).status_code == 200, path
