"""Login throttling on both stores: failures counted per address and per account in the store, growing delays, a
15-minute lock with a sentence saying when to try again, no argon2 for a refused attempt, and the owner of an
account still getting in: from a browser they logged in with before, or, after the lock, from anywhere."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pyotp
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.helpers import PASSWORD, csrf_from, make_user
from voxpop.accounts import service, throttle, two_factor
from voxpop.accounts.models import AuditEntry, LoginThrottle
from voxpop.accounts.views import current_time
from voxpop.web.app import create_app

START = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


class Clock:
    """The login's now, moved by the test."""

    def __init__(self):
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(settings, db, clock):
    # The per-address request budget of the middleware is raised out of the way: this is the store's throttle.
    app = create_app(settings.model_copy(update={"trust_proxy_headers": True, "login_rate_limit_per_minute": 100_000,
                                                 "rate_limit_per_minute": 100_000}), db)
    app.dependency_overrides[current_time] = clock
    return app


def attempt(client, email: str, password: str, address: str):
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password},
                       headers={"X-Forwarded-For": address}, follow_redirects=False)


@pytest.fixture
def argon2_runs(monkeypatch):
    """How many times argon2 checked a password."""
    runs = []

    class CountingHasher:
        def __init__(self, hasher):
            self.hasher = hasher

        def verify(self, *args):
            runs.append(1)
            return self.hasher.verify(*args)

        def __getattr__(self, name):
            return getattr(self.hasher, name)

    monkeypatch.setattr(service, "_hasher", CountingHasher(service._hasher))
    return runs


def attack(client, clock, emails, count=180):
    """`count` wrong passwords in one minute from the attacker's address; their replies."""
    replies = []
    for index in range(count):
        clock.now = START + timedelta(seconds=index / 3)
        replies.append(attempt(client, emails[index % len(emails)], "wrong password guess", ATTACKER))
    return replies


def test_180_wrong_passwords_on_one_account_are_mostly_refused_and_its_owner_still_gets_in(app, db, clock, argon2_runs):
    email = make_user(db, "agent")
    with TestClient(app) as owner, TestClient(app) as stranger, TestClient(app) as new_device:
        assert attempt(owner, email, PASSWORD, OWNER).status_code == 303  # a browser that has logged in before
        replies = attack(stranger, clock, [email])
        codes = [reply.status_code for reply in replies]
        assert codes.count(401) == 10 and codes.count(429) == 170 and len(argon2_runs) == 1 + 10
        refused = replies[-1]
        assert "Too many failed log-ins for this account: log-ins are locked. Try again in 15 minutes" in refused.text
        assert "a browser you have logged in with before" in refused.text
        assert 14 * 60 < int(refused.headers["retry-after"]) <= 15 * 60
        # The owner's browser is counted on its own; a browser new to the account waits for the lock to end.
        assert attempt(owner, email, PASSWORD, OWNER).status_code == 303
        assert attempt(new_device, email, PASSWORD, OWNER).status_code == 429
        clock.now = START + timedelta(minutes=20)
        assert attempt(new_device, email, PASSWORD, OWNER).status_code == 303
    with db.read() as db_session:
        locks = db_session.execute(select(AuditEntry.target, AuditEntry.details)
                                   .where(AuditEntry.action == "login.locked")).all()
    assert [(target, details["kind"]) for target, details in locks] == [(email, "account")]


def test_spraying_many_accounts_locks_the_address_not_the_people(app, db, clock, argon2_runs):
    email = make_user(db, "agent")
    with TestClient(app) as stranger, TestClient(app) as owner:
        replies = attack(stranger, clock, [f"guess{number}@example.com" for number in range(180)])
        codes = [reply.status_code for reply in replies]
        assert codes.count(429) > 160 and codes.count(401) == len(argon2_runs) < 20
        assert "Too many failed log-ins from your address" in replies[-1].text
        assert attempt(stranger, email, PASSWORD, ATTACKER).status_code == 429  # even the right password waits
        assert attempt(owner, email, PASSWORD, OWNER).status_code == 303


