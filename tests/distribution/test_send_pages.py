"""The send pages through the app: create with the form (errors at their fields), preview for a real contact, the
dry run with its reasons and CSV, Send now, rules and triggers, the events API; roles and CSRF on the server."""

from __future__ import annotations

import csv
import io

from tests.distribution.conftest import add_contacts, add_rule
from tests.helpers import csrf_from, login, make_user
from voxpop.accounts.models import AuditEntry
from voxpop.distribution.models import Send, SendInvitation, Trigger
from voxpop.notify.models import OutgoingMail

PEOPLE = [("C-1", "ann@example.com", "de", {"name": "Ann", "segment": "SMB"}),
          ("C-2", None, "en", {"name": "Bo", "segment": "SMB"}),
          ("C-3", "cy@example.com", "fr", {"name": "Cy", "segment": "Enterprise"})]
FORM = {"key": "winter", "name": "Winter wave", "survey": "feedback", "audience_kind": "filter", "filter": "",
        "subject_en": "Hello {{ customer.name }}", "body_en": "{{ score_buttons }}\n\n{{ link }}",
        "subject_de": "Hallo {{ customer.name }}", "body_de": "{{ link }}", "default_language": "en",
        "embed_question": "nps", "max_reminders": "1", "reminder_gap_days": "3", "expires_after_days": "14",
        "scheduled_for": ""}


def _admin(client, db):
    login(client, make_user(db, "admin"))
    return csrf_from(client.get("/sends/new").text)


