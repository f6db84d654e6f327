"""Sending the outbox: the mail worker's step claims due messages, sends them over SMTP, and records what the
server answered.

A message is claimed (status "sending", committed) before the SMTP conversation starts, so two workers never
send it twice. What a crash leaves behind is told apart by one more commit per message: `data_started_at` is
written just before the DATA command. SMTP gives no way to ask a server afterwards whether it took a message,
so once DATA has begun and no answer was recorded, the message may or may not have gone:

- claimed, DATA never begun: the server never saw it. Queued again when the claim runs out (SENDING_LEASE), with
  the same Message-ID: never lost, never doubled.
- DATA begun, no outcome recorded: "in_doubt". Not sent again on its own (that could reach the customer twice);
  shown on the outbox page for a person to settle (settle_in_doubt): mark it sent, or send it again.

The window for doubt is one DATA command per crash: at most one message of a worker's batch.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from voxpop.notify.models import OutgoingMail
from voxpop.settings import Settings
from voxpop.store.database import Database

# Waits after the 1st, 2nd, ... failed attempt; after the last one the message is given up as failed.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=12))
MAX_ATTEMPTS = len(BACKOFF) + 1
# Longer than any SMTP conversation (30 s timeout per command): a claim older than this was cut off by a crash.
SENDING_LEASE = timedelta(minutes=10)
SMTP_TIMEOUT = 30


@dataclass(frozen=True)
class Outcome:
    """What the SMTP server said about one message."""

    sent: bool
    reply: str
    permanent: bool = False  # a 5xx answer: trying again would get the same answer
    local: bool = False  # voxpop could not put it on the wire: the server never saw it
    stage: str = ""  # the command the server refused: "mail" (the sender), "rcpt" (the recipient) or "data"


# Said in the recorded reply of a permanent refusal, so the send log can tell a dead address (a bounce, which goes
# on the suppression list) from a refused sender or message (the set-up's or the content's fault, not the address's).
REFUSED = {"mail": "the server refused the sender for good", "rcpt": "the server refused the recipient for good",
           "data": "the server refused the message for good"}
# A 5xx reply and its enhanced status code (RFC 3463), when it has one: "550 5.1.1 ..."
FIVE_HUNDRED = re.compile(r"5\d\d\b[ -]*(?:5\.(\d{1,3})\.\d{1,3}\b)?")


def refused_recipient(reply: str) -> bool:
    """Whether a recorded reply says the recipient's address is dead: a 5xx answer to RCPT, unless its enhanced
    status blames policy (5.7.x: relay denied, the sender not authorised), or at DATA an enhanced status 5.1.x
    about the address (some servers refuse a recipient only then; 5.1.7 and 5.1.8 are about the sender). A 5xx
    to MAIL FROM, a refused login or a refused message is never the address's fault."""
    match = FIVE_HUNDRED.match(reply)
    if match is None or REFUSED["mail"] in reply:
        return False
    status_class = match.group(1)
    if status_class == "1" and not re.match(r"5\d\d\b[ -]*5\.1\.[78]\b", reply):
        return True
    return REFUSED["rcpt"] in reply and status_class != "7" and "relay" not in reply.lower()


def build_message(mail: OutgoingMail, *, sender: str, now: datetime) -> EmailMessage:
    """The e-mail as it goes on the wire, with the outbox's stable Message-ID: plain text, or text and HTML as
    multipart/alternative when it has an HTML body (the text first: a reader shows the last part it can), inside
    multipart/mixed with its one attached file when it has one."""
    message = EmailMessage()
    message["Message-ID"] = mail.message_id
    message["Date"] = format_datetime(now)
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    for name, value in (mail.headers or {}).items():
        message[name] = value
    message.set_content(mail.body_text)
    if mail.body_html:
        message.add_alternative(mail.body_html, subtype="html")
    if mail.attachment is not None:
        maintype, _, subtype = (mail.attachment_type or "application/octet-stream").partition("/")
        message.add_attachment(mail.attachment, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=mail.attachment_name or "attachment")
    return message