def test_delays_grow_then_lock_and_a_success_clears_the_accounts_count(app, db, clock):
    email = make_user(db, "agent")
    with TestClient(app) as client:
        assert [attempt(client, email, "wrong password guess", ATTACKER).status_code for _ in range(5)] == [401] * 5
        refused = attempt(client, email, "wrong password guess", ATTACKER)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert "Wait and try again in 1 second." in refused.text
        clock.now += timedelta(seconds=1)
        assert attempt(client, email, "wrong password guess", ATTACKER).status_code == 401
        assert attempt(client, email, "wrong password guess", ATTACKER).headers["retry-after"] == "2"
        clock.now += timedelta(seconds=2)
        assert attempt(client, email, PASSWORD, ATTACKER).status_code == 303
    with db.read() as db_session:
        rows = db_session.execute(select(LoginThrottle.kind, LoginThrottle.failures)).all()
    assert rows == [("address", 6)]  # the account's count is gone; the address's decays on its own


def test_counts_are_forgotten_a_quarter_of_an_hour_after_the_last_failure(app, db, clock):
    email = make_user(db, "agent")
    with TestClient(app) as client:
        for _ in range(5):
            attempt(client, email, "wrong password guess", ATTACKER)
        clock.now += throttle.LOCK
        assert [attempt(client, email, "wrong password guess", ATTACKER).status_code for _ in range(5)] == [401] * 5


def test_counts_live_in_the_store_so_every_server_process_sees_them(settings, db, clock):
    email = make_user(db, "agent")
    servers = []
    for _ in range(2):
        app = create_app(settings.model_copy(update={"login_rate_limit_per_minute": 100_000}), db)
        app.dependency_overrides[current_time] = clock
        servers.append(app)
    with TestClient(servers[0]) as first, TestClient(servers[1]) as second:
        for number in range(5):
            attempt(first if number % 2 else second, email, "wrong password guess", ATTACKER)
        assert attempt(first, email, "wrong password guess", ATTACKER).status_code == 429
        assert attempt(second, email, "wrong password guess", ATTACKER).status_code == 429


def test_a_forged_device_cookie_counts_for_nothing(app, db, clock):
    email = make_user(db, "agent")
    with TestClient(app) as stranger:
        stranger.cookies.set("voxpop_device", "eyJpZCI6ImZvcmdlZCIsInVzZXJzIjpbMV19.forged.signature")
        codes = [attempt(stranger, email, "wrong password guess", ATTACKER).status_code for _ in range(6)]
        assert codes == [401] * 5 + [429]


@given(st.sampled_from(sorted(throttle.POLICIES)), st.integers(min_value=0, max_value=200))
def test_a_delay_never_shrinks_with_more_failures_and_never_passes_the_lock(kind, failures):
    policy = throttle.POLICIES[kind]
    assert throttle.delay(failures, policy) <= throttle.delay(failures + 1, policy) <= throttle.LOCK
    assert (throttle.delay(failures, policy) == timedelta(0)) == (failures < policy.free)


def in_parallel(app, count: int, post) -> list[int]:
    """`count` clients, each on its own thread, that post at once once all are ready; their status codes."""
    clients = [TestClient(app) for _ in range(count)]
    ready = threading.Barrier(count)

    def one(client):
        prepared = post(client)  # the GET of the form, before the barrier
        ready.wait()
        return prepared().status_code

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, clients))


def test_parallel_wrong_passwords_run_argon2_no_more_often_than_the_budget(app, db, clock, monkeypatch):
    email = make_user(db, "agent")
    checks = []
    verify = service.verify_credentials

    def counted(**kwargs):
        checks.append(1)
        return verify(**kwargs)

    monkeypatch.setattr(service, "verify_credentials", counted)

    def wrong_password(client):
        token = csrf_from(client.get("/login").text)
        return lambda: client.post("/login", data={"csrf_token": token, "email": email, "password": "wrong guess"},
                                   headers={"X-Forwarded-For": ATTACKER}, follow_redirects=False)

    with TestClient(app):
        codes = in_parallel(app, 40, wrong_password)
    # Each attempt was counted before argon2 ran: at most the account's budget were checked, the rest refused.
    assert len(checks) == codes.count(401) <= throttle.POLICIES["account"].lock_at
    assert codes.count(429) == 40 - len(checks)
    with db.read() as db_session:
        counted_failures = dict(db_session.execute(select(LoginThrottle.kind, LoginThrottle.failures)).all())
    assert counted_failures == {"account": len(checks), "address": len(checks)}


