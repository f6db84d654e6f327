"""Triggered sends: a survey sent `delay_days` after an event (a purchase in the imported transactions, or an event
posted to the API such as "order delivered"), deduplicated.

An event is kept once per (name, dedupe key): a repeated post answers with the first event and its result, never
a second invitation. A purchase is one invoice (or one transaction line without an invoice), so an order of five
lines asks once. Each matching trigger then invites the customer through the same gate as a wave (consent,
suppression, frequency rules) and records what it did in the event's result.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voxpop.collection.answers import storable
from voxpop.customers.models import Customer, Transaction
from voxpop.distribution.models import Send, SendInvitation, Trigger, TriggerEvent
from voxpop.distribution.planning import Gate, Member, choose_language, invite, template_problem
from voxpop.distribution.service import record_event
from voxpop.settings import Settings
from voxpop.surveys.models import Survey

PURCHASE = "purchase"
DEDUPE_KEY_LENGTH = TriggerEvent.__table__.c.dedupe_key.type.length
TOO_LATE_DAYS = 14  # an invitation this long after it was due asks about something the customer has moved on from


class EventRefused(ValueError):
    """An event the API cannot record, naming the field."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Recorded:
    event: TriggerEvent
    created: bool  # False: a repeat of an earlier post with the same name and dedupe key


def record_event_from_api(db_session: Session, *, name: str, external_id: str, occurred_at: datetime | None,
                          dedupe_key: str | None, now: datetime) -> Recorded:
    """Keep one posted event (once per name and dedupe key). The customer is found by their external id."""
    for field, value in (("name", name), ("customer_id", external_id), ("dedupe_key", dedupe_key or "")):
        if not storable(value):
            raise EventRefused(f"{field} holds a character that cannot be stored (a NUL byte or a broken one)",
                               field=field)
    for field, value, column in (("name", name, "name"), ("customer_id", external_id, "external_id"),
                                 ("dedupe_key", dedupe_key or "", "dedupe_key")):
        longest = TriggerEvent.__table__.c[column].type.length
        if len(value.strip()) > longest:
            raise EventRefused(f"{field} is longer than {longest} characters", field=field)
    name = " ".join(name.split())
    if not name:
        raise EventRefused("give the event's name, e.g. order delivered", field="name")
    if not external_id.strip():
        raise EventRefused("give the customer's id (customer_id as in your contacts)", field="customer_id")
    occurred_at = occurred_at or now
    if occurred_at.tzinfo is None:
        raise EventRefused("give occurred_at with its time zone, e.g. 2026-12-01T10:00:00Z", field="occurred_at")
    try:
        occurred_at = occurred_at.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 lies before the first day a date can hold
        raise EventRefused("occurred_at is out of range; give a date after the year 1", field="occurred_at") from None
    if occurred_at > now + timedelta(minutes=5):
        raise EventRefused("occurred_at is in the future", field="occurred_at")
    key = (dedupe_key or "").strip() or derived_key(external_id.strip(), occurred_at)
    earlier = _event(db_session, name, key)
    if earlier is not None:
        return Recorded(earlier, False)
    customer_id = db_session.scalar(select(Customer.id).where(Customer.external_id == external_id.strip()))
    event = TriggerEvent(name=name, external_id=external_id.strip(), customer_id=customer_id,
                         occurred_at=occurred_at, dedupe_key=key, source="api", received_at=now, result={})
    try:
        with db_session.begin_nested():  # two posts at once: the second finds the first instead of failing
            db_session.add(event)
    except IntegrityError:
        return Recorded(_event(db_session, name, key), False)
    return Recorded(event, True)


def derived_key(external_id: str, occurred_at: datetime) -> str:
    """The dedupe key of an event posted without one: customer and moment, hashed when too long for the column."""
    key = f"{external_id}@{occurred_at.isoformat()}"
    if len(key) <= DEDUPE_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _event(db_session: Session, name: str, key: str) -> TriggerEvent | None:
    return db_session.scalar(select(TriggerEvent).where(TriggerEvent.name == name, TriggerEvent.dedupe_key == key))