def backoff_after(attempts: int) -> timedelta | None:
    """How long to wait after `attempts` failed attempts; None once they are used up."""
    return BACKOFF[attempts - 1] if attempts < MAX_ATTEMPTS else None


def recover_claims(db: Database, model, *, now: datetime, waiting: str, reply: str) -> int:
    """Put back (as status `waiting`) the rows of `model` (outgoing mail or webhook deliveries) that a crash left
    "sending" once their claim has run out; returns how many. A row whose every attempt was cut off that way is
    given up as failed, its `reply` column saying why, so one that kills the worker cannot come back forever."""
    stalled = (model.status == "sending", model.next_attempt_at <= now)
    with db.write() as db_session:
        db_session.execute(update(model).where(*stalled, model.attempts >= MAX_ATTEMPTS).values(
            status="failed", **{reply: f"the sending was cut off (a crash or a stop) on every attempt "
                                       f"(gave up after {MAX_ATTEMPTS} attempts)"}))
        return db_session.execute(update(model).where(*stalled).values(status=waiting)).rowcount


IN_DOUBT_REPLY = ("the sending was cut off (a crash or a stop) after the message was handed to the server, before "
                  "its answer was recorded: it may have been delivered. Not sent again on its own, so the recipient "
                  "never gets it twice; mark it sent or send it again")


def recover_stalled(db: Database, *, now: datetime) -> int:
    """After a crash: mark "in_doubt" the messages whose DATA had begun, and queue again the others a crash left
    "sending" (see recover_claims), once their claim has run out; returns how many were queued again."""
    with db.write() as db_session:
        db_session.execute(update(OutgoingMail).where(
            OutgoingMail.status == "sending", OutgoingMail.next_attempt_at <= now,
            OutgoingMail.data_started_at.is_not(None)).values(status="in_doubt", smtp_reply=IN_DOUBT_REPLY))
    return recover_claims(db, OutgoingMail, now=now, waiting="queued", reply="smtp_reply")


class NotInDoubt(LookupError):
    """The message does not exist or is not in doubt (someone settled it already)."""


def settle_in_doubt(db: Database, mail_id: int, *, delivered: bool, by: str, now: datetime,
                    also: Callable[..., None] | None = None) -> None:
    """A person's decision on a message in doubt: `delivered` (the recipient got it, or the server's log shows it
    accepted) records it sent as of when its DATA began; otherwise it is queued to go again now. `also(db_session,
    mail)` runs in the same transaction (the admin page audits the decision with it). Raises NotInDoubt when it is
    not (or no longer) in doubt."""
    with db.write() as db_session:
        mail = db_session.scalar(select(OutgoingMail).where(OutgoingMail.id == mail_id).with_for_update())
        if mail is None or mail.status != "in_doubt":
            raise NotInDoubt(f"message {mail_id} is not in doubt")
        if also is not None:
            also(db_session, mail)
        if delivered:
            mail.status, mail.sent_at = "sent", mail.data_started_at or now
            mail.smtp_reply = f"in doubt after a crash; marked sent by {by}"[:500]
        else:
            mail.status, mail.next_attempt_at = "queued", now
            mail.smtp_reply = f"in doubt after a crash; sent again by {by}'s decision"[:500]
            mail.attempts = min(mail.attempts, MAX_ATTEMPTS - 1)  # one more try, whatever the crashes used up


def sent_in_last_minute(db: Database, *, now: datetime) -> int:
    """How many messages went out in the minute before `now` (every worker's, as the store records them)."""
    with db.read() as db_session:
        return db_session.scalar(select(func.count()).select_from(OutgoingMail).where(
            OutgoingMail.sent_at > now - timedelta(minutes=1), OutgoingMail.sent_at <= now))


