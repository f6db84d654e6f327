"""The send log and the sends in the store: plain functions with keyword-only arguments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.distribution.models import InvitationEvent, Send


def record_event(db_session: Session, *, send_id: int, invitation_id: int | None, customer_id: int | None, kind: str,
                 detail: str | None, at: datetime, mail_id: int | None = None) -> InvitationEvent:
    """Add one row to the send log (in the caller's transaction)."""
    event = InvitationEvent(send_id=send_id, invitation_id=invitation_id, customer_id=customer_id, kind=kind,
                            detail=detail, at=at, mail_id=mail_id)
    db_session.add(event)
    return event


def find_send(db_session: Session, *, key: str) -> Send | None:
    """The send with this key, if any."""
    return db_session.scalar(select(Send).where(Send.key == key))
