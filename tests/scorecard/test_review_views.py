"""The review meeting and people's values on the pages and their JSON twins: who may write what, CSRF, locking,
and errors said as sentences (never a 500)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.helpers import csrf_from, login, make_user
from tests.scorecard import builders as b
from voxpop.accounts.models import User
from voxpop.scorecard.models import Commentary, MeasureValue, Objective, Review

PERIOD = "2026-11"  # ended: the pages refuse periods that have not started


@pytest.fixture
def card(db):
    """The organisation's scorecard: a manual measure owned by owner@, a second manual one owned by nobody."""
    for role, email in (("agent", "owner@example.com"), ("agent", "other@example.com"), ("manager", None),
                        ("admin", None), ("viewer", None)):
        make_user(db, role, email)
    with db.write() as s:
        owner = s.scalar(select(User).where(User.email == "owner@example.com"))
        card = b.scorecard(s, "org", name="Northwind")
        learning = b.objective(s, b.perspective(s, card, "learning"), "skills")
        trained = b.measure(s, learning, "trained", owner_id=owner.id, unit="%")
        b.target(s, trained, "2026-01", target=80, minimum=0, maximum=100)
        b.values(s, trained, {"2026-10": 70, PERIOD: 85})
        b.measure(s, learning, "ideas")
    return "org"


def _as(client, email: str) -> str:
    """Log in and give back the session's CSRF token (what /api/v1/me hands scripts)."""
    assert login(client, email).status_code == 303
    return client.get("/api/v1/me").json()["csrf_token"]


def _comment(client, token: str, **fields):
    data = {"csrf_token": token, "measure": "trained", "period": PERIOD, "analysis": "Sessions caught up.",
            "recommendation": "Keep Tuesdays."} | fields
    return client.post("/scorecards/org/review/commentary", data=data, follow_redirects=False)


def test_every_role_reads_the_review_but_a_viewer_cannot_write(client, card):
    token = _as(client, "viewer@example.com")
    page = client.get(f"/scorecards/org/review?period={PERIOD}")
    assert page.status_code == 200 and "Review of 2026-11" in page.text
    assert 'action="/scorecards/org/review/commentary"' not in page.text and "Lock 2026-11" not in page.text
    reply = _comment(client, token)
    assert reply.status_code == 403 and "Only the owner of" in reply.text
    assert client.post("/scorecards/org/review/lock", data={"csrf_token": token, "period": PERIOD}).status_code == 403


def test_the_owner_writes_commentary_and_the_page_shows_it(client, db, card):
    token = _as(client, "owner@example.com")
    reply = _comment(client, token, analysis="<b>Sessions</b> caught up.")
    assert reply.status_code == 303 and reply.headers["location"].startswith("/scorecards/org/review?period=2026-11")
    page = client.get(reply.headers["location"]).text
    assert "&lt;b&gt;Sessions&lt;/b&gt; caught up." in page and "<b>Sessions</b>" not in page
    with db.read() as s:
        assert s.scalar(select(Commentary.recommendation)) == "Keep Tuesdays."


def test_another_agent_is_refused_and_a_manager_may_comment(client, card):
    token = _as(client, "other@example.com")
    reply = _comment(client, token)
    assert reply.status_code == 403 and "Only the owner of &#39;Trained&#39;, a manager or an admin" in reply.text
    client.get("/logout")
    token = _as(client, "manager@example.com")
    assert _comment(client, token).status_code == 303


def test_a_form_without_the_csrf_token_is_refused(client, db, card):
    _as(client, "owner@example.com")
    reply = client.post("/scorecards/org/review/commentary", data={"measure": "trained", "period": PERIOD,
                                                                    "analysis": "x"})
    assert reply.status_code == 403
    assert client.post("/api/v1/scorecards/org/review/commentary",
                       json={"measure": "trained", "period": PERIOD, "analysis": "x"}).status_code == 403
    with db.read() as s:
        assert s.scalar(select(Commentary)) is None


def test_bad_input_is_a_sentence_never_a_500(client, card):
    token = _as(client, "manager@example.com")
    assert client.get("/scorecards/nowhere/review").status_code == 404
    assert client.get("/api/v1/scorecards/nowhere/review").status_code == 404
    page = client.get("/scorecards/org/review?period=November")
    assert page.status_code == 422 and "write a month as 2026-11" in page.text
    problem = client.get("/api/v1/scorecards/org/review?period=2026-13")
    assert problem.status_code == 422 and problem.headers["content-type"] == "application/problem+json"
    assert _comment(client, token, measure="nope").status_code == 422
    assert _comment(client, token, analysis="", recommendation="").status_code == 422
    assert _comment(client, token, period="2026-Q4").status_code == 422
    reply = client.post("/scorecards/org/review/actions", data={"csrf_token": token, "period": PERIOD, "text": "Go",
                                                               "due": "soon", "owner": "x"})
    assert reply.status_code == 422 and "choose the action" in reply.text.lower()
    assert client.post("/scorecards/org/review/actions/999999", data={"csrf_token": token, "done": "yes",
                                                                      "period": PERIOD}).status_code == 404


