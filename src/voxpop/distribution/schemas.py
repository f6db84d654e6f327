"""The JSON shapes of the send pages (their /api/v1 twins)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SendSummary(BaseModel):
    key: str
    name: str
    survey: str
    status: str
    audience: str  # in words: "sample December NPS wave", "contacts with segment SMB", "triggered"
    invited: int
    skipped: int
    reminded: int
    scheduled_for: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SendsPublic(BaseModel):
    sends: list[SendSummary]


class SendDetail(BaseModel):
    send: SendSummary
    definition: dict
    statuses: dict[str, int]  # invitations by status
    events: dict[str, int]  # the send log by kind


class PlanEntryPublic(BaseModel):
    customer_id: str
    email: str | None
    language: str
    decision: str  # invite | skip
    reason: str
    note: str


class PlanPublic(BaseModel):
    send: str
    invite: int
    skip: int
    reasons: dict[str, int]
    languages: dict[str, int]
    contacts: list[PlanEntryPublic]


class RulePublic(BaseModel):
    id: int
    survey: str | None
    max_invitations: int | None
    per_days: int | None
    min_gap_days: int | None
    active: bool
    in_words: str


class RulesPublic(BaseModel):
    rules: list[RulePublic]


class TriggerPublic(BaseModel):
    key: str
    survey: str
    send: str
    event_name: str
    delay_days: int
    active: bool
    events_pending: int
    invited: int


class TriggerEventPublic(BaseModel):
    id: int
    name: str
    customer_id: str | None
    occurred_at: datetime
    dedupe_key: str
    source: str
    received_at: datetime
    processed_at: datetime | None
    result: dict[str, str]


class TriggersPublic(BaseModel):
    triggers: list[TriggerPublic]
    recent_events: list[TriggerEventPublic]


class EventCreate(BaseModel):
    # the lengths of the trigger_events columns: longer is refused at its field, never cut or a database error
    name: str = Field(max_length=100)
    customer_id: str = Field(max_length=200)
    occurred_at: datetime | None = None
    dedupe_key: str | None = Field(default=None, max_length=200)
