"""Queueing e-mail: a message is written to the outbox in the caller's transaction, so it goes out if and only
if the change that caused it commits. The mail worker (notify.mail) sends it later."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from voxpop.notify.models import OutgoingMail


def one_line(text: str) -> str:
    """`text` with each line separator (and CRLF) replaced by a space."""
    return " ".join(text.splitlines())


def queue_mail(*, db_session: Session, kind: str, recipient: str, subject: str, body_text: str, related: str = "",
               headers: dict[str, str] | None = None) -> OutgoingMail:
    """Queue one e-mail (the caller owns the transaction). The subject is made one line: every line separator
    (as str.splitlines sees them: CR, LF, \\v, \\f, \\x1c-\\x1e, \\x85, \\u2028, \\u2029) becomes a space, as a header
    cannot hold one."""
    mail = OutgoingMail(message_id=f"<{uuid.uuid4().hex}@voxpop>", kind=kind, recipient=recipient,
                        subject=one_line(subject)[:300], body_text=body_text, headers=headers or {}, related=related)
    db_session.add(mail)
    return mail