def test_a_manager_locks_then_writes_are_refused_and_an_admin_unlocks(client, db, card):
    token = _as(client, "manager@example.com")
    before = client.get(f"/api/v1/scorecards/org/review?period={PERIOD}").json()
    assert before["locked"] is False
    assert client.post("/scorecards/org/review/lock", data={"csrf_token": token, "period": PERIOD},
                       follow_redirects=False).status_code == 303
    locked = client.get(f"/api/v1/scorecards/org/review?period={PERIOD}").json()
    assert locked["locked"] and locked["locked_by"] == "manager@example.com" and locked["scorecard"]["locked"]
    with db.write() as s:  # the data changes after the lock; the review keeps the lock's scores
        s.scalar(select(MeasureValue).where(MeasureValue.period == PERIOD)).value = 10.0
    after = client.get(f"/api/v1/scorecards/org/review?period={PERIOD}").json()
    assert after["scorecard"] == locked["scorecard"]
    reply = _comment(client, token)
    assert reply.status_code == 422 and "2026-11 is locked after its review" in reply.text
    reply = client.post("/scorecards/org/values", data={"csrf_token": token, "measure": "trained", "period": PERIOD,
                                                        "value": "90"})
    assert reply.status_code == 422 and "its values cannot change" in reply.text
    assert client.post("/scorecards/org/review/lock", data={"csrf_token": token, "period": PERIOD, "unlock": "yes",
                                                            "reason": "wrong"}).status_code == 403
    client.get("/logout")
    token = _as(client, "admin@example.com")
    reply = client.post("/api/v1/scorecards/org/review/unlock", json={"period": PERIOD, "reason": "Re-imported"},
                        headers={"X-CSRF-Token": token})
    assert reply.status_code == 200 and reply.json()["locked"] is False
    with db.read() as s:
        assert s.scalar(select(Review.locked_at)) is None


def test_the_json_twins_write_with_the_csrf_header(client, card):
    token = _as(client, "owner@example.com")
    reply = client.post("/api/v1/scorecards/org/review/commentary", headers={"X-CSRF-Token": token},
                        json={"measure": "trained", "period": PERIOD, "analysis": "Up", "recommendation": ""})
    assert reply.status_code == 200
    assert reply.json()["commentary"][0] | {"updated_at": None} == {
        "measure_key": "trained", "measure_name": "Trained", "analysis": "Up", "recommendation": "",
        "author": "owner@example.com", "updated_at": None}
    refused = client.post("/api/v1/scorecards/org/review/actions", headers={"X-CSRF-Token": token},
                          json={"period": PERIOD, "text": "More sessions"})
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"


def test_action_items_are_added_listed_and_ticked_by_their_owner(client, db, card):
    token = _as(client, "manager@example.com")
    with db.read() as s:
        owner_id = s.scalar(select(User.id).where(User.email == "owner@example.com"))
    reply = client.post("/scorecards/org/review/actions", data={
        "csrf_token": token, "period": PERIOD, "text": "Book two more sessions", "owner": str(owner_id),
        "due": "2026-12-20", "measure": "trained"}, follow_redirects=False)
    assert reply.status_code == 303
    listed = client.get(f"/api/v1/scorecards/org/review?period={PERIOD}").json()["actions"]
    assert [(a["text"], a["owner"], a["due"], a["measure_key"], a["done"]) for a in listed] == [
        ("Book two more sessions", "owner@example.com", "2026-12-20", "trained", False)]
    client.get("/logout")
    token = _as(client, "owner@example.com")
    ticked = client.post(f"/api/v1/scorecards/org/review/actions/{listed[0]['id']}", json={"done": True},
                         headers={"X-CSRF-Token": token})
    assert ticked.status_code == 200 and ticked.json()["done"] is True


# ---- people's values ---------------------------------------------------------------------------------------------


def test_the_owner_enters_a_value_and_approves_it(client, db, card):
    token = _as(client, "manager@example.com")
    reply = client.post("/scorecards/org/values", data={"csrf_token": token, "measure": "trained", "period": "2026-10",
                                                        "value": "72.5", "comment": "After the audit"},
                        follow_redirects=False)
    assert reply.status_code == 303
    client.get("/logout")
    token = _as(client, "owner@example.com")
    page = client.get("/scorecards/org/values?period=2026-10")
    assert page.status_code == 200 and "Waiting for your approval" in page.text and "After the audit" in page.text
    pending = client.get("/api/v1/scorecards/org/values?period=2026-10").json()["pending"]
    assert [(v["measure_key"], v["period"], v["value"]) for v in pending] == [("trained", "2026-10", 72.5)]
    reply = client.post(f"/scorecards/org/values/{pending[0]['id']}/approve",
                        data={"csrf_token": csrf_from(page.text), "period": "2026-10"}, follow_redirects=False)
    assert reply.status_code == 303
    with db.read() as s:
        value = s.scalar(select(MeasureValue).where(MeasureValue.period == "2026-10"))
        assert value.value == 72.5 and value.approved_at is not None


