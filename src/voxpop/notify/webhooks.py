"""Webhooks: the endpoints admins register, and the worker's step that signs and delivers queued events.

Signing follows Standard Webhooks: the headers webhook-id (the delivery's message id, the same on every retry
and replay, so a receiver can drop a copy), webhook-timestamp (the send time, Unix seconds) and
webhook-signature ("v1," + base64 HMAC-SHA256 over "id.timestamp.body" with the endpoint's secret).
A delivery is claimed (status "sending", committed) before the request goes out; a crash mid-send leaves the
claim to run out, after which it is sent again: at-least-once, deduplicated by the receiver on webhook-id.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from voxpop.notify.events import EVENTS
from voxpop.notify.mail import SENDING_LEASE, backoff_after, recover_claims
from voxpop.notify.models import WebhookDelivery, WebhookEndpoint
from voxpop.store.base import utcnow
from voxpop.store.database import Database

TIMEOUT = 10.0  # seconds: a receiver should answer at once and do its work later
USER_AGENT = "voxpop-webhooks"


class WebhookError(ValueError):
    """A change to the webhooks that cannot be made, said so the admin can fix it; `field` names the form field."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


def new_secret() -> str:
    """A Standard Webhooks signing secret: "whsec_" and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _host_is_valid(host: str) -> bool:
    """True for an IP address, or a name every label of which encodes to IDNA (no empty or over-long label, no
    malformed "xn--" label), as the HTTP client will need it."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        host.encode("idna")  # Python's codec: empty and over-long labels
        httpx.Request("POST", f"http://{host}/")  # the client's own check: malformed A-labels ("xn--")
    except Exception:  # noqa: BLE001 (UnicodeError, httpx.InvalidURL, idna.IDNAError: all "not a host name")
        return False
    return True


def check_url(url: str) -> str:
    """The endpoint's address, if it is an http(s) URL with a valid host (and port); WebhookError otherwise."""
    url = url.strip()
    if len(url) > 500:
        raise WebhookError("the endpoint's URL is longer than 500 characters; use a shorter one", field="url")
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port  # .port raises for a port that is not a number from 0 to 65535
    except ValueError as error:
        raise WebhookError(f"the endpoint's URL is not a valid URL ({error}); write it as, e.g., "
                           "https://example.com/hooks/voxpop", field="url") from None
    if parts.scheme not in ("http", "https") or not host:
        raise WebhookError("the endpoint's URL must start with https:// (or http://) and name a host, "
                           "e.g. https://example.com/hooks/voxpop", field="url")
    if not _host_is_valid(host):
        raise WebhookError(f"the endpoint's host {host!r} is not a valid host name (an empty label, or a malformed "
                           "international name); write it as, e.g., https://example.com/hooks/voxpop", field="url")
    try:
        httpx.Request("POST", url)
    except Exception as error:  # noqa: BLE001 (whatever the client cannot send to, the admin hears of now)
        raise WebhookError(f"the endpoint's URL cannot be posted to ({error}); write it as, e.g., "
                           "https://example.com/hooks/voxpop", field="url") from None
    return url


