"""The case worker inside the running web server: a detractor's answer opens a case in the right department
within a few ticks, and the owner's e-mail reaches a real SMTP server, without the submission waiting for either."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.cases.test_rules import RULES, answer, apply_text, shop
from tests.smtp import running_smtp_server
from voxpop.accounts.models import Department, User
from voxpop.cases.models import Case
from voxpop.web.app import create_app


def wait_for(found, *, seconds: float = 20.0):
    """Poll until `found()` gives something: the worker runs on its own clock (this bounds the wait, it asserts
    nothing about speed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := found():
            return result
        time.sleep(0.05)
    raise AssertionError(f"nothing after {seconds} s")


def test_the_running_server_opens_the_case_and_mails_its_owner(settings, db):
    shop(db)
    with db.write() as db_session:
        digital = db_session.scalar(select(Department).where(Department.name == "Digital"))
        db_session.add(User(email="agent@shop.example", password_hash="x", role="agent", department_id=digital.id))
        digital_id = digital.id
    apply_text(db, RULES)
    with running_smtp_server() as smtp:
        live = settings.model_copy(update={"case_worker": True, "case_worker_interval": 0.05, **smtp.settings()})
        with TestClient(create_app(live, db)):
            answer(db, {"nps": 2, "may_contact": "yes"}, customer="c1", attributes={"channel": "app"})

            def opened():
                with db.read() as db_session:
                    return db_session.execute(select(Case.id, Case.department_id, Case.status)).first()

            case = wait_for(opened)
            assert (case.department_id, case.status) == (digital_id, "new")
            mail = wait_for(lambda: smtp.messages)
    assert mail[0]["To"] == "agent@shop.example"
    assert mail[0]["Subject"].startswith(f"Case {case.id} is yours")
