"""HTML e-mail and restart safety.

HTML: a message with an HTML body goes out as multipart/alternative (text, then HTML), inside multipart/mixed when
it also carries a file. Restart: a real worker process sending to a real SMTP server (aiosmtpd) is killed with
SIGKILL while the server holds its answer to one DATA; after a restart every queued message was received exactly
once, and the one in doubt is marked `in_doubt` for a person, never sent twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from voxpop.notify import mail as sender
from voxpop.notify.outbox import Attachment, queue_mail

NOW = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
HTML = '<p>How likely are you to recommend us?</p><p><a href="https://x.example/s/k?score=9">9</a></p>'


def queue(db, *, count: int = 1, body_html: str | None = HTML, attachment: Attachment | None = None) -> list[int]:
    with db.write() as db_session:
        mails = [queue_mail(db_session=db_session, kind="invitation", recipient=f"customer{n}@example.com",
                            subject=f"Your visit {n}", body_text=f"Tell us about visit {n}.\n", body_html=body_html,
                            related=f"invitation:{n}", attachment=attachment) for n in range(count)]
        for mail in mails:
            mail.next_attempt_at = NOW - timedelta(seconds=1)
        db_session.flush()
        return [mail.id for mail in mails]


def smtp_settings(settings, server):
    return settings.model_copy(update=server.settings() | {"smtp_from": "voxpop <cx@example.com>"})


def test_an_html_body_goes_as_the_alternative_of_the_text(db, settings, smtp_server):
    queue(db)
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=NOW) == 1
    [message] = smtp_server.messages
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message.get_body(preferencelist=("html",)).get_content().strip() == HTML
    assert message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n") == "Tell us about visit 0.\n"


def test_html_with_a_file_is_mixed_around_the_alternative(db, settings, smtp_server):
    queue(db, attachment=Attachment("report.pdf", "application/pdf", b"%PDF-1.7\n\x00\xff"))
    sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=NOW)
    [message] = smtp_server.messages
    assert message.get_content_type() == "multipart/mixed"
    assert message.get_body(preferencelist=("html",)).get_content().strip() == HTML
    [part] = list(message.iter_attachments())
    assert (part.get_filename(), part.get_content()) == ("report.pdf", b"%PDF-1.7\n\x00\xff")


def test_without_html_the_message_stays_plain_text(db, settings, smtp_server):
    queue(db, body_html=None)
    sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=NOW)
    assert smtp_server.messages[0].get_content_type() == "text/plain"
