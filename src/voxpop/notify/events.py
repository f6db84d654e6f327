"""Queueing webhook events: one delivery per active endpoint that subscribes to the event, written in the
caller's transaction (see notify.models). The webhook worker (notify.webhooks) signs and sends them."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.notify.models import WebhookDelivery, WebhookEndpoint
from voxpop.store.base import utcnow

EVENTS = ("case.opened", "case.updated", "case.closed", "alert.signal")


def queue_event(*, db_session: Session, event: str, data: dict, at: datetime | None = None) -> list[WebhookDelivery]:
    """Queue `event` with `data` for every endpoint that wants it (the caller owns the transaction)."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    endpoints = db_session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))).all()
    # Standard Webhooks' payload shape: type, timestamp, data.
    body = json.dumps({"type": event, "timestamp": (at or utcnow()).isoformat().replace("+00:00", "Z"), "data": data},
                      separators=(",", ":"), default=str)
    deliveries = []
    for endpoint in endpoints:
        if endpoint.events and event not in endpoint.events:
            continue
        delivery = WebhookDelivery(endpoint_id=endpoint.id, message_id=f"msg_{uuid.uuid4().hex}", event=event,
                                   payload=body)
        db_session.add(delivery)
        deliveries.append(delivery)
    return deliveries