def pick_up_purchases(db_session: Session, *, now: datetime, zone: str) -> int:
    """Turn sales imported since an active purchase trigger began into purchase events; returns how many are new.
    Purchases older than the longest delay plus TOO_LATE_DAYS are left alone (an old file imported today)."""
    triggers = db_session.scalars(select(Trigger).where(Trigger.active.is_(True), Trigger.event_name == PURCHASE)).all()
    if not triggers:
        return 0
    since = min(trigger.created_at for trigger in triggers)
    oldest_day = (now - timedelta(days=max(trigger.delay_days for trigger in triggers) + TOO_LATE_DAYS)).date()
    rows = db_session.execute(
        select(Transaction.id, Transaction.customer_id, Transaction.day, Transaction.invoice, Customer.external_id)
        .join(Customer, Customer.id == Transaction.customer_id)
        .where(Transaction.kind == "sale", Transaction.imported_at >= since, Transaction.day >= oldest_day)
        .order_by(Transaction.id)).all()
    keys = {purchase_key(row.invoice, row.id): row for row in rows}
    seen = set(db_session.scalars(select(TriggerEvent.dedupe_key).where(
        TriggerEvent.name == PURCHASE, TriggerEvent.dedupe_key.in_(list(keys))))) if keys else set()
    new = [TriggerEvent(name=PURCHASE, external_id=row.external_id, customer_id=row.customer_id,
                        occurred_at=datetime.combine(row.day, time(12), ZoneInfo(zone)).astimezone(UTC),
                        dedupe_key=key, source=PURCHASE, received_at=now, result={})
           for key, row in keys.items() if key not in seen]
    db_session.add_all(new)
    return len(new)


def purchase_key(invoice: str | None, transaction_id: int) -> str:
    """One purchase: its invoice, else its transaction line."""
    return f"invoice:{invoice}" if invoice else f"transaction:{transaction_id}"


@dataclass
class TriggerReport:
    invited: int = 0
    skipped: int = 0
    events_done: int = 0


def due_triggered(db_session: Session, settings: Settings, now: datetime, limit: int = 200) -> TriggerReport:
    """Invite for each pending event whose triggers' delay has passed (in the caller's transaction)."""
    triggers = db_session.scalars(select(Trigger).where(Trigger.active.is_(True)).order_by(Trigger.id)).all()
    by_event: dict[str, list[Trigger]] = {}
    for trigger in triggers:
        by_event.setdefault(trigger.event_name, []).append(trigger)
    report = TriggerReport()
    events = db_session.scalars(select(TriggerEvent).where(TriggerEvent.processed_at.is_(None))
                                .order_by(TriggerEvent.occurred_at, TriggerEvent.id).limit(limit)).all()
    for event in events:
        matching = by_event.get(event.name, [])
        result = dict(event.result or {})
        for trigger in matching:
            if trigger.key in result or event.occurred_at + timedelta(days=trigger.delay_days) > now:
                continue
            outcome = fire(db_session, trigger, event, settings, now)
            result[trigger.key] = outcome
            if outcome.startswith("invited"):
                report.invited += 1
            else:
                report.skipped += 1
        event.result = result
        if all(trigger.key in result for trigger in matching):
            event.processed_at = now
            report.events_done += 1
    return report


def fire(db_session: Session, trigger: Trigger, event: TriggerEvent, settings: Settings, now: datetime) -> str:
    """Invite the event's customer for this trigger, or say why not."""
    send = db_session.get(Send, trigger.send_id)
    survey = db_session.get(Survey, trigger.survey_id)
    reason = _why_not(db_session, trigger, event, send, survey, now)
    if not reason:
        customer = db_session.get(Customer, event.customer_id)
        member = Member(customer.id, customer.external_id, customer.email, customer.language, customer.attributes or {})
        gate = Gate(db_session, survey_id=survey.id, customer_ids=[customer.id], now=now)
        language, note = choose_language(customer.language, send.templates, send.default_language)
        reason = gate.problem(member) or template_problem(send, member, language)
    if reason:
        if event.customer_id is not None:
            record_event(db_session, send_id=send.id, invitation_id=None, customer_id=event.customer_id,
                         kind="skipped", detail=f"{event.name} ({event.dedupe_key}): {reason}", at=now)
        return f"skipped: {reason}"
    sent = invite(db_session, send=send, survey=survey, settings=settings, now=now, customer_id=customer.id,
                  language=language, note=note, occasion=f"event:{event.id}")
    return f"invited (invitation {sent.invitation_id})"


def _why_not(db_session: Session, trigger: Trigger, event: TriggerEvent, send: Send, survey: Survey,
             now: datetime) -> str:
    if event.customer_id is None:
        return f"no customer with the id {event.external_id!r}"
    if survey.status != "live":
        return f"the survey {survey.key} is {survey.status}"
    if send.status == "cancelled":
        return f"the send {send.key} was cancelled"
    late = (now - (event.occurred_at + timedelta(days=trigger.delay_days))).days
    if late > TOO_LATE_DAYS:
        return f"{late} days past due; too late to ask about it"
    if db_session.scalar(select(SendInvitation.id).where(SendInvitation.send_id == send.id,
                                                         SendInvitation.customer_id == event.customer_id,
                                                         SendInvitation.occasion == f"event:{event.id}")):
        return "already invited for this event"
    return ""
