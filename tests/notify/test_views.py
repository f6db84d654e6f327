"""The admin pages of sending: webhook endpoints (add with the secret shown once, pause, resume, delete), each
endpoint's delivery log with a replay button, and the e-mail outbox. Admins only, on the server; CSRF on every
form; every change audited; bad input a sentence, never a server error."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.helpers import csrf_from, login, make_user
from tests.web.test_no_inline import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE, STYLE_ELEMENT
from voxpop.accounts.models import AuditEntry
from voxpop.notify import webhooks
from voxpop.notify.events import queue_event
from voxpop.notify.models import OutgoingMail, WebhookDelivery, WebhookEndpoint
from voxpop.notify.outbox import queue_mail
from voxpop.store.base import utcnow

PAGES = ["/admin/webhooks", "/admin/mail"]


def admin(client, db) -> str:
    login(client, make_user(db, "admin"))
    return csrf_from(client.get("/admin/webhooks").text)


def audited(db, action: str) -> list[tuple[str, dict]]:
    with db.read() as db_session:
        return [tuple(row) for row in db_session.execute(select(AuditEntry.target, AuditEntry.details)
                                                         .where(AuditEntry.action == action))]


def an_endpoint(db, url: str = "https://hooks.example.com/voxpop") -> int:
    with db.write() as db_session:
        return webhooks.add_endpoint(db_session=db_session, url=url, events=[]).id


def a_delivery(db) -> int:
    with db.write() as db_session:
        [delivery] = queue_event(db_session=db_session, event="case.opened", data={"id": 3})
        db_session.flush()
        return delivery.id


@pytest.mark.parametrize("role", ["manager", "analyst", "agent", "viewer"])
def test_only_admins_see_and_change_what_is_sent(client, db, role):
    endpoint_id = an_endpoint(db)
    delivery_id = a_delivery(db)
    login(client, make_user(db, role))
    token = csrf_from(client.get("/dashboard").text)
    for path in [*PAGES, f"/admin/webhooks/{endpoint_id}"]:
        assert client.get(path).status_code == 403
        reply = client.get(f"/api/v1{path}")
        assert reply.status_code == 403 and reply.headers["content-type"] == "application/problem+json"
    for path in ["/admin/webhooks", f"/admin/webhooks/{endpoint_id}/pause", f"/admin/webhooks/{endpoint_id}/delete",
                 f"/admin/webhooks/deliveries/{delivery_id}/replay"]:
        assert client.post(path, data={"csrf_token": token, "url": "https://evil.example.com"}).status_code == 403
    with db.read() as db_session:
        assert db_session.scalar(select(WebhookEndpoint.active)) is True
        assert len(db_session.scalars(select(WebhookDelivery)).all()) == 1


def test_logged_out_pages_go_to_the_login_and_the_api_says_401(client, db):
    for path in PAGES:
        assert client.get(path, follow_redirects=False).headers["location"].startswith("/login?next=")
        assert client.get(f"/api/v1{path}").status_code == 401


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(client, db):
    token = admin(client, db)
    reply = client.post("/admin/webhooks", data={"csrf_token": token, "url": " https://hooks.example.com/voxpop ",
                                                 "events": ["case.opened", "case.closed"]})
    assert reply.status_code == 200 and reply.headers["cache-control"] == "no-store"
    secret = re.search(r'value="(whsec_[^"]+)"', reply.text).group(1)
    with db.read() as db_session:
        endpoint_id, stored = db_session.execute(select(WebhookEndpoint.id, WebhookEndpoint.secret)).one()
        assert db_session.execute(select(WebhookEndpoint.url, WebhookEndpoint.events)).one() == (
            "https://hooks.example.com/voxpop", ["case.closed", "case.opened"])
    assert stored == secret
    assert audited(db, "webhook.create") == [("https://hooks.example.com/voxpop",
                                              {"events": ["case.closed", "case.opened"]})]
    # Never again: not on the list, not in the JSON.
    assert secret not in client.get("/admin/webhooks").text
    assert secret not in client.get("/api/v1/admin/webhooks").text
    assert secret not in client.get(f"/admin/webhooks/{endpoint_id}").text
    listed = client.get("/api/v1/admin/webhooks").json()
    assert listed["endpoints"][0]["url"] == "https://hooks.example.com/voxpop"
    assert listed["events"] == ["case.opened", "case.updated", "case.closed", "alert.signal"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"url": "ftp://example.com/x"}, "must start with https://"),
    ({"url": "http://[::1/x"}, "is not a valid URL"),
    ({"url": "http://a..b/"}, "is not a valid host name"),
    ({"url": "http://xn--/"}, "is not a valid host name"),
    ({"url": ""}, "must start with https://"),
    ({"url": "https://example.com/x", "events": ["case.deleted"]}, "unknown event"),
])
def test_a_bad_endpoint_is_a_sentence_at_its_field(client, db, fields, message):
    token = admin(client, db)
    reply = client.post("/admin/webhooks", data={"csrf_token": token} | fields)
    assert reply.status_code == 400 and message in reply.text and 'class="error-summary"' in reply.text
    with db.read() as db_session:
        assert db_session.scalars(select(WebhookEndpoint)).all() == []


def test_the_audit_log_keeps_no_token_of_an_endpoints_url(client, db):
    token = admin(client, db)
    url = "https://hook:pw@hooks.example.com:8443/voxpop?token=s3cr3t#frag"
    assert client.post("/admin/webhooks", data={"csrf_token": token, "url": url}).status_code == 200
    with db.read() as db_session:
        endpoint_id = db_session.scalar(select(WebhookEndpoint.id))
    client.post(f"/admin/webhooks/{endpoint_id}/pause", data={"csrf_token": token})
    client.post(f"/admin/webhooks/{endpoint_id}/delete", data={"csrf_token": token})
    for action in ("webhook.create", "webhook.paused", "webhook.deleted"):
        [(target, details)] = audited(db, action)
        assert target == "https://hooks.example.com:8443/voxpop"
        assert "s3cr3t" not in repr(details) and "pw" not in repr(details)


def test_a_form_without_the_csrf_token_is_refused(client, db):
    admin(client, db)
    endpoint_id = an_endpoint(db)
    assert client.post("/admin/webhooks", data={"url": "https://example.com/x"}).status_code == 403
    assert client.post(f"/admin/webhooks/{endpoint_id}/delete", data={"csrf_token": "forged"}).status_code == 403
    with db.read() as db_session:
        assert len(db_session.scalars(select(WebhookEndpoint)).all()) == 1


def test_pause_resume_and_delete_are_audited(client, db):
    token = admin(client, db)
    endpoint_id = an_endpoint(db)
    reply = client.post(f"/admin/webhooks/{endpoint_id}/pause", data={"csrf_token": token}, follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == "/admin/webhooks?saved=paused"
    page = client.get("/admin/webhooks?saved=paused").text
    assert "Endpoint paused" in page and "Paused" in page and "Resume" in page
    client.post(f"/admin/webhooks/{endpoint_id}/resume", data={"csrf_token": token})
    client.post(f"/admin/webhooks/{endpoint_id}/delete", data={"csrf_token": token})
    with db.read() as db_session:
        assert db_session.scalars(select(WebhookEndpoint)).all() == []
    for action in ("webhook.paused", "webhook.resumed", "webhook.deleted"):
        assert audited(db, action) == [("https://hooks.example.com/voxpop", {"endpoint_id": endpoint_id})]
    assert client.post(f"/admin/webhooks/{endpoint_id}/pause", data={"csrf_token": token}).status_code == 404


def test_the_delivery_log_shows_each_attempt_and_replays_one(client, db):
    token = admin(client, db)
    endpoint_id = an_endpoint(db)
    delivery_id = a_delivery(db)
    with db.write() as db_session:
        delivery = db_session.get(WebhookDelivery, delivery_id)
        delivery.status, delivery.attempts, delivery.last_status_code = "failed", 6, 500
        delivery.last_error = "HTTP 500: <b>boom</b> (gave up after 6 attempts)"
    page = client.get(f"/admin/webhooks/{endpoint_id}")
    assert page.status_code == 200 and "case.opened" in page.text and "HTTP 500" in page.text
    assert "&lt;b&gt;boom&lt;/b&gt;" in page.text and "<b>boom" not in page.text
    reply = client.post(f"/admin/webhooks/deliveries/{delivery_id}/replay", data={"csrf_token": token},
                        follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == f"/admin/webhooks/{endpoint_id}?saved=replayed"
    log = client.get(f"/api/v1/admin/webhooks/{endpoint_id}").json()
    assert log["total"] == 2
    copy, original = log["deliveries"]
    assert copy["manual"] and copy["replay_of"] == original["id"] and copy["message_id"] == original["message_id"]
    assert copy["status"] == "pending" and original["status"] == "failed"
    [(target, details)] = audited(db, "webhook.replay")
    assert target == original["message_id"] and details["delivery_id"] == delivery_id
    assert "Replay of #" in client.get(f"/admin/webhooks/{endpoint_id}").text
    csv = client.get(f"/admin/webhooks/{endpoint_id}?format=csv")
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.count("\n") == 3


def test_replaying_on_a_paused_endpoint_says_what_to_do(client, db):
    token = admin(client, db)
    endpoint_id = an_endpoint(db)
    delivery_id = a_delivery(db)
    client.post(f"/admin/webhooks/{endpoint_id}/pause", data={"csrf_token": token})
    reply = client.post(f"/admin/webhooks/deliveries/{delivery_id}/replay", data={"csrf_token": token})
    assert reply.status_code == 400 and "resume it before replaying" in reply.text
    assert client.post("/admin/webhooks/deliveries/999/replay", data={"csrf_token": token}).status_code == 404


def test_unknown_and_impossible_ids_are_not_server_errors(client, db):
    admin(client, db)
    assert client.get("/admin/webhooks/999").status_code == 404
    reply = client.get("/api/v1/admin/webhooks/999")
    assert reply.status_code == 404 and reply.headers["content-type"] == "application/problem+json"
    assert client.get("/admin/webhooks/0").status_code == 400
    assert client.get("/admin/webhooks/abc").status_code == 400
    assert client.get("/api/v1/admin/webhooks/99999999999").status_code == 422
    assert client.get("/admin/webhooks/999?format=csv").status_code == 404


def test_the_outbox_shows_the_smtp_setup_and_every_message(client, db, settings):
    admin(client, db)
    with db.write() as db_session:
        sent = queue_mail(db_session=db_session, kind="case.assigned", recipient="agent@example.com",
                          subject="Case 4 is yours: <script>x</script>", body_text="secret body", related="case:4")
        sent.status, sent.attempts, sent.smtp_reply, sent.sent_at = "sent", 1, "250 2.0.0 Ok: queued as 9", utcnow()
        queue_mail(db_session=db_session, kind="case.followup", recipient="ana@example.com", subject="How are we doing now?",
                   body_text="link")
    page = client.get("/admin/mail")
    assert page.status_code == 200 and "Not configured" in page.text and "VOXPOP_SMTP_HOST" in page.text
    assert "&lt;script&gt;x&lt;/script&gt;" in page.text and "<script>x" not in page.text
    assert "250 2.0.0 Ok: queued as 9" in page.text and "secret body" not in page.text
    assert 'href="/cases/4"' in page.text
    data = client.get("/api/v1/admin/mail").json()
    assert data["smtp"]["configured"] is False and data["counts"] == {"queued": 1, "sending": 0, "sent": 1, "failed": 0,
                                                                             "in_doubt": 0}
    assert [message["status"] for message in data["messages"]] == ["queued", "sent"]  # waiting messages on top
    only_sent = client.get("/api/v1/admin/mail?status=sent").json()
    assert [message["recipient"] for message in only_sent["messages"]] == ["agent@example.com"]
    assert client.get("/admin/mail?status=sent&format=csv").text.count("\n") == 2


def test_the_outbox_says_where_mail_goes_but_never_the_password(client, db, settings):
    client.app.state.settings = settings.model_copy(update={
        "smtp_host": "smtp.example.com", "smtp_port": 465, "smtp_security": "tls", "smtp_user": "voxpop",
        "smtp_password": "hunter2-very-secret"})
    admin(client, db)
    page = client.get("/admin/mail").text
    assert "smtp.example.com:465, TLS, logged in as voxpop" in page and "hunter2" not in page
    assert "hunter2" not in client.get("/api/v1/admin/mail").text


def test_an_unknown_status_filter_is_a_sentence(client, db):
    admin(client, db)
    page = client.get("/admin/mail?status=lost")
    assert page.status_code == 400 and "status must be one of queued, sending, sent, failed" in page.text
    reply = client.get("/api/v1/admin/mail?status=lost")
    assert reply.status_code == 422 and reply.headers["content-type"] == "application/problem+json"


def test_the_pages_have_no_inline_style_or_script(client, db):
    admin(client, db)
    endpoint_id = an_endpoint(db)
    a_delivery(db)
    for path in [*PAGES, f"/admin/webhooks/{endpoint_id}", "/admin/mail?status=nope"]:
        html = client.get(path).text
        for pattern in (INLINE_STYLE, STYLE_ELEMENT, INLINE_SCRIPT, EVENT_HANDLER):
            assert pattern.search(html) is None, path


def in_doubt(db, recipient: str) -> int:
    with db.write() as db_session:
        mail = queue_mail(db_session=db_session, kind="case.assigned", recipient=recipient, subject="Case 9 is yours",
                          body_text="Open case 9.", related="case:9")
        mail.status, mail.attempts, mail.data_started_at = "in_doubt", 1, utcnow()
        db_session.flush()
        return mail.id


def test_an_admin_lists_and_settles_the_messages_in_doubt(client, db):
    token = admin(client, db)
    arrived, lost = in_doubt(db, "got-it@example.com"), in_doubt(db, "lost@example.com")
    page = client.get("/admin/mail")
    assert 'data-testid="in-doubt-notice"' in page.text and "2 messages were cut off" in page.text
    listed = client.get("/admin/mail?status=in_doubt")
    assert listed.status_code == 200 and f"/admin/mail/{arrived}/mark-sent" in listed.text
    assert f"/admin/mail/{lost}/send-again" in listed.text
    data = client.get("/api/v1/admin/mail?status=in_doubt").json()
    assert data["counts"]["in_doubt"] == 2 and {m["id"] for m in data["messages"]} == {arrived, lost}
    assert client.post(f"/admin/mail/{arrived}/mark-sent", data={}).status_code == 403  # no CSRF token
    marked = client.post(f"/admin/mail/{arrived}/mark-sent", data={"csrf_token": token}, follow_redirects=False)
    assert marked.status_code == 303 and "saved=marked-sent" in marked.headers["location"]
    again = client.post(f"/admin/mail/{lost}/send-again", data={"csrf_token": token}, follow_redirects=False)
    assert again.status_code == 303
    with db.read() as db_session:
        assert db_session.get(OutgoingMail, arrived).status == "sent"
        assert db_session.get(OutgoingMail, lost).status == "queued"
    assert [target for target, _ in audited(db, "mail.marked_sent")] == [stored_id(db, arrived)]
    [(_, details)] = audited(db, "mail.sent_again")
    assert details["recipient"] == "lost@example.com" and details["mail_id"] == lost
    settled_twice = client.post(f"/admin/mail/{arrived}/send-again", data={"csrf_token": token})
    assert settled_twice.status_code == 409 and "Nothing changed" in settled_twice.text
    with db.read() as db_session:
        assert db_session.get(OutgoingMail, arrived).status == "sent"


def stored_id(db, mail_id: int) -> str:
    with db.read() as db_session:
        return db_session.get(OutgoingMail, mail_id).message_id


@pytest.mark.parametrize("role", ["manager", "agent"])
def test_only_an_admin_settles_a_message_in_doubt(client, db, role):
    mail_id = in_doubt(db, "x@example.com")
    login(client, make_user(db, role))
    token = csrf_from(client.get("/dashboard").text)
    for action in ("mark-sent", "send-again"):
        assert client.post(f"/admin/mail/{mail_id}/{action}", data={"csrf_token": token}).status_code == 403
    with db.read() as db_session:
        assert db_session.get(OutgoingMail, mail_id).status == "in_doubt"
