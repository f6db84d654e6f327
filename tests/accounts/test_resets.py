"""Password-reset links: shown once, stored as a hash, used once (also when two requests race), expiring, rate
limited, and ending the user's other sessions."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import csrf_from, login, make_user
from voxpop.accounts import resets, service
from voxpop.accounts.models import AuditEntry, PasswordReset, User
from voxpop.store.base import utcnow
from voxpop.web.app import create_app

NEW_PASSWORD = "a brand new password"


def reset_link(client, db, email: str) -> str:
    """The path of a reset link an admin makes for the user, from the page that shows it."""
    if client.get("/api/v1/me").status_code == 401:
        login(client, make_user(db, "admin"))
    with db.read() as db_session:
        user_id = db_session.scalar(select(User.id).where(User.email == email))
    token = csrf_from(client.get(f"/users/{user_id}").text)
    page = client.post(f"/users/{user_id}/reset", data={"csrf_token": token})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "shown only now" in page.text
    return re.search(r'value="http://testserver(/reset/[^"]+)"', page.text).group(1)


def set_password(client, path: str, password: str = NEW_PASSWORD, again: str | None = None):
    token = csrf_from(client.get("/login").text)  # the same session token the reset form carries
    return client.post(path, data={"csrf_token": token, "password": password,
                                   "again": password if again is None else again})


def test_a_reset_link_sets_a_password_once_and_ends_other_sessions(client, db):
    email = make_user(db, "agent")
    old_session = TestClient(client.app)
    login(old_session, email)
    path = reset_link(client, db, email)
    with db.read() as db_session:
        stored = db_session.scalar(select(PasswordReset.token_hash))
    assert stored == resets.token_hash(path.removeprefix("/reset/"))  # only the hash is kept
    person = TestClient(client.app)
    reply = set_password(person, path)
    assert reply.status_code == 200 and "Your password is set" in reply.text
    assert old_session.get("/api/v1/me").status_code == 401
    assert login(person, email, NEW_PASSWORD).status_code == 303
    again = person.get(path)
    assert again.status_code == 410 and "has been used already" in again.text
    assert set_password(TestClient(client.app), path).status_code == 410
    with db.read() as db_session:
        actions = db_session.execute(select(AuditEntry.action, AuditEntry.details)).all()
    assert ("user.password_reset", {}) in actions and "user.reset_link" in {action for action, _ in actions}
    assert path.removeprefix("/reset/") not in str(actions)


def test_a_new_user_without_a_password_gets_a_link_shown_once(client, db):
    login(client, make_user(db, "admin"))
    token = csrf_from(client.get("/users").text)
    page = client.post("/users", data={"csrf_token": token, "email": "new@example.com", "name": "New Person",
                                       "role": "analyst"})
    assert page.status_code == 200 and "shown only now" in page.text and "e-mail" in page.text
    path = re.search(r'value="http://testserver(/reset/[^"]+)"', page.text).group(1)
    person = TestClient(client.app)
    assert login(person, "new@example.com", "").status_code == 401  # no password works before the link is used
    assert "No password yet" in client.get("/users").text
    assert set_password(person, path).status_code == 200
    assert login(person, "new@example.com", NEW_PASSWORD).status_code == 303


def test_a_newer_link_replaces_the_earlier_one(client, db):
    email = make_user(db, "agent")
    first = reset_link(client, db, email)
    second = reset_link(client, db, email)
    assert client.get(first).status_code == 410
    assert set_password(TestClient(client.app), second).status_code == 200


@pytest.mark.parametrize("password, again, message", [
    ("short", "short", "at least 10 characters"),
    (NEW_PASSWORD, "something else entirely", "The two passwords differ"),
    ("", "", "at least 10 characters"),
])
def test_a_bad_new_password_is_refused_and_the_link_still_works(client, db, password, again, message):
    email = make_user(db, "agent")
    path = reset_link(client, db, email)
    person = TestClient(client.app)
    reply = set_password(person, path, password, again)
    assert reply.status_code == 400 and message in reply.text
    assert set_password(person, path).status_code == 200


@pytest.mark.parametrize("path", ["/reset/not-a-token", "/reset/" + "x" * 300, "/reset/%00%01"])
def test_unknown_or_malformed_links_get_a_clear_page(client, path):
    reply = client.get(path)
    if "%00" in path:  # the plumbing answers a NUL in any address before a route sees it: no address holds one
        assert reply.status_code == 404 and "There is nothing at this address" in reply.text
        return
    assert reply.status_code in (400, 410) and "Internal" not in reply.text
    if reply.status_code == 410:
        assert "not a valid password-reset link" in reply.text or "not a password-reset link" in reply.text


def test_an_expired_link_says_so(client, db):
    email = make_user(db, "agent")
    path = reset_link(client, db, email)
    with db.write() as db_session:
        for reset in db_session.scalars(select(PasswordReset)):
            reset.expires_at = utcnow() - timedelta(minutes=1)
    reply = client.get(path)
    assert reply.status_code == 410 and "expired" in reply.text and "ask an admin for a new link" in reply.text
    reply = set_password(TestClient(client.app), path)
    assert reply.status_code == 410 and "expired" in reply.text


def test_a_deactivated_users_link_no_longer_works_even_after_reactivation(client, db):
    email = make_user(db, "agent")
    path = reset_link(client, db, email)
    with db.write() as db_session:
        db_session.scalar(select(User).where(User.email == email)).is_active = False
    reply = client.get(path)
    assert reply.status_code == 410 and "deactivated" in reply.text
    with db.write() as db_session:
        agent = db_session.scalar(select(User).where(User.email == email))
        agent.is_active = True
        service.update_user(db_session=db_session, user_id=agent.id, name="Agent", role="agent", department_id=None,
                            is_active=False)
        service.update_user(db_session=db_session, user_id=agent.id, name="Agent", role="agent", department_id=None,
                            is_active=True)
    reply = client.get(path)
    assert reply.status_code == 410 and "not a valid password-reset link" in reply.text


def test_two_uses_of_one_link_at_once_let_exactly_one_win(db):
    email = make_user(db, "agent")
    with db.write() as db_session:
        user = db_session.scalar(select(User).where(User.email == email))
        token = resets.create_reset(db_session=db_session, user=user, created_by=None)
    hashes = [service.hash_password(f"password number {n}") for n in range(2)]
    start, outcomes = threading.Barrier(2), []

    def use(password_hash: str) -> None:
        start.wait()
        try:
            with db.write() as db_session:
                resets.use_reset(db_session=db_session, token=token, password_hash=password_hash)
            outcomes.append(password_hash)
        except resets.ResetUnusable:
            outcomes.append("refused")

    threads = [threading.Thread(target=use, args=(password_hash,)) for password_hash in hashes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcome == "refused" for outcome in outcomes) == [False, True]
    winner = next(outcome for outcome in outcomes if outcome != "refused")
    with db.read() as db_session:
        assert db_session.scalar(select(User.password_hash).where(User.email == email)) == winner
        assert db_session.scalar(select(User.session_version).where(User.email == email)) == 2


def test_the_reset_form_is_rate_limited_like_the_login(settings, db):
    email = make_user(db, "agent")
    with db.write() as db_session:
        user = db_session.scalar(select(User).where(User.email == email))
        token = resets.create_reset(db_session=db_session, user=user, created_by=None)
    with TestClient(create_app(settings.model_copy(update={"rate_limit_per_minute": 2, "login_rate_limit_per_minute": 2}), db)) as client:
        csrf = csrf_from(client.get(f"/reset/{token}").text)
        replies = [client.post(f"/reset/{token}", data={"csrf_token": csrf, "password": "short", "again": "short"})
                   for _ in range(3)]
    assert [reply.status_code for reply in replies] == [400, 400, 429]
    assert "Too many requests" in replies[-1].text


def test_the_reset_form_needs_its_csrf_token(client, db):
    email = make_user(db, "agent")
    with db.write() as db_session:
        user = db_session.scalar(select(User).where(User.email == email))
        token = resets.create_reset(db_session=db_session, user=user, created_by=None)
    reply = client.post(f"/reset/{token}", data={"password": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert reply.status_code == 403
    assert client.get(f"/reset/{token}").status_code == 200  # the link is still unused
