"""The mail worker against a real SMTP server (aiosmtpd): sent and received with the right headers, a refusal
retried with backoff, a crash mid-send recovered with the same Message-ID, the per-minute limit, and no SMTP
host set: nothing sent, nothing lost. Every step runs on a controlled clock (`now`), never with sleeps."""

from __future__ import annotations

import shutil
import smtplib
import subprocess
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import skip_or_fail
from tests.smtp import running_smtp_server
from voxpop.notify import mail as sender
from voxpop.notify.models import OutgoingMail
from voxpop.notify.outbox import queue_mail

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def queue(db, count: int = 1, **fields) -> list[int]:
    with db.write() as db_session:
        mails = [queue_mail(db_session=db_session, kind=fields.get("kind", "case.assigned"),
                            recipient=fields.get("recipient", f"agent{number}@example.com"),
                            subject=fields.get("subject", f"Case {number} is yours"),
                            body_text=fields.get("body_text", f"Open case {number}.\n"), related=f"case:{number}",
                            headers=fields.get("headers"))
                 for number in range(count)]
        for mail in mails:
            mail.next_attempt_at = NOW - timedelta(seconds=1)
        db_session.flush()
        return [mail.id for mail in mails]


def stored(db, mail_id: int) -> OutgoingMail:
    with db.read() as db_session:
        mail = db_session.get(OutgoingMail, mail_id)
        db_session.expunge(mail)
        return mail


def smtp_settings(settings, server, **more):
    return settings.model_copy(update=server.settings() | {"smtp_from": "voxpop <cx@example.com>"} | more)


def test_a_queued_message_arrives_with_its_headers_and_body(db, settings, smtp_server):
    [mail_id] = queue(db, subject="Case 7 is yours: “late” delivery", body_text="Open the case: http://x/cases/7\n",
                      headers={"Auto-Submitted": "auto-generated"})
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=NOW) == 1
    [message] = smtp_server.messages
    row = stored(db, mail_id)
    assert message["Message-ID"] == row.message_id
    assert message["From"] == "voxpop <cx@example.com>" and message["To"] == "agent0@example.com"
    assert message["Subject"] == "Case 7 is yours: “late” delivery"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"].datetime == NOW
    assert message.get_content().replace("\r\n", "\n") == "Open the case: http://x/cases/7\n"  # CRLF on the wire
    assert smtp_server.envelopes == [("cx@example.com", ["agent0@example.com"])]
    assert row.status == "sent" and row.sent_at == NOW and row.attempts == 1
    assert row.smtp_reply.startswith("250") and "queued as 1" in row.smtp_reply
    # Sent is sent: the next step finds nothing to do.
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=NOW + timedelta(hours=1)) == 0
    assert len(smtp_server.messages) == 1


def test_a_refusal_is_retried_with_backoff_and_kept_in_the_log(db, settings):
    [mail_id] = queue(db)
    with running_smtp_server(refuse_first=1) as server:
        configured = smtp_settings(settings, server)
        assert sender.send_due_mail(db, settings=configured, now=NOW) == 0
        row = stored(db, mail_id)
        assert row.status == "queued" and row.attempts == 1 and row.smtp_reply == "451 4.3.0 Try again later"
        assert row.next_attempt_at == NOW + timedelta(minutes=1)
        # Not yet due: nothing happens a moment later.
        assert sender.send_due_mail(db, settings=configured, now=NOW + timedelta(seconds=30)) == 0
        assert server.messages == []
        assert sender.send_due_mail(db, settings=configured, now=NOW + timedelta(minutes=1)) == 1
        row = stored(db, mail_id)
        assert row.status == "sent" and row.attempts == 2 and len(server.messages) == 1