def url_for_log(url: str) -> str:
    """The URL without what may be a secret: scheme, host (and port) and path, never a user, password, query
    string or fragment. For the audit log."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "(not a valid URL)"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check_events(events: list[str]) -> list[str]:
    """The events an endpoint subscribes to (none: every event)."""
    unknown = [event for event in events if event not in EVENTS]
    if unknown:
        raise WebhookError(f"unknown event {unknown[0]!r}; choose among {', '.join(EVENTS)}", field="events")
    return sorted(set(events))


def add_endpoint(*, db_session: Session, url: str, events: list[str]) -> WebhookEndpoint:
    """Register an endpoint with a new secret (the caller shows it to the admin once)."""
    endpoint = WebhookEndpoint(url=check_url(url), events=check_events(events), secret=new_secret(), active=True)
    db_session.add(endpoint)
    db_session.flush()
    return endpoint


def get_endpoint(*, db_session: Session, endpoint_id: int) -> WebhookEndpoint:
    """The endpoint with this id; WebhookError if there is none."""
    endpoint = db_session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise WebhookError(f"there is no webhook endpoint {endpoint_id}; it may have been deleted")
    return endpoint


def set_active(*, db_session: Session, endpoint_id: int, active: bool) -> WebhookEndpoint:
    """Pause an endpoint (no new events; its queued deliveries wait) or resume it."""
    endpoint = get_endpoint(db_session=db_session, endpoint_id=endpoint_id)
    endpoint.active = active
    return endpoint


def delete_endpoint(*, db_session: Session, endpoint_id: int) -> str:
    """Delete an endpoint and its delivery log; returns its URL."""
    endpoint = get_endpoint(db_session=db_session, endpoint_id=endpoint_id)
    db_session.delete(endpoint)
    return endpoint.url


def replay(*, db_session: Session, delivery_id: int, now: datetime | None = None) -> WebhookDelivery:
    """Send a delivery again, by hand: a new delivery with the same message id and payload, so a receiver that
    already has it can recognise the copy."""
    original = db_session.get(WebhookDelivery, delivery_id)
    if original is None:
        raise WebhookError(f"there is no webhook delivery {delivery_id}; it may have been deleted with its endpoint")
    endpoint = db_session.get(WebhookEndpoint, original.endpoint_id)
    if not endpoint.active:
        raise WebhookError("this endpoint is paused; resume it before replaying its deliveries")
    now = now or utcnow()
    delivery = WebhookDelivery(endpoint_id=original.endpoint_id, message_id=original.message_id, event=original.event,
                               payload=original.payload, manual=True, replay_of=original.id, status="pending",
                               next_attempt_at=now, created_at=now)
    db_session.add(delivery)
    db_session.flush()
    return delivery


def recover_stalled(db: Database, *, now: datetime) -> int:
    """Put back the deliveries a crash left "sending" (see notify.mail.recover_claims)."""
    return recover_claims(db, WebhookDelivery, now=now, waiting="pending", reply="last_error")


def claim(db: Database, *, now: datetime, limit: int) -> list[tuple[WebhookDelivery, str, str]]:
    """Mark up to `limit` due deliveries to active endpoints "sending" and commit, before any is sent; returns
    each with its endpoint's URL and secret."""
    with db.write() as db_session:
        rows = db_session.execute(
            select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.secret)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
                   WebhookEndpoint.active.is_(True))
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        ).all()
        for delivery, _url, _secret in rows:
            delivery.status = "sending"
            delivery.attempts += 1
            delivery.next_attempt_at = now + SENDING_LEASE
        db_session.flush()
        for delivery, _url, _secret in rows:
            db_session.expunge(delivery)
        return [(delivery, url, secret) for delivery, url, secret in rows]


def signed_headers(delivery: WebhookDelivery, *, secret: str, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for one send of `delivery` at `now`."""
    signature = Webhook(secret).sign(msg_id=delivery.message_id, timestamp=now, data=delivery.payload)
    return {"webhook-id": delivery.message_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature, "content-type": "application/json", "user-agent": USER_AGENT}


def post(client: httpx.Client, delivery: WebhookDelivery, *, url: str, secret: str,
         now: datetime) -> tuple[int | None, str | None]:
    """POST one delivery; its status code, and what went wrong if it was not a 2xx. Of a refusal, only its status
    and reason phrase are kept, never its body: an endpoint may point inside the network, and its pages must not
    reach the delivery log. Any error (not only the network's) is a failed attempt, so one bad delivery cannot
    stop the others."""
    try:
        answer = client.post(url, content=delivery.payload.encode(), headers=signed_headers(delivery, secret=secret,
                                                                                            now=now))
    except Exception as error:  # noqa: BLE001 (a bad URL or secret is this delivery's failure, not the worker's)
        return None, f"{type(error).__name__}: {error}"[:400]
    if 200 <= answer.status_code < 300:
        return answer.status_code, None
    return answer.status_code, f"HTTP {answer.status_code} {answer.reason_phrase}".strip()[:200]


def record(db: Database, *, delivery: WebhookDelivery, status_code: int | None, error: str | None,
           now: datetime) -> bool:
    """Write down one attempt: delivered, a retry later with backoff, or given up; True if delivered."""
    values: dict[str, object] = {"last_status_code": status_code, "last_error": error}
    if error is None:
        values |= {"status": "delivered", "delivered_at": now}
    elif (wait := backoff_after(delivery.attempts)) is None:
        values |= {"status": "failed", "last_error": f"{error} (gave up after {delivery.attempts} attempts)"[:500]}
    else:
        values |= {"status": "pending", "next_attempt_at": now + wait}
    with db.write() as db_session:
        db_session.execute(update(WebhookDelivery).where(
            WebhookDelivery.id == delivery.id, WebhookDelivery.status == "sending",
            WebhookDelivery.attempts == delivery.attempts).values(**values))
    return error is None


def deliver_due(db: Database, *, now: datetime, limit: int = 50, client: httpx.Client | None = None) -> int:
    """One step of the webhook worker: sign and POST the deliveries that are due; returns how many were delivered.
    `now` decides what is due and is what the log records; each delivery is signed at the moment it is sent, so a
    slow batch does not send signatures older than a receiver's tolerance (5 minutes in Standard Webhooks)."""
    recover_stalled(db, now=now)
    claimed = claim(db, now=now, limit=limit)
    if not claimed:
        return 0
    own_client = client is None
    client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    delivered = 0
    try:
        for delivery, url, secret in claimed:
            status_code, error = post(client, delivery, url=url, secret=secret, now=utcnow())
            delivered += record(db, delivery=delivery, status_code=status_code, error=error, now=now)
    finally:
        if own_client:
            client.close()
    return delivered

