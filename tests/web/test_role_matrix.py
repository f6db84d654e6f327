"""Every route of the app, asked by an anonymous visitor and by each role: anonymous gets the login (a page) or 401
(the API), a role the route does not name gets 403, a role it names gets through. The routes and the roles each
allows are read from the app itself (require_role's `.roles`, found by walking each route's dependencies), so a
route added later is checked without editing this file."""

from __future__ import annotations

import re
import tempfile

import pytest
from fastapi.testclient import TestClient

from tests.helpers import csrf_from, login, make_user
from tests.web.test_auth import PUBLIC
from voxpop.accounts.models import ROLES
from voxpop.settings import Settings
from voxpop.store.database import Database
from voxpop.store.migrate import upgrade
from voxpop.web.app import create_app
from voxpop.web.auth import require_user
from voxpop.web.routing import flatten

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SECRET = "role-matrix-secret-not-for-production-0123"


def _dependencies(dependant):
    """Every dependency of a route, however deep."""
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependencies(dependency)


def route_access(route) -> tuple[bool, frozenset[str] | None]:
    """Whether the route needs a staff login, and the roles it lets through (None: every staff member)."""
    calls = [dependency.call for dependency in _dependencies(route.dependant)]
    allowed = None
    for call in calls:
        roles = getattr(call, "roles", None)
        if roles is not None:  # several checks on one route: a role must pass each
            allowed = frozenset(roles) if allowed is None else allowed & frozenset(roles)
    return require_user in calls, allowed


def concrete(path: str) -> str:
    """An address the route answers: every parameter gets 1 (a number, a key or a file name alike)."""
    return re.sub(r"\{[^}]+\}", "1", path)


def public(path: str) -> bool:
    """On test_auth's list of what customers reach without a login."""
    return path == "/" or path.startswith(PUBLIC[:-1])


def _routes() -> list[tuple[str, str, bool, frozenset[str] | None]]:
    app = create_app(Settings(secret_key=SECRET, database_url=f"sqlite:///{tempfile.mkdtemp()}/routes.db"))
    found = []
    for path, route in flatten(app.routes):
        if not hasattr(route, "dependant"):
            continue  # the static files and the OpenAPI document
        needs_login, allowed = route_access(route)
        for method in sorted(set(route.methods or ()) & set(METHODS)):
            found.append((method, path, needs_login, allowed))
    return found


ROUTES = _routes()
STAFF = [(method, path, allowed) for method, path, needs_login, allowed in ROUTES if needs_login]
WHO = ("anonymous", *ROLES)


def test_the_matrix_reads_the_routes_and_their_roles():
    by_route = {(method, path): allowed for method, path, allowed in STAFF}
    assert by_route[("GET", "/admin/audit")] == {"admin"}
    assert by_route[("GET", "/dashboard")] is None or "viewer" in by_route[("GET", "/dashboard")]
    assert by_route[("POST", "/surveys/{key}/status")] == {"admin", "manager"}
    assert len(STAFF) > 200


@pytest.mark.parametrize("method, path", sorted({(method, path) for method, path, needs_login, _ in ROUTES
                                                 if not needs_login}))
def test_every_route_without_a_login_is_a_public_one(method, path):
    assert public(path), f"{method} {path} asks for no staff login but is not on test_auth's PUBLIC list"


class Visitors:
    """One app on one SQLite store, and a client for each role, signed in (the app's lifespan runs once, in the
    fixture; these clients share it)."""

    def __init__(self, app, db: Database):
        self.app, self.clients, self.tokens = app, {}, {}
        for role in ROLES:
            make_user(db, role, f"{role}@example.com")
        self.clients["anonymous"] = TestClient(app)
        self.tokens["anonymous"] = csrf_from(self.clients["anonymous"].get("/login").text)  # a token, no login
        for role in ROLES:
            self.sign_in(role)

    def sign_in(self, role: str) -> None:
        self.clients[role] = client = TestClient(self.app)
        assert login(client, f"{role}@example.com").status_code == 303
        self.tokens[role] = client.get("/api/v1/me").json()["csrf_token"]

    def ask(self, who: str, method: str, path: str):
        """The route's answer to `who`; a POST carries the session's CSRF token, as a form field and a header."""
        client, token = self.clients[who], self.tokens[who]
        if method == "GET":
            return client.get(path, follow_redirects=False)
        reply = client.request(method, path, data={"csrf_token": token}, headers={"X-CSRF-Token": token},
                               follow_redirects=False)
        if who != "anonymous":
            self.keep(who)
        return reply

    def keep(self, role: str) -> None:
        """The session as the route left it: a route may renew it (a new token) or end it (logout, a password
        change), and then the role signs in again for the routes after it."""
        me = self.clients[role].get("/api/v1/me")
        if me.status_code == 401:
            self.sign_in(role)
        else:
            self.tokens[role] = me.json()["csrf_token"]


@pytest.fixture(scope="module")
def visitors(tmp_path_factory):
    folder = tmp_path_factory.mktemp("matrix")
    settings = Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'voxpop.db'}", secret_key=SECRET,
                        rate_limit_per_minute=100_000, login_rate_limit_per_minute=100_000, text_worker=False,
                        case_worker=False)
    db = Database(settings.sqlalchemy_url)
    upgrade(db.write_engine)
    make_user(db, "viewer", "placeholder@example.com")  # user 1, whom routes given the dummy id 1 may change
    app = create_app(settings, db)
    with TestClient(app):
        yield Visitors(app, db)
    db.dispose()


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("method, path, allowed", STAFF, ids=[f"{method} {path}" for method, path, _ in STAFF])
def test_route_answers_by_role(visitors, method, path, allowed, who):
    reply = visitors.ask(who, method, concrete(path))
    said = f"{who} {method} {path}: {reply.status_code} {reply.text[:200]!r}"
    if who == "anonymous":
        if path.startswith("/api/"):
            assert reply.status_code == 401, said
        else:
            assert reply.status_code == 303 and reply.headers["location"].startswith("/login"), said
    elif allowed is not None and who not in allowed:
        assert reply.status_code == 403, said
    else:
        assert reply.status_code not in (401, 403) and reply.status_code < 500, said
        assert not reply.headers.get("location", "").startswith("/login?next="), said  # not sent to log in