def claim(db: Database, *, now: datetime, limit: int) -> list[OutgoingMail]:
    """Mark up to `limit` due messages "sending" and commit, before any is sent. PostgreSQL skips rows another
    worker holds; SQLite has one writer, so the claim is whole anyway."""
    with db.write() as db_session:
        due = db_session.scalars(
            select(OutgoingMail).where(OutgoingMail.status == "queued", OutgoingMail.next_attempt_at <= now)
            .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id).limit(limit).with_for_update(skip_locked=True)
        ).all()
        for mail in due:
            mail.status = "sending"
            mail.attempts += 1
            mail.next_attempt_at = now + SENDING_LEASE  # when the claim runs out, should this worker die
            mail.data_started_at = None
        db_session.flush()
        for mail in due:
            db_session.expunge(mail)
        return list(due)


def record(db: Database, *, mail: OutgoingMail, outcome: Outcome, now: datetime) -> None:
    """Write down what happened to one claimed message: sent, a retry later, or given up."""
    values: dict[str, object] = {"smtp_reply": outcome.reply[:500]}
    if outcome.sent:
        values |= {"status": "sent", "sent_at": now}
    else:
        wait = None if outcome.permanent else backoff_after(mail.attempts)
        if wait is None:
            reason = (f"gave up after {mail.attempts} attempts" if not outcome.permanent else
                      "not sent, and a retry would not send it" if outcome.local else
                      REFUSED.get(outcome.stage, "the server refused it for good"))
            # the reason survives a long reply: the send log reads it to tell a bounce
            values |= {"status": "failed", "smtp_reply": f"{outcome.reply[:500 - len(reason) - 3]} ({reason})"}
        else:
            values |= {"status": "queued", "next_attempt_at": now + wait}
    with db.write() as db_session:
        # Only our own claim: if it ran out and another worker took the message meanwhile, its record stands.
        db_session.execute(update(OutgoingMail).where(
            OutgoingMail.id == mail.id, OutgoingMail.status == "sending", OutgoingMail.attempts == mail.attempts,
        ).values(**values))


def connect(settings: Settings) -> smtplib.SMTP:
    """An SMTP session as the settings say: implicit TLS, STARTTLS or plain, logged in if a user is set."""
    context = ssl.create_default_context()
    if settings.smtp_security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT,
                                              context=context)
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT)
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
    if settings.smtp_user:
        smtp.login(settings.smtp_user, settings.smtp_password or "")
    return smtp


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {text}".strip()


def outcome_of(error: Exception) -> Outcome:
    """The server's answer in an SMTP error, and whether it is final (5xx) or worth another try (4xx, network)."""
    if isinstance(error, smtplib.SMTPResponseException):
        return Outcome(False, _reply(error.smtp_code, error.smtp_error), permanent=error.smtp_code >= 500)
    return Outcome(False, f"{type(error).__name__}: {error}")


def _not_ascii(address: str, role: str, remedy: str = "") -> str:
    said = f"the {role} address {address} is not plain ASCII and the server was not asked for SMTPUTF8"
    return f"{said}; {remedy}" if remedy else said


def send_one(smtp: smtplib.SMTP, message: EmailMessage, before_data: Callable[[], None] = lambda: None) -> Outcome:
    """Hand one message to the server, command by command, so the outbox keeps the server's answer to DATA
    (its queue id, usually), or the answer that refused it. `before_data` runs once the recipient is accepted,
    just before the DATA command (it records that the message may now reach the server)."""
    sender, recipient = parseaddr(message["From"])[1], message["To"]
    if not recipient.isascii():
        return Outcome(False, _not_ascii(recipient, "recipient"), permanent=True, local=True)
    if not sender.isascii():  # the set-up's fault, not the message's: retried, so a fixed VOXPOP_SMTP_FROM sends it
        return Outcome(False, _not_ascii(sender, "sender", "set VOXPOP_SMTP_FROM to a plain ASCII address"))
    try:
        smtp.ehlo_or_helo_if_needed()
        for stage, command, argument, accepted in (("mail", smtp.mail, sender, (250,)),
                                                   ("rcpt", smtp.rcpt, recipient, (250, 251))):
            code, text = command(argument)
            if code not in accepted:
                smtp.rset()  # the session stays usable for the next message
                return Outcome(False, _reply(code, text), permanent=code >= 500, stage=stage)
        content = message.as_bytes(policy=SMTP_POLICY)
        before_data()
        code, text = smtp.data(content)
        if code != 250:  # smtplib raises for a refused DATA command, but returns a refused message
            raise smtplib.SMTPDataError(code, text)
        return Outcome(True, _reply(code, text))
    except smtplib.SMTPDataError as error:
        with suppress(smtplib.SMTPException, OSError):
            smtp.rset()
        return replace(outcome_of(error), stage="data")
    except (smtplib.SMTPException, OSError) as error:
        return outcome_of(error)


