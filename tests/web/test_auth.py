"""Staff pages and APIs need a login; roles are enforced on the server; forms carry CSRF tokens."""

import pytest
from sqlalchemy import select

from voxpop.accounts.models import AuditEntry
from voxpop.surveys.models import Survey
from tests.helpers import PASSWORD, apply_survey, csrf_from, login, make_user

STAFF_PAGES = ["/dashboard"]
STAFF_APIS = ["/api/v1/dashboard", "/api/v1/me"]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_anonymous_users_are_sent_to_the_login(client, path):
    reply = client.get(path, follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == f"/login?next=%2F{path.strip('/')}"


@pytest.mark.parametrize("path", STAFF_APIS)
def test_anonymous_api_calls_get_401_problem(client, path):
    reply = client.get(path)
    assert reply.status_code == 401 and reply.headers["content-type"] == "application/problem+json"


def test_anonymous_users_cannot_change_a_survey(client, db):
    apply_survey(db)
    reply = client.post("/surveys/feedback/status", data={"status": "closed"}, follow_redirects=False)
    assert reply.status_code in (303, 403)
    with db.read() as db_session:
        assert db_session.scalar(select(Survey.status)) == "live"


def test_login_sets_a_signed_httponly_samesite_cookie(client, db):
    email = make_user(db, "analyst")
    reply = login(client, email)
    assert reply.status_code == 303 and reply.headers["location"] == "/dashboard"
    cookie = reply.headers["set-cookie"].lower()
    assert "voxpop_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/api/v1/me").json()["role"] == "analyst"


def test_a_wrong_password_says_so_and_is_audited(client, db):
    email = make_user(db)
    reply = login(client, email, "not the password")
    assert reply.status_code == 401 and "do not match an active account" in reply.text
    with db.read() as db_session:
        assert db_session.scalar(select(AuditEntry.action)) == "login.failed"


def test_a_wrong_csrf_token_is_refused_clearly(client, db):
    email = make_user(db)
    client.get("/login")
    reply = client.post("/login", data={"csrf_token": "guess", "email": email, "password": PASSWORD})
    assert reply.status_code == 403 and "reload the page and try again" in reply.text
    assert client.get("/api/v1/me").status_code == 401


def test_an_offsite_next_is_not_followed(client, db):
    email = make_user(db)
    token = csrf_from(client.get("/login?next=//evil.example").text)
    reply = client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD,
                                        "next": "https://evil.example"}, follow_redirects=False)
    assert reply.headers["location"] == "/dashboard"


@pytest.mark.parametrize("role, allowed", [("viewer", False), ("agent", False), ("analyst", False),
                                           ("manager", True), ("admin", True)])
def test_only_admins_and_managers_change_survey_status(client, db, role, allowed):
    apply_survey(db)
    login(client, make_user(db, role))
    token = csrf_from(client.get("/dashboard").text)
    reply = client.post("/surveys/feedback/status", data={"csrf_token": token, "status": "closed"}, follow_redirects=False)
    assert reply.status_code == (303 if allowed else 403)
    with db.read() as db_session:
        assert db_session.scalar(select(Survey.status)) == ("closed" if allowed else "live")
        actions = db_session.scalars(select(AuditEntry.action)).all()
        assert ("survey.status" in actions) == allowed


def test_status_change_without_csrf_is_refused(client, db):
    apply_survey(db)
    login(client, make_user(db, "admin"))
    reply = client.post("/surveys/feedback/status", data={"status": "closed"})
    assert reply.status_code == 403


def test_logout_ends_the_session(client, db):
    login(client, make_user(db))
    token = csrf_from(client.get("/dashboard").text)
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/api/v1/me").status_code == 401


def test_security_headers(client):
    headers = client.get("/login").headers
    assert headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"
