"""Webhook deliveries against a real HTTP receiver: signed by the Standard Webhooks scheme (checked with the
standardwebhooks package, as a receiver would), retried with backoff, given up, replayed with the same
webhook-id, claimed before sending, and held while their endpoint is paused."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from voxpop.notify import webhooks
from voxpop.notify.events import queue_event
from voxpop.notify.mail import BACKOFF, MAX_ATTEMPTS, SENDING_LEASE
from voxpop.notify.models import WebhookDelivery, WebhookEndpoint
from voxpop.store.base import utcnow


def endpoint(db, url: str, events: list[str] | None = None) -> tuple[int, str]:
    with db.write() as db_session:
        added = webhooks.add_endpoint(db_session=db_session, url=url, events=events or [])
        return added.id, added.secret


def event(db, name: str = "case.opened", **data) -> list[int]:
    with db.write() as db_session:
        deliveries = queue_event(db_session=db_session, event=name, data={"id": 7, "status": "new"} | data)
        db_session.flush()
        return [delivery.id for delivery in deliveries]


def stored(db, delivery_id: int) -> WebhookDelivery:
    with db.read() as db_session:
        delivery = db_session.get(WebhookDelivery, delivery_id)
        db_session.expunge(delivery)
        return delivery


def test_a_secret_is_standard_webhooks_shaped_and_new_each_time():
    secret = webhooks.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert webhooks.new_secret() != secret


def test_an_event_arrives_signed_and_verifies(db, webhook_receiver):
    _, secret = endpoint(db, webhook_receiver.url)
    [delivery_id] = event(db)
    now = utcnow()
    assert webhooks.deliver_due(db, now=now) == 1
    [(headers, body)] = webhook_receiver.requests
    payload = Webhook(secret).verify(body, headers)
    assert payload["type"] == "case.opened" and payload["data"] == {"id": 7, "status": "new"}
    row = stored(db, delivery_id)
    # Signed when it was sent: at `now`, or a moment after.
    assert headers["webhook-id"] == row.message_id and 0 <= int(headers["webhook-timestamp"]) - int(now.timestamp()) <= 5
    assert headers["content-type"] == "application/json" and body == row.payload.encode()
    assert row.status == "delivered" and row.delivered_at == now and row.last_status_code == 204 and row.attempts == 1
    # A wrong secret does not verify: the signature is over this body with this secret.
    with pytest.raises(Exception, match="signature"):
        Webhook(webhooks.new_secret()).verify(body, headers)
    assert webhooks.deliver_due(db, now=now + timedelta(hours=1)) == 0


def test_a_failed_delivery_is_retried_with_backoff_then_given_up(db, webhook_receiver):
    endpoint(db, webhook_receiver.url)
    [delivery_id] = event(db)
    webhook_receiver.answers = [500] * MAX_ATTEMPTS
    moment = utcnow()
    waits = []
    for _attempt in range(MAX_ATTEMPTS):
        assert webhooks.deliver_due(db, now=moment) == 0
        row = stored(db, delivery_id)
        if row.status == "pending":
            waits.append(row.next_attempt_at - moment)
            # Not due before its time.
            assert webhooks.deliver_due(db, now=row.next_attempt_at - timedelta(seconds=1)) == 0
            moment = row.next_attempt_at
    assert waits == list(BACKOFF)
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS and row.last_status_code == 500
    assert row.last_error == f"HTTP 500 Internal Server Error (gave up after {MAX_ATTEMPTS} attempts)"
    assert len(webhook_receiver.requests) == MAX_ATTEMPTS
    # Every attempt carried the same webhook-id.
    assert {headers["webhook-id"] for headers, _ in webhook_receiver.requests} == {row.message_id}


def test_a_receiver_that_recovers_gets_the_delivery(db, webhook_receiver):
    endpoint(db, webhook_receiver.url)
    [delivery_id] = event(db)
    webhook_receiver.answers = [503]
    now = utcnow()
    assert webhooks.deliver_due(db, now=now) == 0
    assert stored(db, delivery_id).last_error == "HTTP 503 Service Unavailable"
    assert webhooks.deliver_due(db, now=now + BACKOFF[0]) == 1
    row = stored(db, delivery_id)
    assert row.status == "delivered" and row.attempts == 2 and row.last_error is None


def test_an_unreachable_endpoint_is_an_error_in_the_log_not_a_crash(db, webhook_receiver):
    endpoint(db, "http://127.0.0.1:9/nothing-listens-here")
    [delivery_id] = event(db)
    assert webhooks.deliver_due(db, now=utcnow()) == 0
    row = stored(db, delivery_id)
    assert row.status == "pending" and row.last_status_code is None and row.last_error.startswith("ConnectError")


def test_a_replay_is_a_new_delivery_with_the_same_id_and_payload(db, webhook_receiver):
    _, secret = endpoint(db, webhook_receiver.url)
    [delivery_id] = event(db)
    now = utcnow()
    webhooks.deliver_due(db, now=now)
    with db.write() as db_session:
        copy = webhooks.replay(db_session=db_session, delivery_id=delivery_id, now=now)
        copy_id = copy.id
    assert webhooks.deliver_due(db, now=now) == 1
    original, replayed = stored(db, delivery_id), stored(db, copy_id)
    assert replayed.manual and replayed.replay_of == original.id and replayed.status == "delivered"
    assert (replayed.message_id, replayed.payload) == (original.message_id, original.payload)
    first, second = webhook_receiver.requests
    assert first[1] == second[1] and first[0]["webhook-id"] == second[0]["webhook-id"]
    Webhook(secret).verify(second[1], second[0])


def test_replaying_on_a_paused_endpoint_or_a_missing_delivery_is_refused_with_a_sentence(db, webhook_receiver):
    endpoint_id, _ = endpoint(db, webhook_receiver.url)
    [delivery_id] = event(db)
    with db.write() as db_session:
        webhooks.set_active(db_session=db_session, endpoint_id=endpoint_id, active=False)
    with db.write() as db_session, pytest.raises(webhooks.WebhookError, match="resume it before replaying"):
        webhooks.replay(db_session=db_session, delivery_id=delivery_id)
    with db.write() as db_session, pytest.raises(webhooks.WebhookError, match="no webhook delivery 999"):
        webhooks.replay(db_session=db_session, delivery_id=999)


def test_a_paused_endpoint_gets_no_new_events_and_its_queued_ones_wait(db, webhook_receiver):
    endpoint_id, _ = endpoint(db, webhook_receiver.url)
    [waiting] = event(db)
    with db.write() as db_session:
        webhooks.set_active(db_session=db_session, endpoint_id=endpoint_id, active=False)
    assert event(db) == []
    now = utcnow()
    assert webhooks.deliver_due(db, now=now) == 0 and webhook_receiver.requests == []
    with db.write() as db_session:
        webhooks.set_active(db_session=db_session, endpoint_id=endpoint_id, active=True)
    assert webhooks.deliver_due(db, now=now) == 1
    assert stored(db, waiting).status == "delivered"


def test_an_endpoint_gets_only_the_events_it_asked_for(db, webhook_receiver):
    endpoint(db, webhook_receiver.url, events=["case.closed"])
    assert event(db, "case.opened") == []
    assert len(event(db, "case.closed")) == 1


def test_a_crash_mid_send_is_sent_again_after_the_claim_runs_out(db, webhook_receiver):
    endpoint(db, webhook_receiver.url)
    [delivery_id] = event(db)
    now = utcnow()
    [(claimed, _url, _secret)] = webhooks.claim(db, now=now, limit=10)  # ...and the worker dies
    assert webhooks.deliver_due(db, now=now) == 0
    assert webhooks.deliver_due(db, now=now + SENDING_LEASE) == 1
    [(headers, _body)] = webhook_receiver.requests
    assert headers["webhook-id"] == claimed.message_id and stored(db, delivery_id).attempts == 2


def test_two_claims_never_take_the_same_delivery(db, webhook_receiver):
    endpoint(db, webhook_receiver.url)
    endpoint(db, webhook_receiver.url + "/second")
    event(db)
    event(db)
    now = utcnow()
    first, second = webhooks.claim(db, now=now, limit=3), webhooks.claim(db, now=now, limit=3)
    assert len(first) == 3 and len(second) == 1
    assert not {delivery.id for delivery, *_ in first} & {delivery.id for delivery, *_ in second}


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://example.com/hook", "must start with https://"),
    ("http://[::1/x", "is not a valid URL"),
    ("http://example.com:99999/x", "is not a valid URL"),
    ("http://a..b/", "'a..b' is not a valid host name"),
    ("http://xn--/", "'xn--' is not a valid host name"),
    ("https://xn--zz.example.com/h", "'xn--zz.example.com' is not a valid host name"),
    ("https://", "must start with https://"),
    ("example.com/hook", "must start with https://"),
    ("https://example.com/" + "a" * 500, "longer than 500 characters"),
])
def test_an_endpoint_url_must_be_http_with_a_host(db, url, message):
    with db.write() as db_session, pytest.raises(webhooks.WebhookError, match=message) as caught:
        webhooks.add_endpoint(db_session=db_session, url=url, events=[])
    assert caught.value.field == "url"


def test_unknown_events_are_refused(db):
    with db.write() as db_session, pytest.raises(webhooks.WebhookError, match="unknown event 'case.deleted'"):
        webhooks.add_endpoint(db_session=db_session, url="https://example.com/h", events=["case.deleted"])


def test_deleting_an_endpoint_deletes_its_log(db, webhook_receiver):
    endpoint_id, _ = endpoint(db, webhook_receiver.url)
    event(db)
    with db.write() as db_session:
        assert webhooks.delete_endpoint(db_session=db_session, endpoint_id=endpoint_id) == webhook_receiver.url
    with db.read() as db_session:
        assert db_session.scalars(select(WebhookDelivery)).all() == []


def test_the_payload_is_the_standard_webhooks_shape(db, webhook_receiver):
    endpoint(db, webhook_receiver.url)
    [delivery_id] = event(db, "case.closed")
    payload = json.loads(stored(db, delivery_id).payload)
    assert set(payload) == {"type", "timestamp", "data"} and payload["timestamp"].endswith("Z")


@pytest.mark.parametrize("url", ["https://example.com/h", "http://127.0.0.1:8080/h", "http://[::1]:8080/h",
                                 "https://müller.example/h", "https://xn--mller-kva.example/h",
                                 "http://internal_host.corp/h"])
def test_good_endpoint_urls_are_taken(db, url):
    with db.write() as db_session:
        assert webhooks.add_endpoint(db_session=db_session, url=url, events=[]).url == url


def due_long_ago(db, delivery_ids: list[int], moment) -> None:
    with db.write() as db_session:
        for delivery_id in delivery_ids:
            db_session.get(WebhookDelivery, delivery_id).next_attempt_at = moment


def test_each_delivery_is_signed_when_it_is_sent_not_when_the_step_began(db, webhook_receiver):
    _, secret = endpoint(db, webhook_receiver.url)
    ids = event(db) + event(db)
    # The step's clock is 10 minutes behind the sending (as in a batch of slow receivers): what it claims is
    # decided by `now`, but every signature carries the moment of its own send, which receivers accept.
    started = utcnow() - timedelta(minutes=10)
    due_long_ago(db, ids, started - timedelta(seconds=1))
    assert webhooks.deliver_due(db, now=started) == 2
    for headers, body in webhook_receiver.requests:
        Webhook(secret).verify(body, headers)  # raises for a timestamp more than 5 minutes old
        assert int(headers["webhook-timestamp"]) >= int(utcnow().timestamp()) - 5
    assert stored(db, ids[0]).delivered_at == started


def test_a_refusals_body_is_not_kept_only_its_status(db, webhook_receiver):
    endpoint(db, webhook_receiver.url)
    [delivery_id] = event(db)
    webhook_receiver.answers = [403]
    webhook_receiver.body = b"<html>intranet page: salaries.xlsx, db password hunter2</html>"
    assert webhooks.deliver_due(db, now=utcnow()) == 0
    row = stored(db, delivery_id)
    assert row.last_status_code == 403 and row.last_error == "HTTP 403 Forbidden"


def test_any_error_in_a_delivery_is_a_failed_attempt_and_the_others_go(db, webhook_receiver):
    endpoint(db, webhook_receiver.url)
    with db.write() as db_session:  # an endpoint stored before check_url knew better, or with a broken secret
        db_session.add_all([WebhookEndpoint(url="http://xn--/hook", secret=webhooks.new_secret(), events=[]),
                            WebhookEndpoint(url="http://127.0.0.1:1/x", secret="whsec_not base64!", events=[])])
    ids = event(db)
    assert len(ids) == 3
    now = utcnow()
    assert webhooks.deliver_due(db, now=now) == 1
    good, bad_url, bad_secret = (stored(db, delivery_id) for delivery_id in ids)
    assert good.status == "delivered" and len(webhook_receiver.requests) == 1
    for row in (bad_url, bad_secret):
        assert row.status == "pending" and row.attempts == 1 and row.last_status_code is None
        assert row.next_attempt_at == now + BACKOFF[0] and row.last_error
    assert "xn--" in bad_url.last_error or "IDNA" in bad_url.last_error or "A-label" in bad_url.last_error


def test_a_delivery_cut_off_on_every_attempt_is_given_up_not_retried_forever(db, webhook_receiver):
    endpoint(db, webhook_receiver.url)
    [delivery_id] = event(db)
    moment = utcnow()
    for _attempt in range(MAX_ATTEMPTS):  # each time, the worker claims it and dies before it records
        webhooks.recover_stalled(db, now=moment)
        assert len(webhooks.claim(db, now=moment, limit=10)) == 1
        moment += SENDING_LEASE
    assert webhooks.deliver_due(db, now=moment) == 0
    row = stored(db, delivery_id)
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS and webhook_receiver.requests == []
    assert row.last_error == (f"the sending was cut off (a crash or a stop) on every attempt "
                              f"(gave up after {MAX_ATTEMPTS} attempts)")
