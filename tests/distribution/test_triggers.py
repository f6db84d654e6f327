"""Triggered sends: an event posted twice invites once; a purchase invites N days later, once per invoice; the gate
and the contact rules hold for triggered invitations too."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from tests.distribution.conftest import NOW, add_contacts, add_rule, make_send
from voxpop.customers.models import Transaction
from voxpop.distribution.models import SendInvitation, Trigger, TriggerEvent
from voxpop.distribution.triggers import (
    EventRefused,
    due_triggered,
    pick_up_purchases,
    record_event_from_api,
)
from voxpop.notify.mail import send_due_mail
from voxpop.surveys.models import Survey

PEOPLE = [("C-1", "ann@example.com", "en", {"name": "Ann"}), ("C-2", "bernd@example.com", "de", {"name": "Bernd"})]


def _trigger(db, *, event_name: str, delay_days: int = 2) -> int:
    send_id = make_send(db, key=f"after-{event_name.replace(' ', '-')}", audience={"trigger": True},
                        status="sending", max_reminders=0)
    with db.write() as db_session:
        survey_id = db_session.query(Survey.id).filter_by(key="feedback").scalar()
        db_session.add(Trigger(key=f"on-{event_name.replace(' ', '-')}", survey_id=survey_id, event_name=event_name,
                               delay_days=delay_days, send_id=send_id, active=True, created_at=NOW - timedelta(days=30)))
    return send_id


def _post(db, **fields):
    with db.write() as db_session:
        recorded = record_event_from_api(db_session, now=NOW, **({"occurred_at": None, "dedupe_key": None} | fields))
        return recorded.event.id, recorded.created


def _tick(db, settings, when):
    with db.write() as db_session:
        return due_triggered(db_session, settings, when)


def test_an_event_posted_twice_invites_once_after_its_delay(db, feedback, settings, smtp_server):
    add_contacts(db, PEOPLE)
    _trigger(db, event_name="order delivered", delay_days=2)
    first = _post(db, name="order delivered", external_id="C-1", dedupe_key="order-77")
    again = _post(db, name="order  delivered", external_id="C-1", dedupe_key="order-77")
    assert first[1] is True and again == (first[0], False)
    assert _tick(db, settings, NOW + timedelta(days=1)).invited == 0  # not yet due
    report = _tick(db, settings, NOW + timedelta(days=2))
    assert (report.invited, report.events_done) == (1, 1)
    assert _tick(db, settings, NOW + timedelta(days=3)).invited == 0
    mail_settings = settings.model_copy(update=smtp_server.settings())
    assert send_due_mail(db, settings=mail_settings, now=NOW + timedelta(days=2)) == 1
    assert smtp_server.messages[0]["To"] == "ann@example.com"
    with db.read() as db_session:
        event = db_session.get(TriggerEvent, first[0])
        assert event.result["on-order-delivered"].startswith("invited (invitation ")
        assert db_session.query(SendInvitation).one().occasion == f"event:{first[0]}"


def test_a_second_event_for_the_same_customer_waits_for_the_contact_rules(db, feedback, settings):
    add_contacts(db, PEOPLE)
    add_rule(db, min_gap_days=30)
    _trigger(db, event_name="order delivered", delay_days=0)
    _post(db, name="order delivered", external_id="C-1", dedupe_key="order-1")
    _post(db, name="order delivered", external_id="C-1", dedupe_key="order-2")
    report = _tick(db, settings, NOW)
    assert (report.invited, report.skipped) == (1, 1)
    with db.read() as db_session:
        results = sorted(next(iter(event.result.values())) for event in db_session.query(TriggerEvent))
    assert results[1] == "skipped: last invited today (rules need 30)"


def test_unknown_customers_and_bad_events_are_refused_or_skipped_in_words(db, feedback, settings):
    add_contacts(db, PEOPLE)
    _trigger(db, event_name="order delivered", delay_days=0)
    with pytest.raises(EventRefused) as refused:
        _post(db, name="order delivered", external_id=" ")
    assert refused.value.field == "customer_id"
    with pytest.raises(EventRefused) as refused:
        _post(db, name="order delivered", external_id="C-1", occurred_at=NOW + timedelta(days=2))
    assert refused.value.field == "occurred_at"
    event_id, _ = _post(db, name="order delivered", external_id="C-404")
    _tick(db, settings, NOW)
    with db.read() as db_session:
        assert db_session.get(TriggerEvent, event_id).result == {
            "on-order-delivered": "skipped: no customer with the id 'C-404'"}


def test_an_event_too_early_to_hold_in_utc_or_too_long_for_its_column_is_refused(db, feedback):
    with pytest.raises(EventRefused) as refused:
        _post(db, name="x", external_id="C-1", occurred_at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))))
    assert refused.value.field == "occurred_at"
    for field, fields in (("name", {"name": "n" * 101, "external_id": "C-1"}),
                          ("customer_id", {"name": "x", "external_id": "C" * 201}),
                          ("dedupe_key", {"name": "x", "external_id": "C-1", "dedupe_key": "k" * 201})):
        with pytest.raises(EventRefused) as refused:
            _post(db, **fields)
        assert refused.value.field == field
    event_id, created = _post(db, name="x", external_id="C" * 200)
    with db.read() as db_session:
        assert created and db_session.get(TriggerEvent, event_id).dedupe_key.startswith("sha256:")


def test_a_purchase_invites_once_per_invoice_after_the_delay(db, feedback, settings):
    ids = add_contacts(db, PEOPLE)
    _trigger(db, event_name="purchase", delay_days=3)
    with db.write() as db_session:
        for line, (customer, invoice) in enumerate([("C-1", "INV-1"), ("C-1", "INV-1"), ("C-2", None)]):
            db_session.add(Transaction(customer_id=ids[customer], source_key=f"line-{line}", day=date(2026, 11, 30),
                                       amount=10.0, kind="sale", invoice=invoice, imported_at=NOW))
        db_session.add(Transaction(customer_id=ids["C-2"], source_key="old", day=date(2025, 1, 5), amount=5.0,
                                   kind="sale", imported_at=NOW))  # an old purchase in today's file: not asked about
    with db.write() as db_session:
        assert pick_up_purchases(db_session, now=NOW, zone="Europe/Berlin") == 2
    with db.write() as db_session:
        assert pick_up_purchases(db_session, now=NOW, zone="Europe/Berlin") == 0
    assert _tick(db, settings, NOW).invited == 0
    assert _tick(db, settings, NOW + timedelta(days=3)).invited == 2
    with db.read() as db_session:
        assert sorted(row.customer_id for row in db_session.query(SendInvitation)) == sorted(ids.values())