def mark_data_started(db: Database, mail: OutgoingMail, *, now: datetime) -> None:
    """Commit that this claim is about to hand the message to the server (see the module's docstring)."""
    with db.write() as db_session:
        db_session.execute(update(OutgoingMail).where(
            OutgoingMail.id == mail.id, OutgoingMail.status == "sending", OutgoingMail.attempts == mail.attempts,
        ).values(data_started_at=now))


def build_and_send(smtp: smtplib.SMTP, mail: OutgoingMail, *, sender: str, now: datetime,
                   db: Database | None = None) -> Outcome:
    """Build one message and send it, recording in `db` when its DATA begins. Anything unexpected while doing so
    (a header the e-mail library refuses, an address smtplib cannot encode) is this message's permanent failure,
    said in the reply, and the session is reset for the next message: one bad message never stops the others."""
    before_data = (lambda: mark_data_started(db, mail, now=now)) if db is not None else (lambda: None)
    try:
        return send_one(smtp, build_message(mail, sender=sender, now=now), before_data)
    except SQLAlchemyError as error:
        # The store could not record that DATA begins (a locked or lost database): DATA was never sent, so the
        # server never saw the message. Not its fault: tried again later, never lost.
        with suppress(smtplib.SMTPException, OSError):
            smtp.rset()
        return Outcome(False, f"not sent: the outbox could not record the start of the send "
                              f"({type(error).__name__}); it is tried again")
    except Exception as error:  # noqa: BLE001 (the worker must go on to the next message)
        with suppress(smtplib.SMTPException, OSError):
            smtp.rset()
        return Outcome(False, f"{type(error).__name__}: {error}", permanent=True, local=True)


def send_due_mail(db: Database, *, settings: Settings, now: datetime, limit: int = 50) -> int:
    """One step of the mail worker: send the queued messages that are due, within the per-minute limit; returns
    how many were sent. Without an SMTP host, messages stay queued and nothing is lost."""
    if not settings.smtp_host:
        return 0
    recover_stalled(db, now=now)
    room = min(limit, settings.smtp_per_minute - sent_in_last_minute(db, now=now))
    if room <= 0:
        return 0
    claimed = claim(db, now=now, limit=room)
    if not claimed:
        return 0
    sent = 0
    try:
        smtp = connect(settings)
    except (smtplib.SMTPException, OSError) as error:
        # A refused login or TLS handshake is the set-up's fault, not the messages': retried even if it is a 5xx,
        # so an admin who fixes the password within the retries loses nothing.
        outcome = Outcome(False, outcome_of(error).reply)
        for mail in claimed:
            record(db, mail=mail, outcome=outcome, now=now)
        return 0
    try:
        for mail in claimed:
            outcome = build_and_send(smtp, mail, sender=settings.smtp_from, now=now, db=db)
            record(db, mail=mail, outcome=outcome, now=now)
            sent += outcome.sent
    finally:
        with suppress(smtplib.SMTPException, OSError):  # the messages are recorded; a rude goodbye changes nothing
            smtp.quit()
    return sent
