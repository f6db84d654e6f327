"""A staff member's own account: password change (the current one asked) ending the other sessions but not this one,
the open sessions listed and ended one by one or all at once, by the user or an admin, with the store's session
rows and the cookie's session version kept in step."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import PASSWORD, csrf_from, login, make_user
from voxpop.accounts import sessions
from voxpop.accounts.models import AuditEntry, StaffSession, User
from voxpop.store.base import utcnow

NEW_PASSWORD = "a brand new password"


def change(client, current: str, password: str = NEW_PASSWORD, again: str | None = None):
    token = csrf_from(client.get("/account").text)
    return client.post("/account/password", data={"csrf_token": token, "current": current, "password": password,
                                                  "again": password if again is None else again},
                       follow_redirects=False)


def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(client, db):
    email = make_user(db, "viewer")
    other = TestClient(client.app)
    login(client, email)
    login(other, email)
    reply = change(client, PASSWORD)
    assert reply.status_code == 303 and reply.headers["location"] == "/account?saved=password"
    assert "Your other sessions have ended; this one goes on" in client.get("/account?saved=password").text
    assert client.get("/api/v1/me").status_code == 200 and other.get("/api/v1/me").status_code == 401
    assert login(TestClient(client.app), email, PASSWORD).status_code == 401
    assert login(TestClient(client.app), email, NEW_PASSWORD).status_code == 303
    with db.read() as db_session:
        audited = db_session.execute(select(AuditEntry.action, AuditEntry.details)
                                     .where(AuditEntry.action == "user.password_change")).all()
        assert audited == [("user.password_change", {})]
        assert db_session.scalar(select(StaffSession.ended_at).where(StaffSession.id == 2)) is not None


def test_a_wrong_current_password_or_a_weak_new_one_changes_nothing(client, db):
    email = make_user(db, "agent")
    login(client, email)
    wrong = change(client, "not my password")
    assert wrong.status_code == 400 and "The current password is not right" in wrong.text
    short = change(client, PASSWORD, "short")
    assert short.status_code == 400 and "at least 10 characters" in short.text
    differ = change(client, PASSWORD, NEW_PASSWORD, "something else entirely")
    assert differ.status_code == 400 and "the two new passwords differ" in differ.text.lower()
    assert login(TestClient(client.app), email, PASSWORD).status_code == 303


def test_wrong_current_passwords_are_throttled_like_log_ins(client, db):
    email = make_user(db, "agent")
    login(client, email)
    codes = [change(client, "not my password").status_code for _ in range(6)]
    assert codes == [400] * 5 + [429]


def test_the_account_lists_open_sessions_and_ends_one_or_all_others(client, db):
    email = make_user(db, "analyst")
    phone, tablet = TestClient(client.app), TestClient(client.app)
    for browser in (phone, client, tablet):
        login(browser, email)
    listed = client.get("/api/v1/account").json()
    assert listed["email"] == email and len(listed["sessions"]) == 3
    assert [item["current"] for item in listed["sessions"]].count(True) == 1
    page = client.get("/account")
    assert page.status_code == 200 and "This session" in page.text and "testclient" in page.text
    mine = next(item["id"] for item in listed["sessions"] if item["current"])
    phone_id = min(item["id"] for item in listed["sessions"])
    token = csrf_from(page.text)
    refused = client.post(f"/account/sessions/{mine}/end", data={"csrf_token": token})
    assert refused.status_code == 400 and "log out to end it" in refused.text
    assert client.post(f"/account/sessions/{phone_id}/end", data={"csrf_token": token}).status_code == 200
    assert phone.get("/api/v1/me").status_code == 401 and tablet.get("/api/v1/me").status_code == 200
    again = client.post(f"/account/sessions/{phone_id}/end", data={"csrf_token": token})
    assert again.status_code == 404 and "has ended already" in again.text
    client.post("/account/sessions/end-others", data={"csrf_token": token})
    assert tablet.get("/api/v1/me").status_code == 401 and client.get("/api/v1/me").status_code == 200
    assert len(client.get("/api/v1/account").json()["sessions"]) == 1
    with db.read() as db_session:
        actions = db_session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("session.%"))).all()
    assert actions == ["session.end", "session.end_others"]


def test_someone_elses_session_cannot_be_ended_from_ones_account(client, db):
    login(TestClient(client.app), make_user(db, "agent"))
    login(client, make_user(db, "viewer"))
    token = csrf_from(client.get("/account").text)
    assert client.post("/account/sessions/1/end", data={"csrf_token": token}).status_code == 404


def test_logging_out_ends_this_session_only(client, db):
    email = make_user(db, "agent")
    other = TestClient(client.app)
    login(client, email)
    login(other, email)
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/account").text)})
    assert client.get("/api/v1/me").status_code == 401 and other.get("/api/v1/me").status_code == 200


def test_an_admin_sees_a_users_sessions_and_ends_them(client, db):
    email = make_user(db, "agent")
    person = TestClient(client.app)
    login(person, email)
    login(client, make_user(db, "admin"))
    with db.read() as db_session:
        user_id = db_session.scalar(select(User.id).where(User.email == email))
    page = client.get(f"/users/{user_id}")
    assert "Open sessions" in page.text and "End all their sessions" in page.text
    assert len(client.get(f"/api/v1/users/{user_id}/sessions").json()["sessions"]) == 1
    assert client.get("/api/v1/users/999/sessions").status_code == 404
    reply = client.post(f"/users/{user_id}/sessions/end", data={"csrf_token": csrf_from(page.text)},
                        follow_redirects=False)
    assert reply.status_code == 303 and person.get("/api/v1/me").status_code == 401
    assert client.get(f"/api/v1/users/{user_id}/sessions").json()["sessions"] == []
    assert "is not logged in anywhere" in client.get(f"/users/{user_id}").text
    with db.read() as db_session:
        audited = db_session.execute(select(AuditEntry.target, AuditEntry.details)
                                     .where(AuditEntry.action == "user.sessions_end")).one()
    assert audited == (email, {"sessions": 1})


def test_a_role_change_ends_the_session_rows_too(client, db):
    email = make_user(db, "agent")
    person = TestClient(client.app)
    login(person, email)
    login(client, make_user(db, "admin"))
    with db.read() as db_session:
        user_id = db_session.scalar(select(User.id).where(User.email == email))
    token = csrf_from(client.get(f"/users/{user_id}").text)
    client.post(f"/users/{user_id}", data={"csrf_token": token, "name": "Agent", "role": "manager", "state": "active"})
    assert person.get("/api/v1/me").status_code == 401
    with db.read() as db_session:
        assert db_session.scalar(select(StaffSession.ended_at).where(StaffSession.user_id == user_id)) is not None


def test_last_seen_is_written_every_few_minutes_not_per_request(client, db):
    email = make_user(db, "agent")
    login(client, email)
    with db.read() as db_session:
        row = db_session.scalar(select(StaffSession))
        user_id, key, started = row.user_id, row.key, row.last_seen_at
    assert sessions.find_staff(db, user_id, key, now=started + timedelta(minutes=4)).email == email
    with db.read() as db_session:
        assert db_session.scalar(select(StaffSession.last_seen_at)) == started
    later = started + sessions.TOUCH_EVERY + timedelta(seconds=1)
    sessions.find_staff(db, user_id, key, now=later)
    with db.read() as db_session:
        assert db_session.scalar(select(StaffSession.last_seen_at)) == later
    assert sessions.find_staff(db, user_id, "no such key", now=utcnow()) is None