def test_the_backoff_grows_and_the_sender_gives_up_and_says_so(db, settings):
    [mail_id] = queue(db)
    with running_smtp_server(refuse_first=100) as server:
        configured = smtp_settings(settings, server)
        moment = NOW
        waits = []
        for _attempt in range(sender.MAX_ATTEMPTS):
            assert sender.send_due_mail(db, settings=configured, now=moment) == 0
            row = stored(db, mail_id)
            if row.status == "queued":
                waits.append(row.next_attempt_at - moment)
                moment = row.next_attempt_at
    assert waits == list(sender.BACKOFF)
    assert row.status == "failed" and row.attempts == sender.MAX_ATTEMPTS
    assert row.smtp_reply == f"451 4.3.0 Try again later (gave up after {sender.MAX_ATTEMPTS} attempts)"


def test_a_permanent_refusal_is_not_retried(db, settings):
    [mail_id] = queue(db)
    with running_smtp_server(refuse_first=1, refusal="554 5.7.1 Message rejected") as server:
        assert sender.send_due_mail(db, settings=smtp_settings(settings, server), now=NOW) == 0
    row = stored(db, mail_id)
    assert row.status == "failed" and row.attempts == 1
    assert row.smtp_reply == "554 5.7.1 Message rejected (the server refused the message for good)"


def test_a_server_that_cannot_be_reached_leaves_the_messages_for_a_retry(db, settings):
    ids = queue(db, 2)
    with running_smtp_server() as server:
        gone = smtp_settings(settings, server)
    # The server has stopped: connecting fails.
    assert sender.send_due_mail(db, settings=gone, now=NOW) == 0
    for mail_id in ids:
        row = stored(db, mail_id)
        assert row.status == "queued" and row.attempts == 1 and "ConnectionRefusedError" in row.smtp_reply
        assert row.next_attempt_at == NOW + timedelta(minutes=1)


def test_a_message_left_sending_by_a_crash_goes_out_again_with_the_same_message_id(db, settings, smtp_server):
    [mail_id] = queue(db)
    # A worker claims the message and dies before it records anything.
    [claimed] = sender.claim(db, now=NOW, limit=10)
    row = stored(db, mail_id)
    assert row.status == "sending" and row.attempts == 1
    configured = smtp_settings(settings, smtp_server)
    # While the claim holds, no other worker takes the message.
    assert sender.send_due_mail(db, settings=configured, now=NOW + timedelta(minutes=5)) == 0
    assert smtp_server.messages == []
    assert sender.send_due_mail(db, settings=configured, now=NOW + sender.SENDING_LEASE) == 1
    [message] = smtp_server.messages
    assert message["Message-ID"] == claimed.message_id == row.message_id
    assert stored(db, mail_id).attempts == 2
    # The dead worker's late record cannot overwrite the one that counted.
    sender.record(db, mail=claimed, outcome=sender.Outcome(False, "421 too late"), now=NOW)
    assert stored(db, mail_id).status == "sent"


def test_two_claims_never_take_the_same_message(db):
    queue(db, 5)
    first = sender.claim(db, now=NOW, limit=3)
    second = sender.claim(db, now=NOW, limit=10)
    assert len(first) == 3 and len(second) == 2
    assert not {mail.id for mail in first} & {mail.id for mail in second}


def test_the_rate_limit_holds_back_what_is_over_it(db, settings, smtp_server):
    queue(db, 5)
    configured = smtp_settings(settings, smtp_server, smtp_per_minute=2)
    assert sender.send_due_mail(db, settings=configured, now=NOW) == 2
    assert sender.send_due_mail(db, settings=configured, now=NOW + timedelta(seconds=59)) == 0
    assert sender.send_due_mail(db, settings=configured, now=NOW + timedelta(seconds=61)) == 2
    assert sender.send_due_mail(db, settings=configured, now=NOW + timedelta(seconds=122)) == 1
    assert len(smtp_server.messages) == 5


def test_without_an_smtp_host_messages_stay_queued(db, settings):
    [mail_id] = queue(db)
    assert settings.smtp_host is None
    assert sender.send_due_mail(db, settings=settings, now=NOW + timedelta(days=3)) == 0
    row = stored(db, mail_id)
    assert row.status == "queued" and row.attempts == 0 and row.smtp_reply is None


