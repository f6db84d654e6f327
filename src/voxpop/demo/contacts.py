"""The demo's contacts: Northwind's customers as people voxpop may invite (language, consent), a suppression
list and a sample."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from voxpop.customers import contacts
from voxpop.customers.models import Customer, Sample, Suppression
from voxpop.store.database import conflict_insert

SAMPLE_NAME = "December NPS wave"
SAMPLE_SIZE = 1500
# Most customers agreed at sign-up; customers from before the consent checkbox said neither; a few declined.
CONSENT_WEIGHTS = {"yes": 78, "unknown": 18, "no": 4}
SUPPRESSED_SHARE = 0.01
# Bounces dominate a real list; complaints ("this is spam") are rare.
REASONS = {"unsubscribed": 50, "bounced": 35, "manual": 10, "complaint": 5}
BOUNCE = "550 5.1.1 <{email}>: Recipient address rejected: User unknown in virtual mailbox table"


def _language(rng: random.Random, region: str) -> str:
    """German for most customers in the DACH region, English elsewhere (the demo's surveys are in both)."""
    return "de" if region == "DACH" and rng.random() < 0.92 else "en"


def add_contacts(db_session: Session, *, now: datetime, seed: int) -> str:
    """Give the demo's customers what invitations need; returns a line for the demo's progress output."""
    rng = random.Random(f"{seed}:contacts")
    rows = db_session.execute(select(Customer.id, Customer.email, Customer.attributes).order_by(Customer.id)).all()
    groups: dict[tuple[str, str], list[int]] = {}
    for id_, _, attributes in rows:
        language = _language(rng, (attributes or {}).get("region", ""))
        consent = rng.choices(list(CONSENT_WEIGHTS), weights=list(CONSENT_WEIGHTS.values()))[0]
        groups.setdefault((language, consent), []).append(id_)
    # One UPDATE per language and consent (and per 500 ids), not one per customer.
    for (language, consent), ids in sorted(groups.items()):
        given = consent != "unknown"
        for start in range(0, len(ids), contacts.CHUNK):
            db_session.execute(update(Customer).where(Customer.id.in_(ids[start:start + contacts.CHUNK])).values(
                language=language, consent=consent, consent_at=now - timedelta(days=400) if given else None,
                consent_source="import:crm-contacts.csv" if given else None)
                .execution_options(synchronize_session=False))
    suppressed = _suppressions(db_session, rng, [email for _, email, _ in rows if email], now)
    if db_session.scalar(select(Sample.id).where(Sample.name == SAMPLE_NAME)) is None:
        contacts.draw_sample(db_session, name=SAMPLE_NAME, size=SAMPLE_SIZE, method="stratified",
                             stratify_by="segment", where={}, seed=seed, user=None, now=now - timedelta(days=2))
    reachable = sum(reason is None for reason in contacts.reachable(db_session, [id_ for id_, *_ in rows]).values())
    return (f"contacts: {len(rows):,} customers, {reachable:,} reachable by e-mail; {suppressed:,} "
            f"suppressed addresses; sample {SAMPLE_NAME!r} of {SAMPLE_SIZE:,} stratified by segment")


def _suppressions(db_session: Session, rng: random.Random, emails: list[str], now: datetime) -> int:
    """About 1% of the addresses suppressed over the last half year; an unsubscribe or complaint also withdraws the
    customer's consent, as `contacts.suppress` does."""
    chosen = sorted(rng.sample(sorted(emails), round(len(emails) * SUPPRESSED_SHARE)))
    entries = []
    for email in chosen:
        reason = rng.choices(list(REASONS), weights=list(REASONS.values()))[0]
        entries.append({"email": contacts.normalised_email(email), "reason": reason,
                        "source": {"unsubscribed": "unsubscribe link", "bounced": "smtp", "manual": "admin",
                                   "complaint": "feedback loop"}[reason],
                        "detail": BOUNCE.format(email=email) if reason == "bounced" else "",
                        "created_at": now - timedelta(days=rng.randint(1, 180), minutes=rng.randint(0, 1439))})
    if entries:
        db_session.execute(conflict_insert(db_session.get_bind().dialect.name, Suppression.__table__)
                           .on_conflict_do_nothing(index_elements=["email"]), entries)
    withdrawn = [{"b_email": entry["email"], "consent_at": entry["created_at"]} for entry in entries
                 if entry["reason"] in contacts.WITHDRAWS_CONSENT]
    if withdrawn:
        table = Customer.__table__
        db_session.execute(update(table).where(table.c.email == bindparam("b_email")).values(
            consent="no", consent_at=bindparam("consent_at"), consent_source="unsubscribe"), withdrawn)
    return len(entries)
