"""The export and delivery pages: every staff role downloads the PDF and the CSV of a period; admins and managers
list, add, pause, resume, delete and run schedules (other roles refused on the server, CSRF on every form, each
change audited), the send log shows each e-mail with the server's answer; bad input is a sentence with a 4xx,
never a 500; no inline style or script."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.helpers import csrf_from, login, make_user
from tests.scorecard.test_report import stored_scorecard
from tests.web.test_no_inline import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE, STYLE_ELEMENT
from voxpop.accounts.models import AuditEntry, User
from voxpop.notify.models import OutgoingMail
from voxpop.scorecard.models import ReportSchedule


def signed_in(client, db, role: str) -> str:
    login(client, make_user(db, role))
    return csrf_from(client.get("/dashboard").text)


def user_id(db, email: str) -> int:
    with db.read() as db_session:
        return db_session.scalar(select(User.id).where(User.email == email))


def actions(db) -> list[str]:
    with db.read() as db_session:
        return list(db_session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("scorecard.schedule.%"))
                                       .order_by(AuditEntry.id)))


def schedules(db) -> list[ReportSchedule]:
    with db.read() as db_session:
        rows = db_session.scalars(select(ReportSchedule).order_by(ReportSchedule.id)).all()
        for row in rows:
            db_session.expunge(row)
        return rows


# --- exports ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["admin", "manager", "analyst", "agent", "viewer"])
def test_every_staff_role_downloads_the_csv_of_a_period(client, db, role):
    stored_scorecard(db)
    signed_in(client, db, role)
    reply = client.get("/scorecards/northwind/export.csv?period=2026-11")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    assert 'filename="northwind-2026-11.csv"' in reply.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert [(row["measure"], row["value"], row["target"], row["colour"]) for row in rows] == [
        ("Staff trained on care", "82.0", "80.0", "green"), ("Customers satisfied", "84.0", "75.0", "green")]


def test_the_pdf_downloads_as_a_pdf_named_for_the_scorecard_and_period(client, db):
    stored_scorecard(db)
    signed_in(client, db, "viewer")
    reply = client.get("/scorecards/northwind/export.pdf?period=2026-10")
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/pdf"
    assert 'filename="northwind-2026-10.pdf"' in reply.headers["content-disposition"]
    assert reply.content.startswith(b"%PDF-")


def test_exports_need_a_login_and_say_what_is_wrong(client, db):
    stored_scorecard(db)
    for path in ("/scorecards/northwind/export.pdf", "/scorecards/northwind/export.csv"):
        reply = client.get(path, follow_redirects=False)
        assert reply.status_code in (302, 303) and "/login" in reply.headers["location"]
    signed_in(client, db, "viewer")
    for path, status, words in [("/scorecards/nope/export.csv", 404, "no scorecard with the key"),
                                ("/scorecards/northwind/export.pdf?period=2026-13", 400, "2026-11"),
                                ("/scorecards/northwind/export.csv?period=2999-01", 400, "has not started yet"),
                                ("/scorecards/northwind/export.csv?period=" + "9" * 40, 400, "period")]:
        reply = client.get(path)
        assert reply.status_code == status, path
        assert words in reply.text


# --- schedules ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["analyst", "agent", "viewer"])
def test_only_admins_and_managers_see_and_change_the_deliveries(client, db, role):
    stored_scorecard(db)
    make_user(db, "manager", "boss@example.com")
    token = signed_in(client, db, role)
    assert client.get("/scorecards/northwind/schedules").status_code == 403
    reply = client.get("/api/v1/scorecards/northwind/schedules")
    assert reply.status_code == 403 and reply.headers["content-type"] == "application/problem+json"
    boss = str(user_id(db, "boss@example.com"))
    assert client.post("/scorecards/northwind/schedules", data={
        "csrf_token": token, "frequency": "weekly", "recipients": [boss]}).status_code == 403
    assert schedules(db) == []


def test_a_manager_adds_runs_pauses_resumes_and_deletes_a_delivery(client, db, settings):
    stored_scorecard(db)
    make_user(db, "viewer", "ceo@example.com")
    token = signed_in(client, db, "manager")
    ceo = user_id(db, "ceo@example.com")
    page = client.get("/scorecards/northwind/schedules")
    assert page.status_code == 200 and "ceo@example.com" in page.text and "Nothing sent yet" in page.text
    reply = client.post("/scorecards/northwind/schedules", data={
        "csrf_token": token, "frequency": "weekly", "recipients": [str(ceo)]}, follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"].endswith("saved=created")
    [made] = schedules(db)
    assert (made.frequency, made.recipients, made.paused) == ("weekly", [ceo], False)
    assert made.next_run_at.astimezone(UTC).weekday() in (0, 6)  # a Monday, 07:00 in the zone (UTC here)
    page = client.get("/scorecards/northwind/schedules?saved=created").text
    assert "Schedule added" in page and "Every Monday, 07:00" in page

    base = f"/scorecards/northwind/schedules/{made.id}"
    assert client.post(f"{base}/run", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    with db.read() as db_session:
        [mail] = db_session.scalars(select(OutgoingMail)).all()
        assert mail.recipient == "ceo@example.com" and mail.attachment.startswith(b"%PDF-")
        assert mail.attachment_name.startswith("northwind-") and mail.related.startswith("scorecard:")
    with db.write() as db_session:  # as the sending thread records a server's answer
        db_session.scalar(select(OutgoingMail)).smtp_reply = "250 2.0.0 Ok: queued as 7F3A"
    page = client.get("/scorecards/northwind/schedules?saved=sent").text
    assert "Report queued" in page and "250 2.0.0 Ok: queued as 7F3A" in page and "Queued" in page
    twin = client.get("/api/v1/scorecards/northwind/schedules").json()
    assert twin["schedules"][0]["recipients"] == [{"id": ceo, "name": "", "email": "ceo@example.com",
                                                   "active": True}]
    assert twin["send_log"][0]["smtp_reply"] == "250 2.0.0 Ok: queued as 7F3A"
    assert "attachment" not in twin["send_log"][0]  # never the PDF's bytes

    assert client.post(f"{base}/pause", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert schedules(db)[0].paused
    assert ">Paused<" in client.get("/scorecards/northwind/schedules").text
    assert client.post(f"{base}/resume", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert not schedules(db)[0].paused
    assert client.post(f"{base}/delete", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert schedules(db) == []
    assert "250 2.0.0 Ok" in client.get("/scorecards/northwind/schedules").text  # the log stays
    assert actions(db) == ["scorecard.schedule.create", "scorecard.schedule.run", "scorecard.schedule.pause",
                           "scorecard.schedule.resume", "scorecard.schedule.delete"]


def test_every_form_needs_the_sessions_csrf_token(client, db):
    stored_scorecard(db)
    token = signed_in(client, db, "admin")
    admin = user_id(db, "admin@example.com")
    reply = client.post("/scorecards/northwind/schedules", data={"csrf_token": "forged", "frequency": "weekly",
                                                                 "recipients": [str(admin)]})
    assert reply.status_code == 403 and schedules(db) == []
    client.post("/scorecards/northwind/schedules", data={"csrf_token": token, "frequency": "weekly",
                                                         "recipients": [str(admin)]})
    [made] = schedules(db)
    for action in ("run", "pause", "delete"):
        assert client.post(f"/scorecards/northwind/schedules/{made.id}/{action}").status_code == 403
    assert schedules(db)[0].paused is False


def test_bad_input_is_a_sentence_at_its_field_never_a_500(client, db):
    stored_scorecard(db)
    token = signed_in(client, db, "admin")
    for data, words in [({"frequency": "daily", "recipients": ["1"]}, "weekly or monthly"),
                        ({"frequency": "weekly"}, "at least one recipient"),
                        ({"frequency": "weekly", "recipients": ["abc"]}, "is not a staff user"),
                        ({"frequency": "weekly", "recipients": ["99999"]}, "No active staff user has the id 99999"),
                        ({"frequency": "weekly", "recipients": ["9" * 30]}, "is not a staff user")]:
        reply = client.post("/scorecards/northwind/schedules", data={"csrf_token": token} | data)
        assert reply.status_code == 400, data
        assert words in reply.text and "The schedule was not added" in reply.text
    assert schedules(db) == []
    for path, status in [("/scorecards/northwind/schedules/123/run", 404), ("/scorecards/nope/schedules/1/pause", 404),
                         ("/scorecards/northwind/schedules/0/run", 400), ("/scorecards/northwind/schedules/x/run", 400)]:
        assert client.post(path, data={"csrf_token": token}).status_code == status, path
    assert client.get("/scorecards/nope/schedules").status_code == 404
    reply = client.get("/api/v1/scorecards/nope/schedules")
    assert reply.status_code == 404 and reply.headers["content-type"] == "application/problem+json"


def test_a_schedule_of_another_scorecard_cannot_be_changed_through_this_one(client, db):
    from voxpop.scorecard.models import Scorecard

    stored_scorecard(db)
    with db.write() as db_session:
        db_session.add(Scorecard(key="other", name="Other"))
    token = signed_in(client, db, "admin")
    client.post("/scorecards/northwind/schedules", data={"csrf_token": token, "frequency": "monthly",
                                                         "recipients": [str(user_id(db, "admin@example.com"))]})
    [made] = schedules(db)
    assert client.post(f"/scorecards/other/schedules/{made.id}/delete", data={"csrf_token": token}).status_code == 404
    assert len(schedules(db)) == 1


def test_names_are_escaped_and_the_page_has_no_inline_style_or_script(client, db):
    stored_scorecard(db)
    with db.write() as db_session:
        from voxpop.scorecard.models import Scorecard

        db_session.scalar(select(Scorecard)).name = '<script>alert("x")</script>'
    make_user(db, "viewer", "eve@example.com")
    with db.write() as db_session:
        db_session.scalar(select(User).where(User.email == "eve@example.com")).name = "<b>Eve</b>"
    token = signed_in(client, db, "admin")
    client.post("/scorecards/northwind/schedules", data={"csrf_token": token, "frequency": "monthly",
                                                         "recipients": [str(user_id(db, "eve@example.com"))]})
    html = client.get("/scorecards/northwind/schedules").text
    assert "&lt;b&gt;Eve&lt;/b&gt;" in html and "<b>Eve</b>" not in html
    assert '<script>alert("x")' not in html
    for pattern in (INLINE_STYLE, STYLE_ELEMENT, INLINE_SCRIPT, EVENT_HANDLER):
        assert not pattern.search(html), pattern.pattern


def test_a_locked_period_exports_its_snapshot(client, db):
    """The export of a locked review's period is the snapshot taken at the lock, as the page shows it."""
    from voxpop.scorecard.evaluation import evaluate, result_to_json
    from voxpop.scorecard.models import MeasureValue, Review, Scorecard

    stored_scorecard(db)
    with db.write() as db_session:
        card = db_session.scalar(select(Scorecard))
        snapshot = evaluate(db_session, scorecard=card, period="2026-11", zone="UTC", min_base=30,
                            now=datetime(2026, 12, 2, tzinfo=UTC))
        db_session.add(Review(scorecard_id=card.id, period="2026-11", locked_at=datetime(2026, 12, 2, tzinfo=UTC),
                              snapshot=result_to_json(snapshot)))
        for value in db_session.scalars(select(MeasureValue).where(MeasureValue.period == "2026-11")):
            value.value = 1.0  # changed after the lock: not in the export
    signed_in(client, db, "viewer")
    rows = list(csv.DictReader(io.StringIO(client.get("/scorecards/northwind/export.csv?period=2026-11").text)))
    assert [row["value"] for row in rows] == ["82.0", "84.0"]