def test_one_refused_recipient_does_not_stop_the_others(db, settings):
    ids = queue(db, 3)
    with running_smtp_server() as server:
        configured = smtp_settings(settings, server)
        server.unknown_recipients.add("agent1@example.com")
        assert sender.send_due_mail(db, settings=configured, now=NOW) == 2
    assert [stored(db, mail_id).status for mail_id in ids] == ["sent", "failed", "sent"]
    assert stored(db, ids[1]).smtp_reply == "550 5.1.1 No such user here (the server refused the recipient for good)"


def test_an_smtp_error_names_the_servers_answer():
    outcome = sender.outcome_of(smtplib.SMTPDataError(452, b"4.3.1 Insufficient storage"))
    assert outcome == sender.Outcome(False, "452 4.3.1 Insufficient storage", permanent=False)
    assert sender.outcome_of(TimeoutError("timed out")).reply == "TimeoutError: timed out"


def test_the_log_keeps_every_message_in_order(db):
    queue(db, 3)
    with db.read() as db_session:
        assert db_session.scalars(select(OutgoingMail.status)).all() == ["queued"] * 3


def test_two_senders_at_once_send_each_message_once(db, settings, smtp_server):
    queue(db, 12)
    configured = smtp_settings(settings, smtp_server)
    start = threading.Barrier(2)
    sent: list[int] = []

    def worker():
        start.wait()
        sent.append(sender.send_due_mail(db, settings=configured, now=NOW, limit=5))
        sent.append(sender.send_due_mail(db, settings=configured, now=NOW, limit=5))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(sent) == 12
    ids = [message["Message-ID"] for message in smtp_server.messages]
    assert len(ids) == 12 == len(set(ids))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        skip_or_fail("the TLS tests need the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", key,
                    "-out", cert, "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_and_login_as_the_settings_say(db, settings, certificate, monkeypatch, security):
    monkeypatch.setenv("SSL_CERT_FILE", certificate[0])  # trust the test's own authority, as a system would
    queue(db)
    with running_smtp_server(tls=certificate, implicit_tls=security == "tls", login=("voxpop", "s3cret")) as server:
        configured = smtp_settings(settings, server, smtp_security=security, smtp_user="voxpop", smtp_password="s3cret")
        assert sender.send_due_mail(db, settings=configured, now=NOW) == 1
        assert len(server.messages) == 1


def test_a_refused_login_is_kept_in_the_log_and_retried(db, settings, certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", certificate[0])
    [mail_id] = queue(db)
    with running_smtp_server(tls=certificate, login=("voxpop", "s3cret")) as server:
        configured = smtp_settings(settings, server, smtp_security="starttls", smtp_user="voxpop",
                                   smtp_password="wrong")
        assert sender.send_due_mail(db, settings=configured, now=NOW) == 0
        assert server.messages == []
        row = stored(db, mail_id)
        assert row.smtp_reply == "535 5.7.8 Authentication credentials invalid" and row.status == "queued"
        # The admin fixes the password; the next attempt goes through.
        fixed = configured.model_copy(update={"smtp_password": "s3cret"})
        assert sender.send_due_mail(db, settings=fixed, now=row.next_attempt_at) == 1


def test_an_untrusted_certificate_is_refused(db, settings, certificate):
    [mail_id] = queue(db)
    with running_smtp_server(tls=certificate) as server:
        assert sender.send_due_mail(db, settings=smtp_settings(settings, server, smtp_security="starttls"), now=NOW) == 0
    row = stored(db, mail_id)
    assert row.status == "queued" and "CERTIFICATE_VERIFY_FAILED" in row.smtp_reply


def put_in_outbox(db, *, recipient: str = "agent@example.com", subject: str = "Case 1 is yours") -> int:
    """A row written straight to the outbox, as an older version or another caller may have left it: no
    clean-up of queue_mail's in between."""
    with db.write() as db_session:
        mail = OutgoingMail(message_id=f"<raw-{recipient}-{len(subject)}@voxpop>", kind="case.assigned",
                            recipient=recipient, subject=subject, body_text="Open it.\n", headers={},
                            related="case:1", next_attempt_at=NOW - timedelta(seconds=1))
        db_session.add(mail)
        db_session.flush()
        return mail.id


@pytest.mark.parametrize("separator", ["\u2028", "\x0b", "\x0c", "\x85", "\x1c"])
def test_a_subject_the_mail_library_refuses_fails_that_message_only(db, settings, smtp_server, separator):
    first = queue(db, 1)
    bad = put_in_outbox(db, subject=f"Case 1{separator}is yours")
    last = put_in_outbox(db, recipient="agent9@example.com")
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=NOW) == 2
    assert [stored(db, mail_id).status for mail_id in [*first, bad, last]] == ["sent", "failed", "sent"]
    row = stored(db, bad)
    assert row.smtp_reply.startswith("ValueError: ")
    assert row.smtp_reply.endswith("(not sent, and a retry would not send it)")
    assert [envelope[1] for envelope in smtp_server.envelopes] == [["agent0@example.com"], ["agent9@example.com"]]
    # Nothing is left "sending" for a recovery to put back: the next steps have nothing to do.
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=NOW + timedelta(hours=1)) == 0


