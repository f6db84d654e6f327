"""The demo's qualitative sources: a focus group and customer interviews, as imported transcripts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session


def add_sources(db_session: Session, *, now: datetime, zone: str, seed: int) -> str:
    """Add the demo's focus group and interviews; returns a progress line."""
    return ""
