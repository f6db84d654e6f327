"""The demo's contacts: Northwind's customers as people voxpop may invite (language, consent), a suppression
list and a sample."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session


def add_contacts(db_session: Session, *, now: datetime, seed: int) -> str:
    """Give the demo's customers what invitations need; returns a line for the demo's progress output."""
    return ""
