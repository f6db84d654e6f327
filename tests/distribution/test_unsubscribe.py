"""Unsubscribing from an invitation e-mail: the link's page asks (a GET, as mail scanners make, changes nothing),
its button and a mail program's RFC 8058 one-click POST both suppress the address, log `unsubscribed` once,
cancel reminders and e-mails still waiting; a forged link gets a clear 404 page, never a 500."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from tests.distribution.sent import inline, send_wave
from voxpop.customers.models import Suppression
from voxpop.distribution import links
from voxpop.distribution.delivery import UNSUBSCRIBED_REPLY
from voxpop.distribution.models import InvitationEvent, SendInvitation
from voxpop.notify.models import OutgoingMail
from voxpop.notify.outbox import queue_mail

ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}


def link_in_mail(server, recipient: str) -> str:
    """The path of the List-Unsubscribe link in the e-mail the server received for `recipient`."""
    [message] = [message for message in server.messages if message["To"] == recipient]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    return urlsplit(message["List-Unsubscribe"].strip("<>")).path


def suppressed(db) -> dict[str, str]:
    with db.read() as db_session:
        return {row.email: row.reason for row in db_session.scalars(select(Suppression))}


def unsubscribed_events(db) -> list[int]:
    with db.read() as db_session:
        return list(db_session.scalars(select(InvitationEvent.invitation_id).where(
            InvitationEvent.kind == "unsubscribed")))


def test_the_page_asks_and_a_get_changes_nothing(client, db, settings, feedback, smtp_server):
    world = send_wave(db, settings, smtp_server)
    path = link_in_mail(smtp_server, "bernd@example.com")
    page = client.get(path)
    assert page.status_code == 200
    assert "Abmelden" in page.text and "bernd@example.com" in page.text and 'lang="de"' in page.text
    assert f'action="{path}"' in page.text
    assert not inline(page.text)
    assert suppressed(db) == {} and unsubscribed_events(db) == []
    assert world.invitations["C-bernd"]


def test_one_click_post_unsubscribes_once_and_cancels_what_waits(client, db, settings, feedback, smtp_server):
    world = send_wave(db, settings, smtp_server)
    ann = world.invitations["C-ann"]
    with db.write() as db_session:  # a reminder queued but not sent yet
        reminder = queue_mail(db_session=db_session, kind="invitation.reminder", recipient="ann@example.com",
                              subject="Reminder", body_text="Still a minute?", related=f"invitation:{ann}")
        db_session.flush()
        waiting = reminder.id
    path = link_in_mail(smtp_server, "ann@example.com")
    client.cookies.clear()
    answer = client.post(path, content=b"List-Unsubscribe=One-Click", headers=ONE_CLICK, follow_redirects=False)
    assert answer.status_code == 200 and "You are unsubscribed" in answer.text
    assert "set-cookie" not in answer.headers  # nothing to remember a mail program by
    assert suppressed(db) == {"ann@example.com": "unsubscribed"}
    assert unsubscribed_events(db) == [ann]
    with db.read() as db_session:
        row = db_session.scalar(select(SendInvitation).where(SendInvitation.invitation_id == ann))
        assert (row.status, row.next_reminder_at) == ("unsubscribed", None)
        mail = db_session.get(OutgoingMail, waiting)
        assert (mail.status, mail.smtp_reply) == ("failed", UNSUBSCRIBED_REPLY)
    again = client.post(path, content=b"List-Unsubscribe=One-Click", headers=ONE_CLICK)
    assert again.status_code == 200 and unsubscribed_events(db) == [ann]  # whatever the state: 200, logged once
    assert "You are unsubscribed" in client.get(path).text  # the page now says so


def test_the_pages_button_unsubscribes_in_the_customers_language(client, db, settings, feedback, smtp_server):
    world = send_wave(db, settings, smtp_server)
    path = link_in_mail(smtp_server, "bernd@example.com")
    answer = client.post(path, data={"confirm": "yes"})
    assert answer.status_code == 200 and "Sie sind abgemeldet" in answer.text
    assert suppressed(db) == {"bernd@example.com": "unsubscribed"}
    assert unsubscribed_events(db) == [world.invitations["C-bernd"]]


def test_forged_or_foreign_links_get_a_clear_page(client, db, settings, feedback, smtp_server):
    send_wave(db, settings, smtp_server)
    path = link_in_mail(smtp_server, "ann@example.com")
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    nobody = "/u/" + links.unsubscribe_token(settings, 987_654)  # signed, but no such invitation
    wrong_salt = "/u/" + links.URLSafeSerializer(settings.signing_key, salt="other").dumps(1)
    for bad in (forged, nobody, wrong_salt, "/u/x", "/u/" + "a" * 500, "/u/%00%ff"):
        for answer in (client.get(bad), client.post(bad, content=b"List-Unsubscribe=One-Click", headers=ONE_CLICK)):
            assert answer.status_code == 404, bad
            # A NUL in the address is answered by the plumbing before the route: no address holds one.
            assert ("There is nothing at this address" if "%00" in bad else "This unsubscribe link is not valid") \
                in answer.text
    assert suppressed(db) == {}
