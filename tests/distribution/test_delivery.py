"""The send log after the outbox: the SMTP server's answer for each invitation (sent, failed, bounced with the
address suppressed), started when the link is opened, completed when a response carries the invitation, each
recorded once; bounces reported by a mail provider through the API."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.distribution.conftest import NOW
from tests.distribution.sent import opened, respond, send_wave
from tests.helpers import login, make_user
from voxpop.customers.models import Suppression
from voxpop.distribution.delivery import sync_outcomes
from voxpop.distribution.models import InvitationEvent, SendInvitation
from voxpop.notify.models import OutgoingMail


def log(db, send_id: int) -> list[tuple[int, str, str | None]]:
    with db.read() as db_session:
        return [(event.invitation_id, event.kind, event.detail) for event in db_session.scalars(
            select(InvitationEvent).where(InvitationEvent.send_id == send_id, InvitationEvent.kind != "queued")
            .order_by(InvitationEvent.id))]


def statuses(db, send_id: int) -> dict[int, str]:
    with db.read() as db_session:
        return {row.invitation_id: row.status for row in db_session.scalars(
            select(SendInvitation).where(SendInvitation.send_id == send_id))}


def sync(db, now=NOW):
    with db.write() as db_session:
        return sync_outcomes(db_session, now=now)


def test_the_servers_answers_are_logged_once_and_a_5xx_bounces_and_suppresses(db, settings, feedback, smtp_server):
    world = send_wave(db, settings, smtp_server)
    ann, bernd, gone = (world.invitations[key] for key in ("C-ann", "C-bernd", "C-gone"))
    report = sync(db)
    assert (report.sent, report.bounced, report.failed) == (2, 1, 0)
    events = {(invitation, kind): detail for invitation, kind, detail in log(db, world.send_id)}
    assert set(events) == {(ann, "sent"), (bernd, "sent"), (gone, "bounced")}
    assert events[(ann, "sent")].startswith("250 ")  # the server's answer, its queue id
    assert events[(gone, "bounced")].startswith("550 5.1.1 No such user here")
    assert statuses(db, world.send_id) == {ann: "sent", bernd: "sent", gone: "bounced"}
    with db.read() as db_session:
        [entry] = db_session.scalars(select(Suppression)).all()
        assert (entry.email, entry.reason) == ("gone@example.com", "bounced")
        assert db_session.scalar(select(SendInvitation.next_reminder_at).where(
            SendInvitation.invitation_id == gone)) is None  # no reminder to a dead address
    assert sync(db) == type(report)()  # nothing new: nothing logged twice
    assert len(log(db, world.send_id)) == 3


def test_a_temporary_failure_given_up_is_failed_not_bounced(db, settings, feedback, smtp_server):
    world = send_wave(db, settings, smtp_server, [("C-ann", "ann@example.com", "en", {"segment": "SMB"})])
    with db.write() as db_session:  # six 4xx answers in a row end like this
        mail = db_session.scalar(select(OutgoingMail))
        mail.status, mail.smtp_reply, mail.sent_at = "failed", "451 4.3.0 Try again later (gave up after 6 attempts)", None
        db_session.execute(select(InvitationEvent))  # keep the session honest about the change
    assert sync(db).failed == 1
    [(_, kind, detail)] = log(db, world.send_id)
    assert (kind, detail) == ("failed", "451 4.3.0 Try again later (gave up after 6 attempts)")
    with db.read() as db_session:
        assert db_session.scalars(select(Suppression)).all() == []


def test_started_and_completed_follow_the_link_and_the_response(db, settings, feedback, smtp_server):
    world = send_wave(db, settings, smtp_server)
    ann, bernd = world.invitations["C-ann"], world.invitations["C-bernd"]
    sync(db)
    opened(db, ann, NOW + timedelta(hours=2))
    report = sync(db, NOW + timedelta(hours=3))
    assert report.started == 1 and statuses(db, world.send_id)[ann] == "started"
    respond(db, ann, NOW + timedelta(hours=2, minutes=5))
    respond(db, bernd, NOW + timedelta(days=1))  # answered without the page's first view being seen
    report = sync(db, NOW + timedelta(days=2))
    assert report.completed == 2
    kinds = [(invitation, kind) for invitation, kind, _ in log(db, world.send_id)
             if kind in ("started", "completed")]
    assert kinds == [(ann, "started"), (ann, "completed"), (bernd, "started"), (bernd, "completed")]
    assert statuses(db, world.send_id)[ann] == statuses(db, world.send_id)[bernd] == "completed"
    with db.read() as db_session:
        at = dict(db_session.execute(select(InvitationEvent.kind, InvitationEvent.at).where(
            InvitationEvent.invitation_id == ann, InvitationEvent.kind.in_(("started", "completed")))).all())
    assert at == {"started": NOW + timedelta(hours=2), "completed": NOW + timedelta(hours=2, minutes=5)}
    assert sync(db, NOW + timedelta(days=3)).completed == 0


def _admin_client(client, db, role="admin"):
    login(client, make_user(db, role))
    return {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}


def test_a_bounce_reported_by_the_provider_suppresses_and_logs(client, db, settings, feedback, smtp_server):
    world = send_wave(db, settings, smtp_server)
    sync(db)
    headers = _admin_client(client, db)
    answer = client.post("/api/v1/sends/bounces", headers=headers,
                         json={"address": " Ann@Example.com", "diagnostic": "smtp; 550 5.2.1 mailbox disabled"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"address": "ann@example.com", "invitations": 1}
    ann = world.invitations["C-ann"]
    assert (ann, "bounced", "smtp; 550 5.2.1 mailbox disabled") in log(db, world.send_id)
    assert statuses(db, world.send_id)[ann] == "bounced"
    with db.read() as db_session:
        assert db_session.scalar(select(Suppression.reason).where(Suppression.email == "ann@example.com")) == "bounced"


def test_a_bounce_report_is_checked(client, db, settings, feedback):
    headers = _admin_client(client, db)
    bad = client.post("/api/v1/sends/bounces", headers=headers, json={"address": "not an address", "diagnostic": ""})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert "address" in bad.text
    assert client.post("/api/v1/sends/bounces", json={"address": "a@example.com"}).status_code == 403  # no CSRF
    assert client.post("/api/v1/sends/bounces", headers=headers, content=b"{").status_code == 422


def test_only_admins_report_bounces(client, db, feedback):
    headers = _admin_client(client, db, role="manager")
    answer = client.post("/api/v1/sends/bounces", headers=headers, json={"address": "a@example.com", "diagnostic": ""})
    assert answer.status_code == 403
