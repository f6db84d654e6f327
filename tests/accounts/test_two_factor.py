"""Two-factor sign-in: set up from the account page with a QR code and confirmed by a code, recovery codes shown
once and used once, the code asked after the password (no session before it is right, a code not replayed in
its time step, wrong codes throttled), turning it off with password and code, roles that require it sending
their users to set it up at log-in, and an admin resetting a user's app; audited throughout."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import PASSWORD, csrf_from, login, make_user
from voxpop.accounts.models import AuditEntry, RecoveryCode, User
from voxpop.accounts.views import current_time

START = datetime(2026, 12, 7, 9, 0, 5, tzinfo=timezone.utc)


class Clock:
    def __init__(self):
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(client):
    clock = Clock()
    client.app.dependency_overrides[current_time] = clock
    return clock


def code_at(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


def set_up(client, clock) -> tuple[str, list[str]]:
    """Turn two-factor sign-in on from the account page; the secret and the recovery codes."""
    token = csrf_from(client.get("/account").text)
    page = client.post("/account/2fa/start", data={"csrf_token": token})
    assert page.status_code == 200 and 'src="data:image/svg+xml' in page.text
    assert page.headers["cache-control"] == "no-store"
    secret = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
    wrong = client.post("/account/2fa", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 400 and "not the code your app shows now" in wrong.text
    shown = client.post("/account/2fa", data={"csrf_token": token, "code": code_at(secret, clock.now)})
    assert shown.status_code == 200 and "shown only now" in shown.text
    codes = re.findall(r"<li><code>([0-9a-f]{8}-[0-9a-f]{8})</code></li>", shown.text)
    assert len(codes) == 10
    return secret, codes


def password_step(client, email: str, password: str = PASSWORD):
    return login(client, email, password)


def code_step(client, code: str):
    token = csrf_from(client.get("/login/code").text)
    return client.post("/login/code", data={"csrf_token": token, "code": code}, follow_redirects=False)


def test_set_up_then_log_in_with_the_apps_code_not_replayable(client, db, clock):
    email = make_user(db, "analyst")
    login(client, email)
    secret, codes = set_up(client, clock)
    assert client.get("/api/v1/account").json()["two_factor"] == {"enabled": True, "pending": False,
                                                                  "required": False, "recovery_codes_left": 10}
    with db.read() as db_session:
        stored = db_session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # only hashes are kept

    person = TestClient(client.app)
    clock.now += timedelta(seconds=60)
    reply = password_step(person, email)
    assert reply.status_code == 303 and reply.headers["location"] == "/login/code"
    assert person.get("/api/v1/me").status_code == 401  # no session before the code
    assert person.get("/dashboard", follow_redirects=False).headers["location"].startswith("/login")
    wrong = code_step(person, "123456" if code_at(secret, clock.now) != "123456" else "654321")
    assert wrong.status_code == 401 and "that code is not right" in wrong.text.lower()
    now_code = code_at(secret, clock.now)
    assert code_step(person, now_code).status_code == 303
    assert person.get("/api/v1/me").json()["email"] == email

    replay = TestClient(client.app)
    password_step(replay, email)
    assert code_step(replay, now_code).status_code == 401  # the same code in the same step: refused
    recovered = code_step(replay, codes[0])
    assert recovered.status_code == 303
    reused = TestClient(client.app)
    password_step(reused, email)
    assert code_step(reused, codes[0]).status_code == 401
    with db.read() as db_session:
        actions = db_session.execute(select(AuditEntry.action, AuditEntry.details)
                                     .where(AuditEntry.action.in_(["login", "user.2fa_enable", "login.code_failed"]))
                                     ).all()
    assert ("user.2fa_enable", {}) in actions and ("login", {"second_factor": "recovery"}) in actions
    assert [action for action, _ in actions].count("login.code_failed") == 3


def test_wrong_codes_are_throttled_and_a_half_done_log_in_expires(client, db, clock):
    email = make_user(db, "agent")
    login(client, email)
    secret, _ = set_up(client, clock)
    person = TestClient(client.app)
    password_step(person, email)
    codes = [code_step(person, "000000").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    clock.now += timedelta(minutes=6)
    assert person.get("/login/code", follow_redirects=False).headers["location"] == "/login"


def test_turning_it_off_takes_the_password_and_a_code(client, db, clock):
    email = make_user(db, "viewer")
    login(client, email)
    secret, _ = set_up(client, clock)
    token = csrf_from(client.get("/account").text)
    clock.now += timedelta(seconds=30)
    wrong = client.post("/account/2fa/off", data={"csrf_token": token, "password": "not it",
                                                  "code": code_at(secret, clock.now)})
    assert wrong.status_code == 400 and "The password is not right" in wrong.text
    reply = client.post("/account/2fa/off", data={"csrf_token": token, "password": PASSWORD,
                                                  "code": code_at(secret, clock.now)}, follow_redirects=False)
    assert reply.status_code == 303
    assert client.get("/api/v1/account").json()["two_factor"]["enabled"] is False
    assert password_step(TestClient(client.app), email).headers["location"] == "/dashboard"


def test_a_required_role_sets_up_its_app_right_after_the_password(client, db, clock):
    email = make_user(db, "manager")
    login(client, make_user(db, "admin"))
    token = csrf_from(client.get("/admin/security").text)
    saved = client.post("/admin/security", data={"csrf_token": token, "roles": ["manager", "admin"]},
                        follow_redirects=False)
    assert saved.status_code == 303
    assert client.get("/api/v1/admin/security").json()["required_roles"] == ["admin", "manager"]
    assert client.post("/admin/security", data={"csrf_token": token, "roles": ["boss"]}).status_code == 400

    person = TestClient(client.app)
    assert password_step(person, email).headers["location"] == "/login/enrol"
    assert person.get("/api/v1/me").status_code == 401
    page = person.get("/login/enrol")
    assert "Your role signs in with a code" in page.text
    secret = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
    shown = person.post("/login/enrol", data={"csrf_token": csrf_from(page.text), "code": code_at(secret, clock.now)})
    assert shown.status_code == 200 and "shown only now" in shown.text
    assert person.get("/api/v1/me").json()["email"] == email
    token = csrf_from(person.get("/account").text)
    refused = person.post("/account/2fa/off", data={"csrf_token": token, "password": PASSWORD, "code": "1"})
    assert refused.status_code == 400 and "required for the manager role" in refused.text

    with db.read() as db_session:
        user_id = db_session.scalar(select(User.id).where(User.email == email))
    token = csrf_from(client.get(f"/users/{user_id}").text)
    assert client.post(f"/users/{user_id}/2fa/reset", data={"csrf_token": token}).status_code == 200
    assert person.get("/api/v1/me").status_code == 401  # their sessions ended with it
    assert password_step(TestClient(client.app), email).headers["location"] == "/login/enrol"
    with db.read() as db_session:
        actions = db_session.scalars(select(AuditEntry.action)).all()
    assert {"security.2fa_roles", "user.2fa_enable", "user.2fa_reset"} <= set(actions)
