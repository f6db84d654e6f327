"""The case pages and their JSON twins: who sees which cases (agents only their department's, absent from lists
and 404 for the rest), the queue's filters and order, CSRF, bad input answered with a sentence, the forms that move,
assign, log and close a case, the e-mail to the customer, bulk assignment all or nothing, and root causes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests.helpers import PASSWORD, csrf_from, login
from tests.text.stored import submit
from tests.web.test_no_inline import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE, STYLE_ELEMENT
from voxpop.accounts import service as accounts
from voxpop.accounts.models import AuditEntry, Department
from voxpop.cases import service
from voxpop.cases.models import Case, CaseEvent, RootCause
from voxpop.cases.views import codebook_themes
from voxpop.collection.models import Response
from voxpop.customers.models import Customer, Transaction
from voxpop.notify.models import OutgoingMail

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


def workspace(db) -> dict[str, int]:
    """Two departments with an agent each, a manager, an analyst, a viewer and an admin; a detractor's response
    from customer C-1 with a case in Digital, another case in Care, and a root cause."""
    submit(db, {"nps": 2, "why_low": "Nobody called me back", "csat": 1}, {"channel": "app"})
    submit(db, {"nps": 9, "csat": 5})
    ids: dict[str, int] = {}
    with db.write() as db_session:
        digital, care = Department(name="Digital"), Department(name="Care")
        customer = Customer(external_id="C-1", email="c1@example.com", attributes={"name": "Ana", "segment": "SMB"})
        db_session.add_all([digital, care, customer])
        db_session.flush()
        first, earlier = db_session.scalars(select(Response).order_by(Response.id)).all()
        first.customer_id = earlier.customer_id = customer.id
        earlier.submitted_at = first.submitted_at - timedelta(days=90)
        db_session.add(Transaction(customer_id=customer.id, source_key="t1", day=MONDAY.date(), amount=120.0))
        for role, department in [("agent", digital), ("agent2", care), ("manager", None), ("analyst", None),
                                 ("viewer", None), ("admin", None)]:
            user = accounts.create_user(db_session=db_session, email=f"{role}@example.com", password=PASSWORD,
                                        role=role.rstrip("2"), name=role.capitalize(),
                                        department_id=department.id if department else None)
            ids[role] = user.id
        case = service.open_case(db_session=db_session, title="Detractor: Nobody called me back", priority="high",
                                 department_id=digital.id, response_id=first.id, customer_id=customer.id,
                                 contact_consent=True, opened_at=MONDAY, notify=False)
        other = service.open_case(db_session=db_session, title="Care case", department_id=care.id,
                                  opened_at=MONDAY + timedelta(hours=1), notify=False)
        cause = RootCause(key="late-delivery", name="Late delivery", active=True)
        db_session.add(cause)
        db_session.flush()
        ids |= {"digital": digital.id, "care": care.id, "case": case.id, "other": other.id, "cause": cause.id,
                "customer": customer.id}
    return ids


def as_role(client, role: str) -> str:
    login(client, f"{role}@example.com")
    return csrf_from(client.get("/cases").text)


def stored(db, case_id: int) -> Case:
    with db.read() as db_session:
        case = db_session.get(Case, case_id)
        db_session.expunge(case)
        return case


def events(db, case_id: int) -> list[tuple[str, str | None, str | None]]:
    with db.read() as db_session:
        return [tuple(row) for row in db_session.execute(
            select(CaseEvent.kind, CaseEvent.from_status, CaseEvent.to_status).where(CaseEvent.case_id == case_id)
            .order_by(CaseEvent.id))]


def audited(db, action: str) -> int:
    with db.read() as db_session:
        return db_session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def test_an_agent_sees_only_their_departments_cases(client, db):
    ids = workspace(db)
    as_role(client, "agent")
    listed = client.get("/api/v1/cases?scope=all").json()
    assert [case["id"] for case in listed["cases"]] == [ids["case"]] and listed["total"] == 1
    assert sum(listed["counts"].values()) == 1
    page = client.get("/cases?scope=all").text
    assert "Nobody called me back" in page and "Care case" not in page
    assert client.get(f"/cases/{ids['other']}").status_code == 404
    reply = client.get(f"/api/v1/cases/{ids['other']}")
    assert reply.status_code == 404 and reply.headers["content-type"] == "application/problem+json"
    assert "Care case" not in client.get("/cases?scope=all&format=csv").text


def test_an_agent_cannot_change_another_departments_case(client, db):
    ids = workspace(db)
    token = as_role(client, "agent")
    reply = client.post(f"/cases/{ids['other']}/status", data={"csrf_token": token, "to": "in_progress"})
    assert reply.status_code == 404 and stored(db, ids["other"]).status == "new"
    reply = client.post(f"/api/v1/cases/{ids['other']}/events", json={"kind": "note", "note": "peek"},
                        headers={"X-CSRF-Token": token})
    assert reply.status_code == 404


@pytest.mark.parametrize("role", ["manager", "analyst", "viewer", "admin"])
def test_other_roles_read_every_case(client, db, role):
    ids = workspace(db)
    as_role(client, role)
    listed = client.get("/api/v1/cases?scope=all").json()
    assert {case["id"] for case in listed["cases"]} == {ids["case"], ids["other"]}
    assert client.get(f"/cases/{ids['other']}").status_code == 200


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_analysts_and_viewers_cannot_change_cases(client, db, role):
    ids = workspace(db)
    token = as_role(client, role)
    page = client.get(f"/cases/{ids['case']}").text
    assert "Work the case" not in page
    reply = client.post(f"/cases/{ids['case']}/status", data={"csrf_token": token, "to": "in_progress"})
    assert reply.status_code == 403 and stored(db, ids["case"]).status == "new"
    assert client.post(f"/api/v1/cases/{ids['case']}/status", json={"status": "in_progress"},
                       headers={"X-CSRF-Token": token}).status_code == 403


def test_pages_need_a_login(client, db):
    ids = workspace(db)
    assert client.get("/cases", follow_redirects=False).status_code in (302, 303)
    assert client.get(f"/api/v1/cases/{ids['case']}").status_code == 401


def test_a_form_without_the_csrf_token_is_refused(client, db):
    ids = workspace(db)
    as_role(client, "agent")
    reply = client.post(f"/cases/{ids['case']}/status", data={"to": "in_progress"})
    assert reply.status_code == 403 and stored(db, ids["case"]).status == "new"
    reply = client.post(f"/api/v1/cases/{ids['case']}/status", json={"status": "in_progress"})
    assert reply.status_code == 403 and stored(db, ids["case"]).status == "new"


def test_the_case_page_shows_customer_response_deadlines_and_timeline(client, db):
    ids = workspace(db)
    as_role(client, "agent")
    reply = client.get(f"/cases/{ids['case']}")
    assert reply.status_code == 200
    page = reply.text
    for words in ["C-1", "c1@example.com", "Nobody called me back", "How likely are you to recommend us?",
                  "Work the case", "Assigned to Agent in Digital", "120.00", "Segment"]:
        assert words in page
    assert "first contact overdue by" in page.lower()  # opened in March 2026, long past
    for pattern in (INLINE_STYLE, STYLE_ELEMENT, INLINE_SCRIPT, EVENT_HANDLER):
        assert pattern.search(page) is None
    shown = client.get(f"/api/v1/cases/{ids['case']}").json()
    assert shown["customer"]["earlier_responses"][0]["nps"] == 9
    assert shown["customer"]["earlier_responses"][0]["csat"] == 5
    assert shown["customer"]["purchase_count"] == 1 and shown["customer"]["last_purchase"] == "2026-03-02"
    assert [move["value"] for move in shown["moves"]] == ["in_progress", "resolved"]
    assert shown["deadlines"][0]["overdue"] is True
    assert shown["events"][0]["kind"] == "opened"


def test_an_illegal_move_is_answered_with_the_sentence_and_changes_nothing(client, db):
    ids = workspace(db)
    token = as_role(client, "agent")
    reply = client.post(f"/cases/{ids['case']}/status", data={"csrf_token": token, "to": "waiting"})
    assert reply.status_code == 422 and "cannot become waiting on customer" in reply.text
    reply = client.post(f"/api/v1/cases/{ids['case']}/status", json={"status": "closed", "root_cause_id": ids["cause"],
                                                                     "action_taken": "x", "issue_resolved": True},
                        headers={"X-CSRF-Token": token})
    assert reply.status_code == 422 and reply.json()["errors"][0]["field"] == "status"
    assert stored(db, ids["case"]).status == "new" and len(events(db, ids["case"])) == 2


def test_bad_input_is_a_sentence_not_a_server_error(client, db):
    ids = workspace(db)
    token = as_role(client, "manager")
    for path in ["/cases?status=lost", "/cases?since=yesterday", "/cases?department=abc", "/cases?scope=everyone",
                 "/cases?since=2026-03-05&until=2026-03-01", "/cases?overdue=maybe"]:
        assert client.get(path).status_code == 422, path
        assert client.get("/api/v1" + path).status_code == 422, path
    reply = client.post(f"/cases/{ids['case']}/status", data={"csrf_token": token, "to": "nowhere"})
    assert reply.status_code == 422
    reply = client.post(f"/cases/{ids['case']}/assign", data={"csrf_token": token, "owner": "x1"})
    assert reply.status_code == 400 and "Choose the owner from the list" in reply.text
    reply = client.post(f"/cases/{ids['case']}/events", data={"csrf_token": token, "kind": "call", "note": "  "})
    assert reply.status_code == 400 and "Write what was said" in reply.text
    assert client.get("/cases/99999").status_code == 404


def test_an_agent_works_a_case_to_closed_and_every_step_is_audited(client, db):
    ids = workspace(db)
    token = as_role(client, "agent")
    case_id = ids["case"]
    reply = client.post(f"/cases/{case_id}/events", data={"csrf_token": token, "kind": "call",
                                                          "note": "Called, parcel found"}, follow_redirects=False)
    assert reply.status_code == 303
    assert stored(db, case_id).status == "in_progress" and stored(db, case_id).first_contact_at is not None
    client.post(f"/cases/{case_id}/events", data={"csrf_token": token, "kind": "note", "note": "Courier to call"})
    client.post(f"/cases/{case_id}/status", data={"csrf_token": token, "to": "resolved"})
    reply = client.post(f"/cases/{case_id}/status", data={"csrf_token": token, "to": "closed", "root_cause": "",
                                                          "action_taken": "Refunded", "issue_resolved": "yes"})
    assert reply.status_code == 400 and "choose the root cause" in reply.text.lower()
    assert stored(db, case_id).status == "resolved"
    reply = client.post(f"/cases/{case_id}/status", data={"csrf_token": token, "to": "closed",
                                                          "root_cause": str(ids["cause"]), "action_taken": "Refunded",
                                                          "issue_resolved": "yes"}, follow_redirects=False)
    assert reply.status_code == 303
    closed = stored(db, case_id)
    assert (closed.status, closed.root_cause_id, closed.action_taken, closed.issue_resolved) == \
        ("closed", ids["cause"], "Refunded", True)
    assert audited(db, "case.call") == 1 and audited(db, "case.note") == 1 and audited(db, "case.status") == 2
    page = client.get(f"/cases/{case_id}").text
    assert "Courier to call" in page and "Late delivery" in page and "Reopen" in page
    client.post(f"/cases/{case_id}/status", data={"csrf_token": token, "to": "in_progress"})
    assert stored(db, case_id).status == "in_progress" and stored(db, case_id).reopened == 1


def test_reassigning_asks_for_a_reason(client, db):
    ids = workspace(db)
    token = as_role(client, "manager")
    with db.read() as db_session:
        owner_before = db_session.get(Case, ids["case"]).owner_id
    assert owner_before == ids["agent"]
    reply = client.post(f"/cases/{ids['case']}/assign", data={"csrf_token": token, "owner": str(ids["agent2"])})
    assert reply.status_code == 400 and "say why the case moves" in reply.text.lower()
    assert stored(db, ids["case"]).owner_id == ids["agent"]
    reply = client.post(f"/cases/{ids['case']}/assign", data={"csrf_token": token, "owner": str(ids["agent2"]),
                                                             "reason": "Care handles parcels"}, follow_redirects=False)
    assert reply.status_code == 303
    moved = stored(db, ids["case"])
    assert (moved.owner_id, moved.department_id) == (ids["agent2"], ids["care"])
    assert "Reassigned from Agent to Agent2 in Care" in client.get(f"/cases/{ids['case']}").text
    assert audited(db, "case.assign") == 1


def test_bulk_assignment_is_all_or_nothing(client, db):
    ids = workspace(db)
    token = as_role(client, "manager")
    reply = client.post("/cases/assign", data={"csrf_token": token, "case": [str(ids["case"]), "99999"],
                                               "owner": str(ids["agent2"]), "reason": "Holiday cover"})
    assert reply.status_code == 400 and "nothing was assigned" in reply.text
    assert stored(db, ids["case"]).owner_id == ids["agent"]
    # The second case cannot go to an agent of another department: so the first one stays too.
    reply = client.post("/api/v1/cases/assign", json={"case_ids": [ids["case"], ids["other"]],
                                                      "owner_id": ids["agent"], "department_id": ids["digital"],
                                                      "reason": "Holiday cover"}, headers={"X-CSRF-Token": token})
    assert reply.status_code == 200, reply.text
    reply = client.post("/api/v1/cases/assign", json={"case_ids": [ids["case"], ids["other"]],
                                                      "owner_id": ids["agent2"], "department_id": ids["digital"],
                                                      "reason": "x"}, headers={"X-CSRF-Token": token})
    assert reply.status_code == 422 and "nothing was assigned" in reply.json()["detail"]
    assert {stored(db, ids["case"]).owner_id, stored(db, ids["other"]).owner_id} == {ids["agent"]}
    reply = client.post("/cases/assign", data={"csrf_token": token, "case": [str(ids["case"]), str(ids["other"])],
                                               "department": str(ids["care"]), "reason": "Care takes these",
                                               "back": "/cases?scope=all"}, follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == "/cases?scope=all&assigned=2"
    assert {stored(db, ids["case"]).department_id, stored(db, ids["other"]).department_id} == {ids["care"]}
    # a page's worth of ticked cases (more than a dozen) is one form; an id too long to be one is a sentence
    reply = client.post("/cases/assign", data={"csrf_token": token, "case": [str(ids["case"])] * 60 + ["9" * 5000],
                                               "department": str(ids["care"])})
    assert reply.status_code == 400 and "Choose the cases from the list" in reply.text
    assert audited(db, "case.assign") == 4


def test_agents_cannot_assign_in_bulk(client, db):
    ids = workspace(db)
    token = as_role(client, "agent")
    reply = client.post("/cases/assign", data={"csrf_token": token, "case": [str(ids["case"])],
                                               "owner": str(ids["agent"])})
    assert reply.status_code == 403


def test_the_queue_filters_sorts_and_counts(client, db):
    ids = workspace(db)
    as_role(client, "manager")
    listed = client.get("/api/v1/cases?scope=all").json()
    # the high-priority case is due first (8 business hours against 24)
    assert [case["id"] for case in listed["cases"]] == [ids["case"], ids["other"]]
    assert listed["counts"]["new"] == 2 and all(case["overdue"] for case in listed["cases"])
    assert client.get("/api/v1/cases?scope=all&priority=high").json()["total"] == 1
    assert client.get(f"/api/v1/cases?scope=all&department={ids['care']}").json()["cases"][0]["id"] == ids["other"]
    assert client.get("/api/v1/cases?scope=all&status=closed").json()["total"] == 0
    assert client.get("/api/v1/cases?scope=all&status=new&status=closed").json()["total"] == 2
    assert client.get("/api/v1/cases?scope=all&since=2026-03-03").json()["total"] == 0
    assert client.get("/api/v1/cases?scope=all&since=2026-03-02&until=2026-03-02").json()["total"] == 2
    assert client.get("/api/v1/cases?scope=mine").json()["total"] == 0
    assert client.get("/api/v1/cases?scope=department").json()["total"] == 0
    assert "You belong to no department" in client.get("/cases?scope=department").text
    assert client.get("/api/v1/cases?scope=all&overdue=yes").json()["total"] == 2
    assert client.get("/api/v1/cases?scope=all&sort=opened").json()["cases"][0]["id"] == ids["other"]
    csv = client.get("/cases?scope=all&format=csv")
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.count("\n") == 3
    page = client.get("/cases?scope=all").text
    assert "Assign the ticked cases" in page and 'name="case"' in page


def test_e_mail_to_the_customer_is_queued_and_kept_on_the_timeline(client, db):
    ids = workspace(db)
    token = as_role(client, "agent")
    page = client.get(f"/cases/{ids['case']}?template=apology&language=de").text
    assert "Es tut uns leid" in page and "Guten Tag Ana" in page and "c1@example.com" in page
    reply = client.post(f"/cases/{ids['case']}/email", data={"csrf_token": token, "subject": "Sorry, Ana",
                                                            "body": "Edited {{ 7*7 }} text"}, follow_redirects=False)
    assert reply.status_code == 303
    with db.read() as db_session:
        mail = db_session.scalar(select(OutgoingMail).where(OutgoingMail.kind == "case.contact"))
        assert (mail.recipient, mail.subject, mail.related) == ("c1@example.com", "Sorry, Ana", f"case:{ids['case']}")
        assert "{{ 7*7 }}" in mail.body_text  # the agent's text is sent as written, never rendered
        event = db_session.scalar(select(CaseEvent).where(CaseEvent.kind == "email"))
        assert event.note == "Sorry, Ana" and event.details["mail_id"] == mail.id
    assert stored(db, ids["case"]).status == "in_progress"


def test_e_mail_is_refused_without_consent_or_address(client, db):
    ids = workspace(db)
    token = as_role(client, "agent")
    with db.write() as db_session:
        db_session.get(Case, ids["case"]).contact_consent = False
    assert "did not agree to be contacted" in client.get(f"/cases/{ids['case']}").text
    reply = client.post(f"/api/v1/cases/{ids['case']}/emails", json={"subject": "Hi", "body": "Text"},
                        headers={"X-CSRF-Token": token})
    assert reply.status_code == 422 and "did not agree" in reply.json()["detail"]
    with db.write() as db_session:
        db_session.get(Case, ids["case"]).contact_consent = None
        db_session.get(Customer, ids["customer"]).email = None
    reply = client.post(f"/cases/{ids['case']}/email", data={"csrf_token": token, "subject": "Hi", "body": "Text"})
    assert reply.status_code == 400 and "no e-mail address" in reply.text
    with db.read() as db_session:
        assert db_session.scalar(select(func.count()).select_from(OutgoingMail)) == 0


def test_root_causes_are_kept_by_managers_and_admins(client, db):
    ids = workspace(db)
    token = as_role(client, "agent")
    assert client.get("/cases/root-causes").status_code == 200
    assert client.post("/cases/root-causes", data={"csrf_token": token, "key": "x", "name": "X"}).status_code == 403
    client.cookies.clear()
    token = as_role(client, "manager")
    reply = client.post("/cases/root-causes", data={"csrf_token": token, "key": "Wrong size!", "name": "Wrong size"})
    assert reply.status_code == 400 and "the key is up to 64" in reply.text.lower()
    reply = client.post("/cases/root-causes", data={"csrf_token": token, "key": "late-delivery", "name": "Again"})
    assert reply.status_code == 400 and "already is a root cause" in reply.text
    reply = client.post("/cases/root-causes", data={"csrf_token": token, "key": "wrong-size", "name": "Wrong size",
                                                    "theme": "no.such.theme"})
    assert reply.status_code == 400 and "the codebook has no theme" in reply.text.lower()
    with db.read() as db_session:
        theme, label = next(iter(codebook_themes(db_session).items()))
    reply = client.post("/cases/root-causes", data={"csrf_token": token, "key": "wrong-size", "name": "Wrong size",
                                                    "theme": theme}, follow_redirects=False)
    assert reply.status_code == 303
    reply = client.post(f"/cases/root-causes/{ids['cause']}", data={"csrf_token": token, "name": "Parcel late",
                                                                    "theme": "", "active": "no"},
                        follow_redirects=False)
    assert reply.status_code == 303
    listed = {cause["key"]: cause for cause in client.get("/api/v1/cases/root-causes").json()["root_causes"]}
    assert listed["late-delivery"]["name"] == "Parcel late" and listed["late-delivery"]["active"] is False
    assert listed["wrong-size"]["theme"] == theme and label in client.get("/cases/root-causes").text
    assert audited(db, "root_cause.create") == 1 and audited(db, "root_cause.update") == 1
    with db.write() as db_session:
        db_session.get(Case, ids["case"]).status = "resolved"
    closing = client.get(f"/cases/{ids['case']}").text
    assert "Close the case" in closing and "Wrong size" in closing and "Parcel late" not in closing


def test_reopening_while_the_customer_has_a_newer_open_case_of_the_rule_is_a_sentence(client, db):
    ids = workspace(db)
    with db.write() as db_session:
        from voxpop.cases.models import CaseRule

        rule = CaseRule(key="detractors", name="Detractors")
        db_session.add(rule)
        db_session.flush()
        case = db_session.get(Case, ids["case"])
        case.rule_id, case.status = rule.id, "closed"
        newer = service.open_case(db_session=db_session, title="Again", rule_id=rule.id, customer_id=ids["customer"],
                                  department_id=ids["digital"], opened_at=MONDAY + timedelta(days=3), notify=False)
        newer_id = newer.id
    token = as_role(client, "agent")
    reply = client.post(f"/cases/{ids['case']}/status", data={"csrf_token": token, "to": "in_progress"})
    assert reply.status_code == 422 and f"Case {newer_id} is open for this customer and rule" in reply.text
    reply = client.post(f"/api/v1/cases/{ids['case']}/status", json={"status": "in_progress"},
                        headers={"X-CSRF-Token": token})
    assert reply.status_code == 422 and reply.json()["errors"][0]["field"] == "status"
    assert stored(db, ids["case"]).status == "closed"


def test_days_far_out_of_range_are_a_sentence_not_an_overflow(client, db):
    workspace(db)
    as_role(client, "manager")
    for query in ["until=9999-12-31", "since=0001-01-01", "since=0001-01-01&until=9999-12-31"]:
        for path in [f"/cases?{query}", f"/cases?{query}&format=csv", f"/api/v1/cases?{query}"]:
            reply = client.get(path)
            assert reply.status_code == 422, path
            assert "must be a date from 1900-01-01 to 9998-12-31" in reply.text, path
    assert client.get("/api/v1/cases?scope=all&since=1900-01-01&until=9998-12-31").json()["total"] == 2


def test_a_root_cause_no_longer_in_use_cannot_close_a_case_through_the_json_route(client, db):
    ids = workspace(db)
    with db.write() as db_session:
        db_session.get(RootCause, ids["cause"]).active = False
        db_session.get(Case, ids["case"]).status = "resolved"
    token = as_role(client, "agent")
    reply = client.post(f"/api/v1/cases/{ids['case']}/status", json={
        "status": "closed", "root_cause_id": ids["cause"], "action_taken": "Refunded", "issue_resolved": True},
        headers={"X-CSRF-Token": token})
    assert reply.status_code == 422 and reply.json()["errors"][0]["field"] == "root_cause"
    assert stored(db, ids["case"]).status == "resolved"
