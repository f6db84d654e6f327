"""HTML e-mail and restart safety.

HTML: a message with an HTML body goes out as multipart/alternative (text, then HTML), inside multipart/mixed when
it also carries a file. Restart: a real worker process sending to a real SMTP server (aiosmtpd) is killed with
SIGKILL while the server holds its answer to one DATA; after a restart every queued message was received exactly
once, and the one in doubt is marked `in_doubt` for a person, never sent twice."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.smtp import running_smtp_server
from voxpop.notify import mail as sender
from voxpop.notify.models import OutgoingMail
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


# --- restart safety -----------------------------------------------------------------------------------------------

WORKER = """
import sys
from datetime import datetime
from voxpop.notify.mail import send_due_mail
from voxpop.settings import Settings
from voxpop.store.database import Database

url, port, now, data_dir = sys.argv[1], int(sys.argv[2]), datetime.fromisoformat(sys.argv[3]), sys.argv[4]
settings = Settings(data_dir=data_dir, database_url=url, secret_key="test-secret-not-for-production-0123456789",
                    smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_from="cx@example.com",
                    text_worker=False, case_worker=False)
print(send_due_mail(Database(url), settings=settings, now=now))
"""


def run_worker(database_url: str, server, now: datetime, tmp_path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER, database_url, str(server.port), now.isoformat(),
                             str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def statuses(db) -> dict[str, tuple[str, bool]]:
    with db.read() as db_session:
        return {mail.recipient: (mail.status, mail.data_started_at is not None)
                for mail in db_session.scalars(select(OutgoingMail))}


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(db, database_url, tmp_path):
    queue(db, count=5)
    with running_smtp_server(hold_at=3) as server:
        worker = run_worker(database_url, server, NOW, tmp_path)
        try:
            held = server.holding.wait(timeout=120)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        assert held, worker.stderr.read().decode()
        assert worker.returncode == -signal.SIGKILL
        server.release.set()
        assert len(server.messages) == 3  # the server had the whole third message: it keeps it, as a real one would
        # What the crash left: two recorded sent, the third handed over without an answer, two never begun.
        assert sorted(statuses(db).values()) == [("sending", False)] * 2 + [("sending", True)] + [("sent", True)] * 2

        # Restarted before the claim runs out: the dead worker's messages are left alone (it might be alive).
        again = run_worker(database_url, server, NOW + timedelta(minutes=1), tmp_path)
        assert again.wait(timeout=120) == 0 and again.stdout.read().strip() == b"0"
        restarted = run_worker(database_url, server, NOW + sender.SENDING_LEASE + timedelta(seconds=1), tmp_path)
        assert restarted.wait(timeout=120) == 0, restarted.stderr.read().decode()
        assert restarted.stdout.read().strip() == b"2"

        received = Counter(message["To"] for message in server.messages)
        assert received == Counter(f"customer{n}@example.com" for n in range(5))  # each exactly once
        assert len({message["Message-ID"] for message in server.messages}) == 5
        after = statuses(db)
        assert [status for status, _ in after.values()].count("sent") == 4
        with db.read() as db_session:
            [doubt] = db_session.scalars(select(OutgoingMail).where(OutgoingMail.status == "in_doubt")).all()
            assert doubt.smtp_reply == sender.IN_DOUBT_REPLY
            assert doubt.recipient == server.messages[2]["To"]

        # A later tick leaves it alone; nothing more goes out.
        last = run_worker(database_url, server, NOW + timedelta(hours=1), tmp_path)
        assert last.wait(timeout=120) == 0 and last.stdout.read().strip() == b"0"
        assert len(server.messages) == 5


def in_doubt(db) -> int:
    [mail_id] = queue(db)
    with db.write() as db_session:
        mail = db_session.get(OutgoingMail, mail_id)
        mail.status, mail.attempts, mail.data_started_at = "sending", 1, NOW
        mail.next_attempt_at = NOW - timedelta(seconds=1)
    sender.recover_stalled(db, now=NOW)
    return mail_id


def test_a_person_marks_a_message_in_doubt_sent(db, settings, smtp_server):
    mail_id = in_doubt(db)
    sender.settle_in_doubt(db, mail_id, delivered=True, by="Ada", now=NOW + timedelta(hours=1))
    with db.read() as db_session:
        mail = db_session.get(OutgoingMail, mail_id)
        assert (mail.status, mail.sent_at, mail.smtp_reply) == ("sent", NOW, "in doubt after a crash; marked sent by Ada")
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=NOW + timedelta(hours=2)) == 0
    with pytest.raises(sender.NotInDoubt):  # settled once only
        sender.settle_in_doubt(db, mail_id, delivered=False, by="Ada", now=NOW)


def test_a_person_sends_a_message_in_doubt_again(db, settings, smtp_server):
    mail_id = in_doubt(db)
    later = NOW + timedelta(hours=1)
    sender.settle_in_doubt(db, mail_id, delivered=False, by="Ada", now=later)
    assert sender.send_due_mail(db, settings=smtp_settings(settings, smtp_server), now=later) == 1
    assert len(smtp_server.messages) == 1
    with pytest.raises(sender.NotInDoubt):
        sender.settle_in_doubt(db, 999_999, delivered=True, by="Ada", now=later)
