"""The audit log as admins read it: the page and its filters (actor, action or its prefix, days in the workspace's
time zone, target), paging, the CSV export (streamed, formula cells quoted), the JSON twin, and admins only."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import login, make_user
from tests.web.test_no_inline import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE, STYLE_ELEMENT
from voxpop.accounts import audit
from voxpop.accounts.models import AuditEntry, User


@pytest.fixture
def berlin(settings, db):
    """The app with the workspace in Europe/Berlin (UTC+1 in winter), so a day's edges differ from UTC's."""
    from voxpop.web.app import create_app

    with TestClient(create_app(settings.model_copy(update={"timezone": "Europe/Berlin"}), db)) as test_client:
        yield test_client


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def log(db, entries: list[dict]) -> None:
    with db.write() as db_session:
        db_session.add_all([AuditEntry(**entry) for entry in entries])


def admin_in(client, db) -> int:
    """Log an admin in; returns their id."""
    login(client, make_user(db, "admin", "boss@example.com"))
    with db.read() as db_session:
        return db_session.scalar(select(User.id).where(User.email == "boss@example.com"))


def the_log(db, admin_id: int) -> None:
    log(db, [
        {"at": utc(2026, 11, 30, 23, 30), "actor_id": admin_id, "action": "case.status", "target": "case:7",
         "details": {"before": "new", "after": "in_progress"}, "client": "10.0.0.1"},
        {"at": utc(2026, 12, 1, 9, 0), "actor_id": None, "action": "sends.create", "target": "send:december",
         "details": {"status": "draft", "via": "cli"}},
        {"at": utc(2026, 12, 2, 9, 0), "actor_id": None, "action": "case.open", "target": "case:8", "details": {}},
        {"at": utc(2026, 12, 3, 9, 0), "actor_id": admin_id, "action": "user.update",
         "target": "=HYPERLINK(\"http://evil.example\")", "details": {"before": {"role": "agent"},
                                                                     "after": {"role": "manager"}}},
    ])


def targets(reply) -> list[str]:
    return [entry["target"] for entry in reply.json()["entries"]]


def test_the_page_lists_the_log_newest_first_in_the_workspace_zone(berlin, db):
    admin_id = admin_in(berlin, db)
    the_log(db, admin_id)
    page = berlin.get("/admin/audit?action=case.")
    assert page.status_code == 200
    html = page.text
    assert "2 entries" in html and "2026-12-01 00:30 CET" in html  # 23:30 UTC is half past midnight in Berlin
    assert html.index("case:8") < html.index("case:7")
    assert "Case: status" in html and "before: new" not in html and "new → in_progress" in html
    assert "System" in html and "boss@example.com" in html
    assert 'href="/admin/audit.csv?action=case." download' in html
    for pattern in (INLINE_SCRIPT, INLINE_STYLE, STYLE_ELEMENT, EVENT_HANDLER):
        assert not pattern.search(html)
    everything = berlin.get("/admin/audit").text
    assert "Command line" in everything and "role: agent → manager" in everything
    assert '<option value="case.">Any case action</option>' in everything


def test_filters_by_actor_action_days_and_target(berlin, db):
    admin_id = admin_in(berlin, db)
    the_log(db, admin_id)
    api = "/api/v1/audit"
    assert targets(berlin.get(f"{api}?actor={admin_id}&action=case.status")) == ["case:7"]
    assert targets(berlin.get(f"{api}?actor=boss@example.com&action=user.update")) == [
        '=HYPERLINK("http://evil.example")']
    assert targets(berlin.get(f"{api}?actor=none")) == ["case:8", "send:december"]
    assert targets(berlin.get(f"{api}?action=case")) == []  # without the dot, an exact action
    # 23:30 UTC on 30 November is 1 December in Berlin: the day filter reads the workspace's days.
    assert targets(berlin.get(f"{api}?since=2026-12-01&until=2026-12-01")) == ["send:december", "case:7"]
    assert targets(berlin.get(f"{api}?until=2026-11-30&action=case.")) == []
    assert targets(berlin.get(f"{api}?target=CASE:")) == ["case:8", "case:7"]
    by = {entry["target"]: entry["by"] for entry in berlin.get(api).json()["entries"]}
    assert by["send:december"] == "command line" and by["case:8"] == "system" and by["case:7"] == "boss@example.com"


def test_pages_of_the_log_follow_each_other(berlin, db):
    admin_in(berlin, db)
    log(db, [{"at": utc(2026, 12, 1, 9, minute), "action": "case.open", "target": f"case:{minute}"}
             for minute in range(5)])
    first = berlin.get("/api/v1/audit?action=case.open&limit=2").json()
    assert [entry["target"] for entry in first["entries"]] == ["case:4", "case:3"] and first["total"] == 5
    second = berlin.get(f"/api/v1/audit?action=case.open&limit=2&before={first['next_before']}").json()
    third = berlin.get(f"/api/v1/audit?action=case.open&limit=2&before={second['next_before']}").json()
    assert [entry["target"] for entry in second["entries"] + third["entries"]] == ["case:2", "case:1", "case:0"]
    assert third["next_before"] is None
    html = berlin.get("/admin/audit?action=case.open&limit=2").text
    assert f'href="/admin/audit?action=case.open&amp;limit=2&amp;before={first["next_before"]}" rel="next"' in html


def test_bad_filters_get_a_sentence_not_a_500(berlin, db):
    admin_in(berlin, db)
    page = berlin.get("/admin/audit?since=2026-02-30")
    assert page.status_code == 400 and "Since must be a date written YYYY-MM-DD, not &#39;2026-02-30&#39;." in page.text
    reply = berlin.get("/api/v1/audit?actor=9999")
    assert reply.status_code == 422 and reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["detail"].startswith("There is no user 9999;")
    swapped = berlin.get("/api/v1/audit?since=2026-12-05&until=2026-12-01").json()
    assert swapped["errors"] == [{"field": "since", "message": "since (2026-12-05) is after until (2026-12-01); swap them"}]
    assert berlin.get("/api/v1/audit?limit=0").status_code == 422
    assert berlin.get(f"/api/v1/audit?before={2**31}").status_code == 422  # past what an id can be
    for odd in ("actor=%C2%B2", "target=a%00b", "action=case.%00", "since=%EF%BC%92%EF%BC%90"):
        assert berlin.get(f"/api/v1/audit?{odd}").status_code in (400, 422), odd  # never a 500, on either store
    assert berlin.get("/admin/audit.csv?actor=nobody@example.com").status_code == 400


def test_the_csv_has_every_entry_the_filters_keep_with_formula_cells_quoted(berlin, db):
    admin_id = admin_in(berlin, db)
    the_log(db, admin_id)
    reply = berlin.get(f"/admin/audit.csv?actor={admin_id}")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    assert reply.headers["content-disposition"].startswith('attachment; filename="audit-')
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert [row["action"] for row in rows] == ["user.update", "case.status", "login"]
    assert rows[0]["target"] == "'=HYPERLINK(\"http://evil.example\")"
    assert rows[1]["at"] == "2026-12-01T00:30:00+01:00" and rows[1]["client"] == "10.0.0.1"
    assert rows[1]["actor_email"] == "boss@example.com" and rows[1]["details"] == '{"after": "in_progress", "before": "new"}'


def test_the_csv_streams_past_one_chunk(db):
    log(db, [{"action": "case.open", "target": f"case:{number}"} for number in range(audit.CSV_CHUNK + 5)])
    with db.read() as db_session:
        filters = audit.make_filter(db_session=db_session)
        chunks = list(audit.csv_chunks(audit.csv_rows(db_session=db_session, filters=filters, zone="UTC")))
    assert len(chunks) == 2 and sum(chunk.count("\n") for chunk in chunks) == audit.CSV_CHUNK + 6


@pytest.mark.parametrize("role", ["manager", "analyst", "agent", "viewer"])
def test_only_admins_read_the_log(client, db, role):
    login(client, make_user(db, role))
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403
    assert client.get("/api/v1/audit").status_code == 403


def test_details_read_as_words():
    assert audit.details_in_words({"before": {"role": "agent", "active": True}, "after": {"role": "admin",
                                                                                         "active": False}}) == (
        "role: agent → admin; active: yes → no")
    assert audit.details_in_words({"via": "cli", "rows": 3, "changes": ["a", "b"]}) == "rows: 3; changes: a, b"
    assert audit.action_in_words("sends.rule_add") == "Sends: rule add"
    assert audit.action_in_words("login.failed") == "Failed login"
