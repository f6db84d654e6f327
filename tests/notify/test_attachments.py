"""One attached file per e-mail (the scheduled scorecard PDF): queued with the message, sent as a MIME part of a
multipart/mixed message to a real SMTP server (aiosmtpd), with its name, type and exact bytes; a retry sends the
same bytes; a message without one stays plain text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from voxpop.notify import mail as sender
from voxpop.notify.models import OutgoingMail
from voxpop.notify.outbox import Attachment, queue_mail

NOW = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
# Bytes a text part could mangle: NUL, CR/LF pairs, 8-bit, a line longer than SMTP allows.
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n\x00\r\n\r\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def queue(db, *, attachment: Attachment | None) -> int:
    with db.write() as db_session:
        mail = queue_mail(db_session=db_session, kind="scorecard.report", recipient="ceo@example.com",
                          subject="Northwind scorecard, 2026-11", body_text="The scorecard is attached.\n",
                          related="scorecard:1", attachment=attachment)
        mail.next_attempt_at = NOW - timedelta(seconds=1)
        db_session.flush()
        return mail.id


def smtp_settings(settings, server):
    return settings.model_copy(update=server.settings() | {"smtp_from": "voxpop <cx@example.com>"})


def test_the_attachment_arrives_as_a_part_with_its_name_type_and_bytes(db, settings, smtp_server):
    queue(db, attachment=Attachment("northwind-2026-11.pdf", "application/pdf", PDF))
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=NOW) == 1
    [message] = smtp_server.messages
    assert message.get_content_type() == "multipart/mixed"
    body = message.get_body(preferencelist=("plain",))
    assert body.get_content().replace("\r\n", "\n") == "The scorecard is attached.\n"
    [part] = list(message.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    assert part.get_filename() == "northwind-2026-11.pdf"
    assert part.get_content() == PDF


def test_the_attachment_is_stored_with_the_message_and_a_retry_sends_the_same_bytes(db, settings):
    from tests.smtp import running_smtp_server

    mail_id = queue(db, attachment=Attachment("report.pdf", "application/pdf", PDF))
    with db.read() as db_session:
        row = db_session.get(OutgoingMail, mail_id)
        assert (row.attachment, row.attachment_name, row.attachment_type) == (PDF, "report.pdf", "application/pdf")
    with running_smtp_server(refuse_first=1) as server:
        configured = smtp_settings(settings, server)
        assert sender.send_due_mail(db, settings=configured, now=NOW) == 0
        assert sender.send_due_mail(db, settings=configured, now=NOW + timedelta(minutes=2)) == 1
        [message] = server.messages
        [part] = list(message.iter_attachments())
        assert part.get_content() == PDF


def test_a_file_name_with_a_line_break_or_accents_is_one_header_line(db, settings, smtp_server):
    queue(db, attachment=Attachment("Überblick\r\nBcc: x@example.com.pdf", "application/pdf", b"%PDF-1.7\n"))
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=NOW) == 1
    [message] = smtp_server.messages
    assert message["Bcc"] is None
    [part] = list(message.iter_attachments())
    assert part.get_filename() == "Überblick Bcc: x@example.com.pdf"


def test_a_message_without_an_attachment_stays_plain_text(db, settings, smtp_server):
    queue(db, attachment=None)
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=NOW) == 1
    [message] = smtp_server.messages
    assert message.get_content_type() == "text/plain"
    assert list(message.iter_attachments()) == []