def test_values_are_refused_to_others_and_said_as_sentences(client, card):
    token = _as(client, "other@example.com")
    reply = client.post("/scorecards/org/values", data={"csrf_token": token, "measure": "trained", "period": PERIOD,
                                                        "value": "90"})
    assert reply.status_code == 403 and "Only trained&#39;s owner" in reply.text
    client.get("/logout")
    token = _as(client, "owner@example.com")
    reply = client.post("/scorecards/org/values", data={"csrf_token": token, "measure": "trained", "period": PERIOD,
                                                        "value": "ninety"})
    assert reply.status_code == 422 and "is not a number" in reply.text


def test_a_csv_with_errors_names_its_rows_and_keeps_nothing(client, db, card):
    token = _as(client, "manager@example.com")
    text = "measure,period,value,comment\ntrained,2026-09,60,ok\nnope,2026-09,1,\ntrained,2026-Q3,2,\n"
    reply = client.post("/scorecards/org/values/import", data={"csrf_token": token, "period": PERIOD},
                        files={"upload": ("values.csv", text.encode(), "text/csv")})
    assert reply.status_code == 422
    assert "Row 3: measure &#39;nope&#39;" in reply.text and "Nothing was imported" in reply.text
    assert re.search(r"row 4: .{0,40}2026-Q3.{0,10} is a quarter", reply.text)  # the row, and what is wrong in it
    with db.read() as s:
        assert s.scalar(select(MeasureValue).where(MeasureValue.period == "2026-09")) is None
    good = client.post("/api/v1/scorecards/org/values/import", headers={"X-CSRF-Token": token},
                       json={"text": "measure,period,value,comment\ntrained,2026-09,60,ok\nideas,2026-09,3,\n"})
    assert good.status_code == 200 and good.json()["entered"] == 2


def test_a_csv_touching_a_locked_period_is_refused_whole(client, db, card):
    token = _as(client, "manager@example.com")
    client.post("/scorecards/org/review/lock", data={"csrf_token": token, "period": PERIOD})
    reply = client.post("/api/v1/scorecards/org/values/import", headers={"X-CSRF-Token": token},
                        json={"text": f"measure,period,value,comment\nideas,2026-09,3,\ntrained,{PERIOD},99,\n"})
    assert reply.status_code == 422 and "2026-11 is locked" in reply.json()["detail"]
    with db.read() as s:
        assert s.scalar(select(MeasureValue).where(MeasureValue.period == "2026-09")) is None


def test_action_items_name_their_measure_and_a_stabilised_measure_shows_its_band(client, db, card):
    with db.write() as s:
        learning = s.scalar(select(Objective).where(Objective.key == "skills"))
        hours = b.measure(s, learning, "training_hours", scoring="stabilise", direction="middle", unit="hours",
                          position=2)
        hours.name = "Training <i>hours</i> per person"
        b.target(s, hours, "2026-01", low=8, high=16, minimum=0, maximum=30)
        b.target(s, hours, "2026-12", low=10, high=18, minimum=0, maximum=30)  # not yet in force in 2026-11
        b.values(s, hours, {PERIOD: 12})
    token = _as(client, "manager@example.com")
    reply = client.post("/scorecards/org/review/actions", data={
        "csrf_token": token, "period": PERIOD, "text": "Plan the courses", "measure": "training_hours"},
        follow_redirects=False)
    assert reply.status_code == 303
    page = client.get(f"/scorecards/org/review?period={PERIOD}").text
    (row,) = re.findall(r'<tr>\s*<td class="words">Plan the courses</td>.*?</tr>', page, re.S)
    assert "Training &lt;i&gt;hours&lt;/i&gt; per person" in row and ">training_hours<" not in row
    assert 'href="#m-training_hours"' in row and 'id="m-training_hours"' in page
    (facts,) = re.findall(r'data-testid="review-training_hours".*?</dl>', page, re.S)
    assert "8 to 16 hours" in facts and "No target" not in facts and "100.0%" in facts
    body = client.get(f"/api/v1/scorecards/org/review?period={PERIOD}").json()
    assert body["bands"] == {"training_hours": [8.0, 16.0]}
    assert [(a["measure_key"], a["measure_name"]) for a in body["actions"]] == [
        ("training_hours", "Training <i>hours</i> per person")]
