"""Admins keep the list of departments: unique names whatever the case, renamed in place, and deleted only when
nobody belongs to them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.helpers import csrf_from, login, make_user
from voxpop.accounts import service
from voxpop.accounts.models import AuditEntry, Department, User


@pytest.fixture
def admin(client, db):
    """The client logged in as an admin, and its CSRF token."""
    login(client, make_user(db, "admin"))
    return csrf_from(client.get("/departments").text)


def names(db) -> list[str]:
    with db.read() as db_session:
        return [department.name for department, _ in service.list_departments(db_session=db_session)]


def test_departments_are_created_renamed_and_deleted_with_an_audit_trail(client, db, admin):
    assert client.post("/departments", data={"csrf_token": admin, "name": "  Customer   Service "},
                       follow_redirects=False).status_code == 303
    client.post("/departments", data={"csrf_token": admin, "name": "Digital"})
    assert names(db) == ["Customer Service", "Digital"]
    digital = client.get("/api/v1/departments").json()["departments"][1]
    assert digital == {"id": digital["id"], "name": "Digital", "users": 0}
    reply = client.post(f"/departments/{digital['id']}", data={"csrf_token": admin, "name": "Digital Channels"})
    assert reply.status_code == 200 and "Department renamed" in reply.text
    assert client.post(f"/departments/{digital['id']}/delete", data={"csrf_token": admin}).status_code == 200
    assert names(db) == ["Customer Service"]
    with db.read() as db_session:
        trail = db_session.execute(select(AuditEntry.action, AuditEntry.target, AuditEntry.details)
                                   .where(AuditEntry.action.startswith("department.")).order_by(AuditEntry.id)).all()
    assert [(action, target) for action, target, _ in trail] == [
        ("department.create", "Customer Service"), ("department.create", "Digital"),
        ("department.rename", "Digital Channels"), ("department.delete", "Digital Channels")]
    assert trail[2][2] == {"before": {"name": "Digital"}, "after": {"name": "Digital Channels"}}


@pytest.mark.parametrize("name, message", [
    ("digital", "There already is a department called Digital"),
    ("   ", "The department name is empty"),
    ("x" * 121, "at most 120 printable characters"),
])
def test_a_duplicate_or_empty_name_is_refused_clearly(client, db, admin, name, message):
    client.post("/departments", data={"csrf_token": admin, "name": "Digital"})
    reply = client.post("/departments", data={"csrf_token": admin, "name": name})
    assert reply.status_code == 400 and message in reply.text
    assert names(db) == ["Digital"]


def test_renaming_onto_another_departments_name_is_refused(client, db, admin):
    with db.write() as db_session:
        service.create_department(db_session=db_session, name="Digital")
        finance = service.create_department(db_session=db_session, name="Finance").id
    reply = client.post(f"/departments/{finance}", data={"csrf_token": admin, "name": "DIGITAL"})
    assert reply.status_code == 400 and "There already is a department called Digital" in reply.text
    assert names(db) == ["Digital", "Finance"]
    reply = client.post(f"/departments/{finance}", data={"csrf_token": admin, "name": "finance"})
    assert reply.status_code == 200 and names(db) == ["Digital", "finance"]  # its own name in other capitals


def test_a_department_with_users_is_not_deleted_and_the_page_says_how_many(client, db, admin):
    with db.write() as db_session:
        digital = service.create_department(db_session=db_session, name="Digital").id
        for email in ("a@example.com", "b@example.com"):
            service.create_user(db_session=db_session, email=email, password=None, role="agent", department_id=digital)
    reply = client.post(f"/departments/{digital}/delete", data={"csrf_token": admin})
    assert reply.status_code == 400 and "2 users belong to Digital; move them to another department first" in reply.text
    with db.read() as db_session:
        assert db_session.scalar(select(User.department_id).where(User.email == "a@example.com")) == digital
        assert db_session.scalar(select(Department.name)) == "Digital"


def test_unknown_departments_and_missing_tokens_are_refused(client, db, admin):
    assert client.post("/departments/424242", data={"csrf_token": admin, "name": "X"}).status_code == 400
    assert client.post("/departments/424242/delete", data={"csrf_token": admin}).status_code == 400
    assert client.post("/departments/99999999999999/delete", data={"csrf_token": admin}).status_code == 400
    assert client.post("/departments", data={"name": "Digital"}).status_code == 403
    assert names(db) == []