def test_a_recipient_that_is_not_plain_ascii_fails_with_a_sentence_and_the_others_go(db, settings, smtp_server):
    ids = [*queue(db, 1), put_in_outbox(db, recipient="müller@example.com"),
           put_in_outbox(db, recipient="agent9@example.com")]
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=NOW) == 2
    assert [stored(db, mail_id).status for mail_id in ids] == ["sent", "failed", "sent"]
    assert stored(db, ids[1]).smtp_reply == (
        "the recipient address müller@example.com is not plain ASCII and the server was not asked for SMTPUTF8 "
        "(not sent, and a retry would not send it)")
    assert len(smtp_server.messages) == 2


def test_an_unexpected_error_mid_conversation_fails_that_message_and_the_session_goes_on(db, settings, smtp_server,
                                                                                        monkeypatch):
    ids = queue(db, 3)
    real_rcpt = smtplib.SMTP.rcpt

    def rcpt(self, recipient, options=()):
        if recipient == "agent1@example.com":
            raise RuntimeError("something nobody expected")
        return real_rcpt(self, recipient, options)

    monkeypatch.setattr(smtplib.SMTP, "rcpt", rcpt)
    # MAIL FROM was accepted before RCPT raised: the session is reset, or the next MAIL FROM would be refused.
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=NOW) == 2
    assert [stored(db, mail_id).status for mail_id in ids] == ["sent", "failed", "sent"]
    assert stored(db, ids[1]).smtp_reply == ("RuntimeError: something nobody expected "
                                             "(not sent, and a retry would not send it)")


@pytest.mark.parametrize(("subject", "expected"), [
    ("Case 1\u2028is yours", "Case 1 is yours"),
    ("Case 1\r\nis\x0byours\x0c\x85now\x1cor\x1d\x1e\u2029later\n", "Case 1 is yours  now or   later"),
    ("Case 1 is yours", "Case 1 is yours"),
])
def test_queue_mail_makes_the_subject_one_line(db, settings, smtp_server, subject, expected):
    [mail_id] = queue(db, subject=subject)
    assert stored(db, mail_id).subject == expected
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=NOW) == 1
    assert smtp_server.messages[0]["Subject"] == expected


