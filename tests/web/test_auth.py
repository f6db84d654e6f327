"""Staff pages and APIs need a login; roles are enforced on the server; forms carry CSRF tokens."""

import re
import tempfile
from urllib.parse import quote

import pytest
from sqlalchemy import select

from tests.helpers import PASSWORD, apply_survey, csrf_from, login, make_user
from voxpop.accounts.models import AuditEntry
from voxpop.settings import Settings
from voxpop.surveys.models import Survey
from voxpop.web.app import create_app
from voxpop.web.routing import flatten

# What customers reach without a login: the survey, its collection API, the unsubscribe link of an invitation
# e-mail and the embeddable widget's script.
PUBLIC = ("/s/", "/api/v1/surveys/", "/login", "/reset/", "/static", "/healthz", "/api/v1/openapi.json", "/favicon.ico",
          "/u/", "/widget.js", "/")


def staff_routes(method: str) -> list[str]:
    """Every route of the app that is not public: a new page is covered without editing this test."""
    app = create_app(Settings(secret_key="x" * 40, database_url=f"sqlite:///{tempfile.mkdtemp()}/routes.db"))
    paths = [path for path, route in flatten(app.routes) if method in getattr(route, "methods", set())]
    return [path for path in paths if path != "/" and not path.startswith(PUBLIC[:-1])]


def concrete(path: str) -> str:
    """An address the route answers: a parameter typed as a number gets one (the others take their name)."""
    return re.sub(r"\{\w+:int\}", "1", path)


STAFF_PAGES = [path for path in staff_routes("GET") if not path.startswith("/api/")]
STAFF_APIS = [path for path in staff_routes("GET") if path.startswith("/api/")]
STAFF_POSTS = staff_routes("POST")


def test_the_staff_routes_are_found():
    assert "/dashboard" in STAFF_PAGES and "/api/v1/me" in STAFF_APIS and "/surveys/{key}/status" in STAFF_POSTS


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_anonymous_users_are_sent_to_the_login(client, path):
    target = concrete(path)
    reply = client.get(target, follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == f"/login?next={quote(target, safe='')}"


@pytest.mark.parametrize("path", STAFF_APIS)
def test_anonymous_api_calls_get_401_problem(client, path):
    reply = client.get(concrete(path))
    assert reply.status_code == 401 and reply.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", STAFF_POSTS)
def test_anonymous_posts_are_refused_even_with_a_valid_csrf_token(client, db, path):
    apply_survey(db)
    token = csrf_from(client.get("/login").text)  # an anonymous session does get a token
    target = concrete(path.replace("{key}", "feedback"))
    reply = client.post(target, data={"csrf_token": token, "status": "closed"}, follow_redirects=False)
    if path.startswith("/api/"):
        assert reply.status_code == 401 and reply.headers["content-type"] == "application/problem+json"
    else:
        assert reply.status_code == 303 and reply.headers["location"].startswith("/login")
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
    assert reply.status_code == 403 and "Reload the page and try again" in reply.text
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


def test_logout_ends_the_session_even_for_a_copied_cookie(client, db):
    login(client, make_user(db))
    copied = client.cookies.get("voxpop_session")
    token = csrf_from(client.get("/dashboard").text)
    client.post("/logout", data={"csrf_token": token})
    client.cookies.set("voxpop_session", copied)
    assert client.get("/api/v1/me").status_code == 401


def test_the_right_most_forwarded_address_is_believed():
    from voxpop.web.auth import client_from_scope

    scope = {"headers": [(b"x-forwarded-for", b"6.6.6.6, 10.0.0.7")], "client": ("127.0.0.1", 5000)}
    assert client_from_scope(scope, trust_proxy_headers=True) == "10.0.0.7"
    assert client_from_scope(scope, trust_proxy_headers=False) == "127.0.0.1"


def test_a_nul_in_the_login_email_is_a_failed_login_not_a_500(client, db):
    token = csrf_from(client.get("/login").text)
    reply = client.post("/login", data={"csrf_token": token, "email": "a\x00@example.com", "password": "x"})
    assert reply.status_code == 401


@pytest.mark.parametrize("path", ["/login", "/login/code", "/login/enrol", "/reset/not-a-token"])
def test_every_form_that_checks_a_secret_spends_the_login_budget(settings, db, path):
    from fastapi.testclient import TestClient

    budgeted = settings.model_copy(update={"rate_limit_per_minute": 1000, "login_rate_limit_per_minute": 2})
    with TestClient(create_app(budgeted, db)) as limited:
        codes = [limited.post(path, data={"code": "000000"}, follow_redirects=False).status_code for _ in range(3)]
        assert codes[:2] != [429, 429] and codes[2] == 429  # the third POST on the budget of 2 is refused
        assert limited.get("/login/code", follow_redirects=False).status_code != 429  # pages are not counted
