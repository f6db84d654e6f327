"""API shapes of the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditEntryPublic(BaseModel):
    """One recorded staff action."""

    id: int
    at: datetime = Field(description="When, in UTC.")
    actor_id: int | None = Field(description="The staff user who did it; null for the command line or the system.")
    actor_email: str | None
    actor_name: str | None
    by: str = Field(description="Who, in words: the person, 'command line' or 'system' (a background worker).")
    action: str = Field(description="What was done, e.g. case.status or sends.create (docs/audit.md lists them).")
    action_words: str = Field(description="The action in words.")
    target: str = Field(description="What it was done to: a survey's key, case:12, an e-mail address...")
    details: dict[str, Any] = Field(description="What changed, as the action records it (before and after, counts).")
    details_words: str = Field(description="The details as one line of words.")
    client: str = Field(description="The client's IP address, or 'command line'; empty when not known.")


class AuditPagePublic(BaseModel):
    """A page of the audit log, newest first, with what it was filtered by."""

    entries: list[AuditEntryPublic]
    total: int = Field(description="How many entries the filters keep, on every page together.")
    next_before: int | None = Field(description="Pass as `before` for the next, older page; null on the last page.")
    limit: int
    filters: dict[str, str] = Field(description="The filters applied, as given (empty ones left out).")
