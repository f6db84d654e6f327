"""Queueing e-mail: a message is written to the outbox in the caller's transaction, so it goes out if and only
if the change that caused it commits. The mail worker (notify.mail) sends it later."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from voxpop.notify.models import OutgoingMail


def one_line(text: str) -> str:
    """`text` with each line separator (and CRLF) replaced by a space."""
    return " ".join(text.splitlines())


@dataclass(frozen=True)
class Attachment:
    """One file sent with an e-mail (the scorecard PDF), stored with the message so a retry sends the same bytes."""

    filename: str
    content_type: str  # "application/pdf"
    data: bytes


def queue_mail(*, db_session: Session, kind: str, recipient: str, subject: str, body_text: str, related: str = "",
               headers: dict[str, str] | None = None, attachment: Attachment | None = None,
               body_html: str | None = None) -> OutgoingMail:
    """Queue one e-mail (the caller owns the transaction). The subject is made one line: every line separator
    (as str.splitlines sees them: CR, LF, \\v, \\f, \\x1c-\\x1e, \\x85, \\u2028, \\u2029) becomes a space, as a header
    cannot hold one. `body_html`, when given, is sent as the HTML alternative of `body_text` (the caller escapes
    what it puts in it); the text part always goes too, for readers that show no HTML."""
    mail = OutgoingMail(message_id=f"<{uuid.uuid4().hex}@voxpop>", kind=kind, recipient=recipient,
                        subject=one_line(subject)[:300], body_text=body_text, body_html=body_html or None,
                        headers=headers or {}, related=related)
    if attachment is not None:
        mail.attachment, mail.attachment_type = attachment.data, attachment.content_type
        mail.attachment_name = one_line(attachment.filename)[:200]  # a header parameter, like the subject
    db_session.add(mail)
    return mail