def test_a_message_cut_off_on_every_attempt_is_given_up_not_queued_forever(db, settings, smtp_server):
    [mail_id] = queue(db)
    moment = NOW
    for _attempt in range(sender.MAX_ATTEMPTS):  # each time, the worker claims it and dies before it records
        sender.recover_stalled(db, now=moment)
        assert len(sender.claim(db, now=moment, limit=10)) == 1
        moment += sender.SENDING_LEASE
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=moment) == 0
    row = stored(db, mail_id)
    assert row.status == "failed" and row.attempts == sender.MAX_ATTEMPTS and smtp_server.messages == []
    assert row.smtp_reply == (f"the sending was cut off (a crash or a stop) on every attempt "
                              f"(gave up after {sender.MAX_ATTEMPTS} attempts)")
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=moment + timedelta(days=1)) == 0


def test_a_sender_that_is_not_plain_ascii_is_the_set_ups_fault_and_retried(db, settings, smtp_server):
    [mail_id] = queue(db)
    wrong = smtp_settings(settings, smtp_server, smtp_from="voxpop <cx@exämple.com>")
    assert sender.send_due_mail(db, settings=wrong, now=NOW) == 0
    row = stored(db, mail_id)
    assert row.status == "queued" and row.next_attempt_at == NOW + sender.BACKOFF[0]
    assert row.smtp_reply == ("the sender address cx@exämple.com is not plain ASCII and the server was not asked for "
                              "SMTPUTF8; set VOXPOP_SMTP_FROM to a plain ASCII address")
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=row.next_attempt_at) == 1


def test_a_store_error_before_data_leaves_the_message_for_a_retry(db, settings, smtp_server, monkeypatch):
    from sqlalchemy.exc import OperationalError

    [mail_id] = queue(db)
    real, calls = sender.mark_data_started, []

    def locked_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE outgoing_mail", {}, Exception("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr(sender, "mark_data_started", locked_once)
    configured = smtp_settings(settings, smtp_server)
    assert sender.send_due_mail(db, settings=configured, now=NOW) == 0
    row = stored(db, mail_id)
    assert (row.status, row.attempts, row.data_started_at) == ("queued", 1, None)
    assert "could not record" in row.smtp_reply and smtp_server.messages == []
    assert sender.send_due_mail(db, settings=configured, now=row.next_attempt_at) == 1
    assert stored(db, mail_id).status == "sent" and len(smtp_server.messages) == 1


@pytest.mark.parametrize(("reply", "dead"), [
    ("550 5.1.1 No such user here (the server refused the recipient for good)", True),
    ("550 No such user here (the server refused the recipient for good)", True),  # no enhanced status: RCPT says it
    ("554 5.7.1 <a@b.example>: Relay access denied (the server refused the recipient for good)", False),
    ("554 Relay access denied (the server refused the recipient for good)", False),
    ("553 5.7.1 Sender address rejected (the server refused the sender for good)", False),
    ("550 5.1.0 Sender rejected (the server refused the sender for good)", False),
    ("550 5.1.1 Recipient unknown (the server refused the message for good)", True),  # refused only at DATA
    ("554 5.1.8 Bad sender's system address (the server refused the message for good)", False),
    ("554 5.6.0 Message content rejected (the server refused the message for good)", False),
    ("535 5.7.8 Authentication credentials invalid (gave up after 6 attempts)", False),
    ("451 4.3.0 Try again later (gave up after 6 attempts)", False),
    ("550 5.1.1 No such user here (the server refused it for good)", True),  # recorded before the stage was said
])
def test_only_a_refused_recipient_is_a_dead_address(reply, dead):
    assert sender.refused_recipient(reply) is dead


def test_a_long_refusal_keeps_the_stage_it_was_refused_at(db, settings):
    [mail_id] = queue(db)
    with running_smtp_server(refuse_first=1, refusal="554 5.6.0 " + "x" * 480) as server:
        sender.send_due_mail(db, settings=smtp_settings(settings, server), now=NOW)
    reply = stored(db, mail_id).smtp_reply
    assert len(reply) <= 500 and reply.endswith("(the server refused the message for good)")
