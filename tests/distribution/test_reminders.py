"""Reminders only to those who have not answered, at most N, at least D days apart, with the first e-mail's link;
none after an unsubscribe or the survey's close; invitations expire."""

from __future__ import annotations

from datetime import timedelta

from tests.distribution.conftest import NOW, add_contacts, make_send
from voxpop.collection import flows
from voxpop.customers import contacts
from voxpop.distribution.models import InvitationEvent, Send, SendInvitation
from voxpop.distribution.planning import run_send
from voxpop.distribution.reminders import due_reminders
from voxpop.notify.mail import send_due_mail
from voxpop.notify.models import OutgoingMail
from voxpop.surveys.models import Survey

PEOPLE = [("C-1", "ann@example.com", "en", {"name": "Ann"}), ("C-2", "bernd@example.com", "de", {"name": "Bernd"}),
          ("C-3", "claire@example.com", "en", {"name": "Claire"})]


def _sent_wave(db, settings, smtp_server, **changes):
    add_contacts(db, PEOPLE)
    send_id = make_send(db, **({"expires_after_days": 3650} | changes))
    mail_settings = settings.model_copy(update=smtp_server.settings())
    with db.write() as db_session:
        run_send(db_session, db_session.get(Send, send_id), mail_settings, NOW, limit=10)
    assert send_due_mail(db, settings=mail_settings, now=NOW) == 3
    return send_id, mail_settings


def _token_of(db, email: str) -> str:
    with db.read() as db_session:
        body = db_session.query(OutgoingMail).filter_by(recipient=email).order_by(OutgoingMail.id).first().body_text
    return body.split("?t=")[1].split("&")[0]


def _remind(db, settings, when):
    with db.write() as db_session:
        return due_reminders(db_session, settings, when)


def test_reminders_go_only_to_those_who_have_not_answered(db, feedback, settings, smtp_server):
    send_id, mail_settings = _sent_wave(db, settings, smtp_server)
    survey = flows.load_survey(db, "feedback")
    flows.record_response(db, survey, flows.Submission(answers={"nps": 9}, channel="web",
                                                       invitation_token=_token_of(db, "ann@example.com")),
                          max_text_length=5000)
    assert _remind(db, mail_settings, NOW + timedelta(days=2)).reminded == 0  # the gap has not passed
    first = _remind(db, mail_settings, NOW + timedelta(days=3))
    assert (first.reminded, first.cancelled) == (2, 1)
    assert send_due_mail(db, settings=mail_settings, now=NOW + timedelta(days=3)) == 2
    reminders = smtp_server.messages[3:]
    assert sorted(message["To"] for message in reminders) == ["bernd@example.com", "claire@example.com"]
    german = next(message for message in reminders if message["To"] == "bernd@example.com")
    assert german["Subject"] == "Erinnerung: Eine Minute für uns, Bernd?"
    assert _token_of(db, "bernd@example.com") in german.get_body(("plain",)).get_content()  # the same personal link
    assert _remind(db, mail_settings, NOW + timedelta(days=5)).reminded == 0
    assert _remind(db, mail_settings, NOW + timedelta(days=6)).reminded == 2
    send_due_mail(db, settings=mail_settings, now=NOW + timedelta(days=6))
    assert _remind(db, mail_settings, NOW + timedelta(days=30)).reminded == 0  # at most max_reminders (2)
    with db.read() as db_session:
        counts = {row.customer_id: row.reminders_sent for row in db_session.query(SendInvitation)}
        kinds = [event.kind for event in db_session.query(InvitationEvent).filter_by(send_id=send_id)]
    assert sorted(counts.values()) == [0, 2, 2]
    assert kinds.count("reminded") == 4


def test_no_reminder_while_the_first_mail_is_still_in_the_outbox(db, feedback, settings):
    add_contacts(db, PEOPLE[:1])
    send_id = make_send(db)
    with db.write() as db_session:
        run_send(db_session, db_session.get(Send, send_id), settings, NOW, limit=10)  # no SMTP host: stays queued
    assert _remind(db, settings, NOW + timedelta(days=3)).reminded == 0
    with db.read() as db_session:
        assert db_session.query(SendInvitation).one().next_reminder_at == NOW + timedelta(days=3)  # kept for later


def test_an_unsubscribe_or_a_closed_survey_stops_the_reminders(db, feedback, settings, smtp_server):
    _sent_wave(db, settings, smtp_server)
    with db.write() as db_session:
        contacts.suppress(db_session, "claire@example.com", reason="unsubscribed", source="test", now=NOW)
    report = _remind(db, settings.model_copy(update=smtp_server.settings()), NOW + timedelta(days=3))
    assert (report.reminded, report.cancelled) == (2, 1)
    with db.read() as db_session:
        skipped = db_session.query(InvitationEvent).filter_by(kind="skipped").one().detail
    assert skipped.startswith("reminder not sent: not reachable: suppressed (unsubscribed")
    with db.write() as db_session:
        db_session.query(Survey).filter_by(key="feedback").update({"status": "closed"})
    report = _remind(db, settings, NOW + timedelta(days=6))
    assert (report.reminded, report.cancelled) == (0, 2)


def test_an_unanswered_invitation_expires_and_is_logged(db, feedback, settings, smtp_server):
    send_id, mail_settings = _sent_wave(db, settings, smtp_server, expires_after_days=5, max_reminders=3)
    _remind(db, mail_settings, NOW + timedelta(days=3))
    report = _remind(db, mail_settings, NOW + timedelta(days=5))
    assert report.expired == 3 and report.reminded == 0
    with db.read() as db_session:
        assert {row.status for row in db_session.query(SendInvitation)} == {"expired"}
        expired = db_session.query(InvitationEvent).filter_by(kind="expired").all()
        assert len(expired) == 3 and {event.at for event in expired} == {NOW + timedelta(days=5)}


def test_no_reminder_on_an_expired_invitation_a_capped_tick_has_not_marked_yet(db, feedback, settings, smtp_server):
    _, mail_settings = _sent_wave(db, settings, smtp_server, expires_after_days=5)
    with db.write() as db_session:
        report = due_reminders(db_session, mail_settings, NOW + timedelta(days=20), limit=1)
    assert (report.expired, report.reminded) == (1, 0)
    with db.read() as db_session:
        assert db_session.query(OutgoingMail).filter_by(kind="invitation.reminder").count() == 0
