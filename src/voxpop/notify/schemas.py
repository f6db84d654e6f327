"""API shapes of the sending pages: webhook endpoints and their delivery log, and the e-mail outbox."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class WebhookEndpointPublic(BaseModel):
    """A webhook endpoint as admins see it (never its secret, which is shown once, when it is added)."""

    id: int
    url: str
    events: list[str] = Field(description="The events it receives; empty means every event.")
    active: bool = Field(description="False while paused: no new events, and queued deliveries wait.")
    created_at: datetime
    delivered: int = Field(description="Deliveries the endpoint accepted (a 2xx answer).")
    pending: int = Field(description="Deliveries waiting for their first or next attempt, or under way.")
    failed: int = Field(description="Deliveries given up after every retry.")


class WebhookEndpointsPublic(BaseModel):
    """Every webhook endpoint, oldest first, and the events one can subscribe to."""

    endpoints: list[WebhookEndpointPublic]
    events: list[str]


class WebhookDeliveryPublic(BaseModel):
    """One delivery of an event to an endpoint; a replay is a delivery of its own with the same message id."""

    id: int
    message_id: str = Field(description="The webhook-id header: the same on every retry and replay.")
    event: str
    status: str = Field(description="pending, sending, delivered or failed.")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="When it is tried next; null once delivered or failed.")
    delivered_at: datetime | None
    manual: bool = Field(description="True for a replay an admin asked for.")
    replay_of: int | None


class WebhookLogPublic(BaseModel):
    """One endpoint and a page of its deliveries, newest first."""

    endpoint: WebhookEndpointPublic
    deliveries: list[WebhookDeliveryPublic]
    total: int
    page: int
    pages: int


class SmtpPublic(BaseModel):
    """How e-mail leaves voxpop (never the password)."""

    configured: bool = Field(description="False while VOXPOP_SMTP_HOST is unset: e-mail stays queued.")
    host: str | None
    port: int
    security: str
    sender: str
    user: str | None
    per_minute: int


class OutgoingMailPublic(BaseModel):
    """One e-mail in the outbox (not its body, which may quote a customer)."""

    id: int
    message_id: str
    kind: str
    recipient: str
    subject: str
    status: str = Field(description="queued, sending, sent or failed.")
    attempts: int
    smtp_reply: str | None = Field(description="The server's last answer: its queue id, or why it refused.")
    related: str
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="When it is tried next; null once sent or failed.")
    sent_at: datetime | None


class OutboxPublic(BaseModel):
    """The SMTP set-up and a page of the outbox, newest first, with the counts by status."""

    smtp: SmtpPublic
    counts: dict[str, int]
    messages: list[OutgoingMailPublic]
    total: int
    page: int
    pages: int
