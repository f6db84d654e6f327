"""The demo's e-mail invitation runs: a send with reminders and its log, a contact-frequency rule and a
triggered send after purchases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session


def add_sends(db_session: Session, *, now: datetime, zone: str, seed: int) -> str:
    """Add the demo's sends (after its contacts, responses and transactions); returns a progress line."""
    return ""