def test_create_preview_dry_run_and_send_now(client, db, feedback):
    add_contacts(db, PEOPLE)
    token = _admin(client, db)
    created = client.post("/sends/new", data=FORM | {"csrf_token": token}, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == "/sends/winter?saved=created"
    page = client.get("/sends/winter")
    assert page.status_code == 200 and "Hallo Ann" in page.text  # the first contact, in German
    french = client.get("/sends/winter?customer=C-3")
    assert "no fr template; written in en" in french.text and "Hello Cy" in french.text
    assert client.get("/sends/winter?customer=nobody").status_code == 404
    nul = client.get("/sends/winter", params={"customer": "C\x00"})  # never a 500 on PostgreSQL: the plumbing's 400
    assert nul.status_code == 400 and "customer" in nul.text
    html = client.get("/sends/winter/preview.html?customer=C-3")
    assert html.status_code == 200 and "&amp;q=nps&amp;score=10" in html.text
    dry = client.get("/sends/winter/dry-run")
    assert dry.status_code == 200 and "No e-mail address" in dry.text and "Send now to 2 contacts" in dry.text
    rows = list(csv.DictReader(io.StringIO(client.get("/sends/winter/dry-run?format=csv").text)))
    assert [(row["customer_id"], row["decision"]) for row in rows] == [("C-1", "invite"), ("C-2", "skip"),
                                                                        ("C-3", "invite")]
    as_json = client.get("/api/v1/sends/winter/dry-run").json()
    assert (as_json["invite"], as_json["skip"], as_json["reasons"]) == (2, 1, {"no e-mail address": 1})
    sent = client.post("/sends/winter/send", data={"csrf_token": token}, follow_redirects=False)
    assert sent.status_code == 303
    again = client.post("/sends/winter/send", data={"csrf_token": token}, follow_redirects=False)
    assert again.status_code == 303
    with db.read() as db_session:
        assert db_session.query(SendInvitation).count() == 2 and db_session.query(OutgoingMail).count() == 2
        assert db_session.query(Send).one().status == "done"
        actions = [entry.action for entry in db_session.query(AuditEntry).order_by(AuditEntry.id)]
        assert [action for action in actions if action.startswith("sends.")] == ["sends.create", "sends.send"]
    detail = client.get("/api/v1/sends/winter").json()
    assert detail["send"]["invited"] == 2 and detail["statuses"] == {"queued": 2}
    listed = client.get("/sends")
    assert "Winter wave" in listed.text and client.get("/api/v1/sends").json()["sends"][0]["key"] == "winter"


def test_form_errors_name_their_fields_and_keep_the_input(client, db, feedback):
    token = _admin(client, db)
    bad = FORM | {"csrf_token": token, "key": "Winter!", "subject_de": "Hallo {{ customer.name }",
                  "filter": "segment SMB", "audience_kind": "filter"}
    answer = client.post("/sends/new", data=bad)
    assert answer.status_code == 422 and "line 1: write attribute = value" in answer.text
    answer = client.post("/sends/new", data=bad | {"filter": "segment = SMB"})
    assert answer.status_code == 422
    assert "templates.de.subject" in answer.text and "a key is lower-case letters" in answer.text
    assert 'id="subject_de-error"' in answer.text and "Hallo {{ customer.name }" in answer.text
    nul = client.post("/sends/new", data=FORM | {"csrf_token": token, "name": "Winter\x00"})
    assert nul.status_code == 422 and "name: holds a character that cannot be stored" in nul.text
    missing = client.post("/sends/new", data=FORM | {"csrf_token": token, "audience_kind": "sample", "sample": "nope"})
    assert missing.status_code == 422 and "there is no sample &#39;nope&#39;" in missing.text


def test_editing_a_draft_and_cancelling(client, db, feedback):
    token = _admin(client, db)
    client.post("/sends/new", data=FORM | {"csrf_token": token})
    edit = client.get("/sends/winter/edit")
    assert edit.status_code == 200 and "Winter wave" in edit.text
    changed = client.post("/sends/winter/edit", data=FORM | {"csrf_token": token, "name": "Winter wave 2"},
                          follow_redirects=False)
    assert changed.status_code == 303
    assert client.post("/sends/winter/cancel", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    with db.read() as db_session:
        send = db_session.query(Send).one()
        assert (send.name, send.status) == ("Winter wave 2", "cancelled")
    refused = client.post("/sends/winter/edit", data=FORM | {"csrf_token": token})
    assert refused.status_code == 422 and "only a draft or scheduled send can change" in refused.text


def test_readers_read_and_only_editors_write_with_csrf(client, db, feedback):
    token = _admin(client, db)
    client.post("/sends/new", data=FORM | {"csrf_token": token})
    client.post("/logout", data={"csrf_token": token})
    login(client, make_user(db, "viewer"))
    assert client.get("/sends").status_code == 200 and client.get("/sends/winter/dry-run").status_code == 200
    viewer_token = csrf_from(client.get("/sends").text) if 'name="csrf_token"' in client.get("/sends").text else ""
    assert client.get("/sends/new").status_code == 403
    assert client.post("/sends/winter/send", data={"csrf_token": viewer_token}).status_code == 403
    assert client.post("/sends/rules", data={"csrf_token": viewer_token}).status_code == 403
    assert client.post("/api/v1/events", json={"name": "x", "customer_id": "C-1"}).status_code == 403


def test_rules_and_triggers_pages(client, db, feedback):
    add_contacts(db, PEOPLE)
    token = _admin(client, db)
    added = client.post("/sends/rules", data={"csrf_token": token, "survey": "", "max_invitations": "2",
                                              "per_days": "90", "min_gap_days": "30"}, follow_redirects=False)
    assert added.status_code == 303
    page = client.get("/sends/rules")
    assert "At most 2 times per 90 days and at least 30 days apart" in page.text and "30 to 60 days" in page.text
    refused = client.post("/sends/rules", data={"csrf_token": token, "max_invitations": "2", "per_days": "",
                                                "min_gap_days": ""})
    assert refused.status_code == 422 and "together" in refused.text
    rule_id = client.get("/api/v1/sends/rules").json()["rules"][0]["id"]
    assert client.post(f"/sends/rules/{rule_id}/remove", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    assert client.get("/api/v1/sends/rules").json()["rules"] == []
    client.post("/sends/new", data=FORM | {"csrf_token": token, "key": "after-delivery", "audience_kind": "trigger"})
    added = client.post("/sends/triggers", data={"csrf_token": token, "key": "delivered", "event_name": "order delivered",
                                                 "delay_days": "2", "send": "after-delivery"}, follow_redirects=False)
    assert added.status_code == 303
    assert "order delivered" in client.get("/sends/triggers").text
    duplicate = client.post("/sends/triggers", data={"csrf_token": token, "key": "delivered",
                                                     "event_name": "order delivered", "send": "after-delivery"})
    assert duplicate.status_code == 422 and "exists already" in duplicate.text
    assert client.post("/sends/triggers/delivered/pause", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    with db.read() as db_session:
        assert db_session.query(Trigger).one().active is False


def test_the_events_api_records_once_and_refuses_bad_events_in_words(client, db, feedback):
    add_contacts(db, PEOPLE)
    add_rule(db, min_gap_days=30)
    login(client, make_user(db, "manager"))
    headers = {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}
    event = {"name": "order delivered", "customer_id": "C-1", "dedupe_key": "order-77"}
    first = client.post("/api/v1/events", json=event, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/events", json=event, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    bad = client.post("/api/v1/events", json={"name": "x", "customer_id": "C-1",
                                              "occurred_at": "2026-12-01T10:00:00"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "occurred_at"
    nul = client.post("/api/v1/events", json=event | {"dedupe_key": "order\x00"}, headers=headers)
    assert nul.status_code == 422 and nul.json()["errors"][0]["field"] == "dedupe_key"
    assert client.post("/api/v1/events", json=event).status_code == 403  # no CSRF header
    assert client.get("/api/v1/sends/triggers").json()["recent_events"][0]["dedupe_key"] == "order-77"


def test_the_events_api_refuses_out_of_range_dates_and_overlong_fields_at_their_field(client, db, feedback):
    add_contacts(db, PEOPLE)
    login(client, make_user(db, "manager"))
    headers = {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}
    early = client.post("/api/v1/events", json={"name": "x", "customer_id": "C-1",
                                                "occurred_at": "0001-01-01T00:00:00+14:00"}, headers=headers)
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "occurred_at"
    for field, length in (("name", 101), ("customer_id", 201), ("dedupe_key", 201)):
        event = {"name": "x", "customer_id": "C-1"} | {field: "a" * length}
        refused = client.post("/api/v1/events", json=event, headers=headers)
        assert refused.status_code == 422, (field, refused.text)
        assert field in refused.text
    longest = client.post("/api/v1/events", json={"name": "x", "customer_id": "C" * 200}, headers=headers)
    assert longest.status_code == 201, longest.text  # its own derived dedupe key still fits its column


def test_a_key_that_names_a_page_is_refused(client, db, feedback):
    token = _admin(client, db)
    for key in ("new", "rules", "triggers", "bounces"):
        answer = client.post("/sends/new", data=FORM | {"csrf_token": token, "key": key})
        assert answer.status_code == 422 and "names a page of its own" in answer.text
