"""The send log after the outbox: the SMTP server's answer for each invitation (sent, failed, bounced with the
address suppressed), started when the link is opened, completed when a response carries the invitation, each
recorded once; bounces reported by a mail provider through the API."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from tests.distribution.conftest import NOW
from tests.distribution.sent import opened, respond, send_wave
from tests.helpers import login, make_user
from voxpop.collection.models import Answer, Invitation, Response
from voxpop.customers.models import Suppression
from voxpop.distribution.delivery import sync_outcomes
from voxpop.distribution.models import InvitationEvent, SendInvitation
from voxpop.notify.models import OutgoingMail
from voxpop.surveys.models import Question


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
    answer = client.post("/api/v1/bounces", headers=headers,
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
    bad = client.post("/api/v1/bounces", headers=headers, json={"address": "not an address", "diagnostic": ""})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert "address" in bad.text
    assert client.post("/api/v1/bounces", json={"address": "a@example.com"}).status_code == 403  # no CSRF
    assert client.post("/api/v1/bounces", headers=headers, content=b"{").status_code == 422


def test_only_admins_report_bounces(client, db, feedback):
    headers = _admin_client(client, db, role="manager")
    answer = client.post("/api/v1/bounces", headers=headers, json={"address": "a@example.com", "diagnostic": ""})
    assert answer.status_code == 403


# --- a score clicked in the e-mail ------------------------------------------------------------------------------

def score_link(smtp_server, recipient: str, score: int) -> str:
    """The path and query of the score link in the HTML part the server received for `recipient`."""
    [message] = [message for message in smtp_server.messages if message["To"] == recipient]
    html = message.get_body(preferencelist=("html",)).get_content()
    found = re.search(rf'href="https://vox\.example(/s/[^"]*score={score})"', html)
    assert found, html
    return unescape(found.group(1))


def invitation(db, invitation_id: int) -> Invitation:
    with db.read() as db_session:
        found = db_session.get(Invitation, invitation_id)
        db_session.expunge(found)
        return found


def responses(db) -> int:
    with db.read() as db_session:
        return db_session.scalar(select(func.count()).select_from(Response))


def test_a_clicked_score_opens_the_survey_with_it_chosen_and_writes_no_response(client, db, settings, feedback,
                                                                                  smtp_server):
    world = send_wave(db, settings, smtp_server)
    page = client.get(score_link(smtp_server, "ann@example.com", 9))
    assert page.status_code == 200
    assert re.search(r'name="q_nps" value="9"\s+checked', page.text)
    assert len(re.findall(r"checked", page.text)) == 1
    ann = invitation(db, world.invitations["C-ann"])
    assert (ann.clicked_question, ann.clicked_score) == ("nps", 9)
    assert ann.opened_at is not None and ann.clicked_at is not None
    assert responses(db) == 0  # a scanner's fetch must not answer for the customer
    assert sync(db).started == 1  # the send log shows the link opened, and the score clicked
    assert (ann.id, "started", "clicked 9 for nps in the e-mail") in log(db, world.send_id)


@pytest.mark.parametrize("query", ["q=nps&score=11", "q=nps&score=-1", "q=nps&score=nine", "q=why_low&score=3",
                                   "q=nope&score=3", "q=nps", "score=3", "q=nps&score=99999999999999999999"])
def test_a_score_that_does_not_fit_opens_the_page_without_it(client, db, settings, feedback, smtp_server, query):
    world = send_wave(db, settings, smtp_server)
    base = score_link(smtp_server, "ann@example.com", 9).split("&q=")[0]
    page = client.get(f"{base}&{query}")
    assert page.status_code == 200 and "checked" not in page.text
    ann = invitation(db, world.invitations["C-ann"])
    assert ann.clicked_score is None and ann.opened_at is not None


def test_a_scanner_sweeping_every_score_is_not_taken_for_the_customer(client, db, settings, feedback, smtp_server):
    world = send_wave(db, settings, smtp_server)
    for score in range(11):
        assert client.get(score_link(smtp_server, "ann@example.com", score)).status_code == 200
    ann = invitation(db, world.invitations["C-ann"])
    assert (ann.clicked_score, ann.opened_at) == (None, None)


def test_the_clicked_score_is_kept_when_the_customer_answers_otherwise(client, db, settings, feedback, smtp_server):
    world = send_wave(db, settings, smtp_server)
    page = client.get(score_link(smtp_server, "ann@example.com", 9))
    change = {"q_nps": "6"}
    for _ in range(5):  # page by page (the follow-up question is on the next page) until the thanks
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        page = client.post("/s/feedback", data=hidden | change, follow_redirects=False)
        change = {}
        if page.status_code == 303:
            break
    assert page.status_code == 303 and "/thanks" in page.headers["location"]
    ann = invitation(db, world.invitations["C-ann"])
    assert ann.clicked_score == 9
    with db.read() as db_session:
        scores = db_session.scalars(select(Answer.score).join(Response).join(Question).where(
            Response.invitation_id == ann.id, Question.key == "nps")).all()
        assert scores == [6]  # their final answer wins


def test_a_refused_sender_fails_the_send_and_suppresses_nobody(db, settings, feedback, smtp_server):
    async def refuse_sender(server, session, envelope, address, mail_options):
        return "553 5.7.1 <cx@example.com>: Sender address rejected: not owned by user"

    smtp_server.handle_MAIL = refuse_sender  # aiosmtpd looks the hooks up on each new connection
    world = send_wave(db, settings, smtp_server)
    report = sync(db)
    assert (report.sent, report.bounced, report.failed) == (0, 0, 3)
    assert set(statuses(db, world.send_id).values()) == {"failed"}
    assert all(detail.startswith("553 5.7.1") for _, _, detail in log(db, world.send_id))
    with db.read() as db_session:
        assert db_session.scalars(select(Suppression)).all() == []