def test_parallel_wrong_codes_are_checked_no_more_often_than_the_budget(app, db, clock, monkeypatch):
    email = make_user(db, "agent")
    with db.write() as db_session:
        user_id = service.user_id_for(db_session=db_session, email=email)
        secret = two_factor.begin(db_session=db_session, user_id=user_id)
        two_factor.confirm(db_session=db_session, user_id=user_id, code=pyotp.TOTP(secret).at(clock.now),
                           now=clock.now)
    checks = []
    check = two_factor.check

    def counted(**kwargs):
        checks.append(1)
        return check(**kwargs)

    monkeypatch.setattr(two_factor, "check", counted)
    with TestClient(app) as first:
        assert attempt(first, email, PASSWORD, OWNER).headers["location"] == "/login/code"

        def wrong_code(client):
            client.cookies.update(first.cookies)  # the same half-done log-in, password already right
            token = csrf_from(client.get("/login/code").text)
            return lambda: client.post("/login/code", data={"csrf_token": token, "code": "000000"},
                                       headers={"X-Forwarded-For": OWNER}, follow_redirects=False)

        codes = in_parallel(app, 40, wrong_code)
    assert len(checks) == codes.count(401) <= throttle.POLICIES["code"].lock_at
    assert codes.count(429) == 40 - len(checks)


def test_a_success_does_not_wipe_the_addresss_count_of_guesses_at_other_accounts(app, db, clock):
    victim, insider = make_user(db, "agent"), make_user(db, "viewer")
    with TestClient(app) as client:
        for _ in range(4):
            assert attempt(client, victim, "wrong password guess", ATTACKER).status_code == 401
        assert attempt(client, insider, PASSWORD, ATTACKER).status_code == 303  # the insider's own account
    with db.read() as db_session:
        rows = db_session.execute(select(LoginThrottle.kind, LoginThrottle.subject, LoginThrottle.failures)).all()
    # The insider's account has no count; the address keeps its 4 failures (the success took back only its own).
    assert sorted(rows) == [("account", victim, 4), ("address", ATTACKER, 4)]


def test_parallel_wrong_current_passwords_run_argon2_no_more_often_than_the_budget(app, db, clock, monkeypatch):
    email = make_user(db, "agent")
    with TestClient(app) as first:
        assert attempt(first, email, PASSWORD, OWNER).status_code == 303
        checks = []
        verify = service.verify_credentials

        def counted(**kwargs):
            checks.append(1)
            return verify(**kwargs)

        monkeypatch.setattr(service, "verify_credentials", counted)

        def wrong_current(client):
            client.cookies.update(first.cookies)  # the same session, left open
            token = csrf_from(client.get("/account").text)
            return lambda: client.post("/account/password", data={
                "csrf_token": token, "current": "not my password", "password": "a new password 123",
                "again": "a new password 123"}, follow_redirects=False)

        codes = in_parallel(app, 40, wrong_current)
    assert len(checks) == codes.count(400) <= throttle.POLICIES["account"].lock_at
    assert codes.count(429) == 40 - len(checks)


def test_a_right_current_password_takes_back_only_its_own_count(app, db, clock):
    email = make_user(db, "agent")
    with TestClient(app) as client:
        assert attempt(client, email, PASSWORD, OWNER).status_code == 303
        token = csrf_from(client.get("/account").text)
        for current in ["not my password"] * 3 + [PASSWORD]:
            client.post("/account/password", data={"csrf_token": token, "current": current,
                                                   "password": "a new password 123", "again": "a new password 123"},
                        follow_redirects=False)
    with db.read() as db_session:
        rows = db_session.execute(select(LoginThrottle.kind, LoginThrottle.failures)).all()
    assert rows == [("account", 3)]  # the owner's change does not lift what strangers counted on the account
