"""Admins manage users in the browser: roles on the server, CSRF, the last-admin rule, sessions ended by a change,
every change audited, and bad input refused with a sentence instead of a server error."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import csrf_from, login, make_user
from tests.web.test_no_inline import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE, STYLE_ELEMENT
from voxpop.accounts import resets, service
from voxpop.accounts.models import AuditEntry, Department, User


def admin_client(client, db, email: str = "admin@example.com"):
    login(client, make_user(db, "admin", email))
    return csrf_from(client.get("/users").text)


def user_row(db, email: str) -> User | None:
    """The stored user, detached so the test can read it after the session ends."""
    with db.read() as db_session:
        user = db_session.scalar(select(User).where(User.email == email))
        if user is not None:
            db_session.expunge(user)
        return user


def audited(db, action: str) -> tuple[str, dict]:
    """The target and details of the audit entry of this action."""
    with db.read() as db_session:
        return db_session.execute(select(AuditEntry.target, AuditEntry.details)
                                  .where(AuditEntry.action == action)).one()


def department(db, name: str) -> int:
    with db.write() as db_session:
        return service.create_department(db_session=db_session, name=name).id


@pytest.mark.parametrize("role", ["manager", "analyst", "agent", "viewer"])
def test_only_admins_see_and_change_users(client, db, role):
    login(client, make_user(db, role))
    token = csrf_from(client.get("/dashboard").text)
    assert client.get("/users").status_code == 403
    assert client.get("/departments").status_code == 403
    reply = client.get("/api/v1/users")
    assert reply.status_code == 403 and reply.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/departments").status_code == 403
    reply = client.post("/users", data={"csrf_token": token, "email": "new@example.com", "name": "New",
                                        "role": "admin", "password": "long enough password"})
    assert reply.status_code == 403 and user_row(db, "new@example.com") is None
    assert client.post("/departments", data={"csrf_token": token, "name": "Digital"}).status_code == 403


def test_an_admin_creates_a_user_with_a_password_and_it_is_audited(client, db):
    token = admin_client(client, db)
    digital = department(db, "Digital")
    reply = client.post("/users", data={"csrf_token": token, "email": " Ana@Example.com ", "name": "Ana Ruiz",
                                        "role": "manager", "department": str(digital),
                                        "password": "a long password"}, follow_redirects=False)
    assert reply.status_code == 303
    ana = user_row(db, "ana@example.com")
    assert (ana.name, ana.role, ana.department_id, ana.is_active) == ("Ana Ruiz", "manager", digital, True)
    assert "Created ana@example.com" in client.get(reply.headers["location"]).text
    target, details = audited(db, "user.create")
    assert target == "ana@example.com" and details["after"]["department"] == "Digital"
    assert "a long password" not in str(details) and ana.password_hash not in str(details)
    other = TestClient(client.app)
    assert login(other, "ana@example.com", "a long password").status_code == 303


def test_the_users_list_filters_and_its_json_twin_agrees(client, db):
    admin_client(client, db)
    digital = department(db, "Digital")
    with db.write() as db_session:
        for email, role, name in [("ana@example.com", "manager", "Ana Ruiz"), ("bo@example.com", "agent", "Bo Li")]:
            service.create_user(db_session=db_session, email=email, password=None, role=role, name=name,
                                department_id=digital if role == "agent" else None)
    page = client.get("/users?q=ruiz")
    assert "ana@example.com" in page.text and "bo@example.com" not in page.text
    listed = client.get(f"/api/v1/users?department={digital}").json()["users"]
    assert [(user["email"], user["department"], user["has_password"]) for user in listed] == \
        [("bo@example.com", "Digital", False)]
    assert "password_hash" not in listed[0]
    assert [user["email"] for user in client.get("/api/v1/users?role=admin&active=active").json()["users"]] == \
        ["admin@example.com"]
    for bad in ("role=owner", "active=maybe", "department=x1"):
        reply = client.get(f"/api/v1/users?{bad}")
        assert reply.status_code == 422 and reply.headers["content-type"] == "application/problem+json"
        page = client.get(f"/users?{bad}")
        assert page.status_code == 400 and "These filters cannot be applied" in page.text


@pytest.mark.parametrize("fields, message", [
    ({"email": "not-an-email"}, "is not an e-mail address"),
    ({"role": "owner"}, "Unknown role"),
    ({"department": "999999"}, "There is no department 999999"),
    ({"department": "sales"}, "Department must be a department"),
    ({"name": "   "}, "The name is empty"),
    ({"password": "short"}, "at least 10 characters"),
    ({"email": "admin@example.com"}, "already exists"),
])
def test_bad_input_for_a_new_user_is_a_sentence_not_a_server_error(client, db, fields, message):
    token = admin_client(client, db)
    form = {"csrf_token": token, "email": "new@example.com", "name": "New Person", "role": "agent",
            "password": "long enough password"} | fields
    reply = client.post("/users", data=form)
    assert reply.status_code == 400 and message in reply.text
    with db.read() as db_session:
        assert db_session.scalar(select(User.id).where(User.email == "new@example.com")) is None


def test_an_edit_without_csrf_is_refused(client, db):
    admin_client(client, db)
    agent = user_row(db, make_user(db, "agent"))
    reply = client.post(f"/users/{agent.id}", data={"name": "Changed", "role": "admin", "state": "active"})
    assert reply.status_code == 403 and user_row(db, agent.email).role == "agent"
    reply = client.post(f"/users/{agent.id}/reset", data={"csrf_token": "guess"})
    assert reply.status_code == 403


def test_deactivating_a_user_ends_their_session(client, db, settings):
    token = admin_client(client, db)
    agent_email = make_user(db, "agent")
    agent = TestClient(client.app)
    login(agent, agent_email)
    assert agent.get("/api/v1/me").status_code == 200
    agent_id = user_row(db, agent_email).id
    reply = client.post(f"/users/{agent_id}", data={"csrf_token": token, "name": "Agent", "role": "agent",
                                                    "state": "deactivated"}, follow_redirects=False)
    assert reply.status_code == 303
    assert agent.get("/api/v1/me").status_code == 401  # the old cookie no longer works
    assert login(agent, agent_email).status_code == 401
    target, details = audited(db, "user.update")
    assert target == agent_email
    assert details["before"] == {"active": True, "name": ""} and details["after"] == {"active": False, "name": "Agent"}


def test_a_new_role_ends_the_sessions_but_a_new_name_does_not(client, db):
    token = admin_client(client, db)
    email = make_user(db, "viewer")
    viewer = TestClient(client.app)
    login(viewer, email)
    viewer_id = user_row(db, email).id
    client.post(f"/users/{viewer_id}", data={"csrf_token": token, "name": "Vi", "role": "viewer", "state": "active"})
    assert viewer.get("/api/v1/me").status_code == 200
    client.post(f"/users/{viewer_id}", data={"csrf_token": token, "name": "Vi", "role": "analyst", "state": "active"})
    assert viewer.get("/api/v1/me").status_code == 401
    login(viewer, email)
    assert viewer.get("/api/v1/me").json()["role"] == "analyst"


def test_the_last_active_admin_cannot_demote_or_deactivate_themself(client, db):
    token = admin_client(client, db)
    me = user_row(db, "admin@example.com")
    for change in ({"role": "manager", "state": "active"}, {"role": "admin", "state": "deactivated"}):
        reply = client.post(f"/users/{me.id}", data={"csrf_token": token, "name": "Me"} | change)
        assert reply.status_code == 400 and "is the last active admin" in reply.text
    assert user_row(db, me.email).role == "admin" and user_row(db, me.email).is_active
    assert client.get("/api/v1/me").status_code == 200
    # With a second admin, stepping down is allowed, and ends the own session.
    make_user(db, "admin", "second@example.com")
    reply = client.post(f"/users/{me.id}", data={"csrf_token": token, "name": "Me", "role": "manager",
                                                "state": "active"}, follow_redirects=False)
    assert reply.status_code == 303 and user_row(db, me.email).role == "manager"
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("fields, message", [
    ({"role": "owner"}, "Unknown role"),
    ({"department": "424242"}, "There is no department 424242"),
    ({"name": ""}, "The name is empty"),
    ({"state": "sleeping"}, "active or deactivated"),
])
def test_bad_input_for_an_edit_is_a_sentence(client, db, fields, message):
    token = admin_client(client, db)
    agent = user_row(db, make_user(db, "agent"))
    reply = client.post(f"/users/{agent.id}", data={"csrf_token": token, "name": "A", "role": "agent",
                                                    "state": "active"} | fields)
    assert reply.status_code == 400 and message in reply.text
    assert user_row(db, agent.email).name == ""


def test_unknown_and_impossible_user_ids_are_not_server_errors(client, db):
    token = admin_client(client, db)
    assert client.get("/users/424242").status_code == 404
    assert client.get("/api/v1/users/424242").status_code == 404
    assert client.get("/users/99999999999999999999").status_code == 400
    assert client.post("/users/424242", data={"csrf_token": token, "name": "A", "role": "agent",
                                              "state": "active"}).status_code == 404
    assert client.post("/users/424242/reset", data={"csrf_token": token}).status_code == 404


def test_the_pages_have_no_inline_style_or_script(client, db):
    admin_client(client, db)
    agent = user_row(db, make_user(db, "agent"))
    department(db, "Digital")
    with db.write() as db_session:
        reset = "/reset/" + resets.create_reset(db_session=db_session, user=db_session.get(User, agent.id),
                                                created_by=None)
    for path in ("/users", "/users/new", f"/users/{agent.id}", "/departments", reset):
        html = client.get(path).text
        for pattern in (INLINE_STYLE, STYLE_ELEMENT, INLINE_SCRIPT, EVENT_HANDLER):
            assert pattern.search(html) is None, path


def test_customer_text_in_names_is_escaped(client, db):
    token = admin_client(client, db)
    client.post("/users", data={"csrf_token": token, "email": "x@example.com", "name": "<b>Eve</b>", "role": "agent",
                                "password": "long enough password"})
    client.post("/departments", data={"csrf_token": token, "name": "<i>Ops</i>"})
    assert "<b>Eve</b>" not in client.get("/users").text and "&lt;b&gt;Eve&lt;/b&gt;" in client.get("/users").text
    assert "<i>Ops</i>" not in client.get("/departments").text
    with db.read() as db_session:
        assert db_session.scalar(select(Department.name)) == "<i>Ops</i>"


def test_the_users_and_departments_as_csv_for_admins_only(client, db):
    with db.write() as db_session:
        db_session.add(Department(name="=Support"))
    login(client, make_user(db, "manager"))
    assert client.get("/users?format=csv").status_code == 403
    assert client.get("/departments?format=csv").status_code == 403
    client.cookies.clear()
    login(client, make_user(db, "admin"))
    users = client.get("/users", params={"role": "manager", "format": "csv"})
    assert users.status_code == 200 and users.headers["content-type"] == "text/csv; charset=utf-8"
    lines = users.text.splitlines()
    assert lines[0] == "name,email,role,department,active,has_password,last_login_at,created_at"
    assert len(lines) == 2 and ",manager@example.com,manager," in lines[1]
    assert 'href="/users?role=manager&amp;format=csv"' in client.get("/users", params={"role": "manager"}).text
    departments = client.get("/departments?format=csv")
    assert departments.status_code == 200 and departments.text.splitlines()[0] == "id,name,users"
    assert ",'=Support,0" in departments.text
