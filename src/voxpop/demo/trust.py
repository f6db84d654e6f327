"""The demo's trail of trust: a month of staff log-ins in the audit log (with the failed attempts and the lock an
attacker's password guessing leaves), and one customer erased on request, so the audit page and the privacy pages
have something true to show on first start.

The log-ins are written as the login view writes them (`login`, `login.failed`, `login.locked`, same targets and
details); the erasure goes through the real `privacy.erasure.erase_customer`, done by the demo admin.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from voxpop.accounts.models import AuditEntry, User
from voxpop.collection.models import Answer, Response
from voxpop.customers.models import Customer, Transaction
from voxpop.privacy.erasure import erase_customer

LOGIN_DAYS = 30
# Documentation address ranges (RFC 5737): the office behind one address, staff working from home, and a stranger.
OFFICE = "198.51.100.20"
HOMES = ("192.0.2.31", "192.0.2.58", "192.0.2.77", "192.0.2.103")
GUESSER = "203.0.113.66"
GUESSED_ACCOUNT = "admin@northwind.example"
GUESSES = 21  # the address's lock comes at its 20th failure (accounts.throttle.POLICIES)
ERASED_DAYS_AGO = 3


def add_trust(db_session: Session, *, now: datetime, zone: str, seed: int) -> str:
    """Staff log-ins over the last month and one erasure on request; returns a line for the demo's progress output."""
    rng = random.Random(f"{seed}:trust")
    logins = _logins(db_session, rng, now=now, zone=zone)
    erased = _erase_one(db_session, now=now)
    return (f"audit log: {logins:,} staff log-ins over {LOGIN_DAYS} days and {GUESSES} guessed passwords locked out; "
            f"customer {erased} erased on request")


def _logins(db_session: Session, rng: random.Random, *, now: datetime, zone: str) -> int:
    """Working-day log-ins for every active staff member, and one burst of password guessing from a stranger."""
    local = ZoneInfo(zone)
    staff = db_session.execute(select(User.id, User.email).where(User.is_active).order_by(User.id)).all()
    homes = {user_id: rng.choice(HOMES) for user_id, _ in staff}
    rows = []
    for days_ago in range(LOGIN_DAYS, 0, -1):
        day = (now - timedelta(days=days_ago)).astimezone(local).date()
        if day.weekday() >= 5:
            continue
        for user_id, email in staff:
            if rng.random() < 0.15:
                continue  # a day off
            at = datetime.combine(day, time(8), tzinfo=local) + timedelta(minutes=rng.randint(0, 150))
            address = OFFICE if rng.random() < 0.7 else homes[user_id]
            if rng.random() < 0.06:  # a mistyped password first
                rows.append(_entry(at - timedelta(seconds=40), None, "login.failed", email, address))
            rows.append(_entry(at, user_id, "login", email, address))
    rows += _guessing(now - timedelta(days=9, hours=5))
    db_session.execute(insert(AuditEntry), rows)
    return sum(row["action"] == "login" for row in rows)


def _guessing(start: datetime) -> list[dict]:
    """A stranger trying passwords on the admin's address: each failure audited, then the address's lock."""
    rows = [_entry(start + timedelta(seconds=3 * tried), None, "login.failed", GUESSED_ACCOUNT, GUESSER)
            for tried in range(GUESSES - 1)]
    locked_at = start + timedelta(seconds=3 * (GUESSES - 1))
    lock = _entry(locked_at, None, "login.locked", GUESSER, GUESSER)
    lock["details"] = {"kind": "address", "failures": GUESSES - 1,
                       "until": (locked_at + timedelta(minutes=15)).isoformat()}
    return [*rows, lock]


def _entry(at: datetime, actor_id: int | None, action: str, target: str, client: str) -> dict:
    return {"at": at, "actor_id": actor_id, "action": action, "target": target, "client": client, "details": {}}


def _erase_one(db_session: Session, *, now: datetime) -> int:
    """Erase the first customer who wrote a comment and bought something, as the demo admin did on request."""
    wrote = select(Response.customer_id).join(Answer, Answer.response_id == Response.id).where(
        Answer.text.is_not(None), Response.customer_id.is_not(None))
    bought = select(Transaction.customer_id)
    customer = db_session.scalar(select(Customer).where(Customer.id.in_(wrote), Customer.id.in_(bought),
                                                        Customer.erased_at.is_(None))
                                 .order_by(Customer.id).limit(1))
    admin = db_session.scalar(select(User).where(User.email == GUESSED_ACCOUNT))
    erasure = erase_customer(db_session, customer, now=now - timedelta(days=ERASED_DAYS_AGO), actor=admin,
                             client=OFFICE, via="web")
    # The entry is written as the page writes it; give it the erasure's own time, as the log-ins have theirs.
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "customer.erase",
                                                       AuditEntry.target == f"customer:{erasure.customer_id}"))
    entry.at = now - timedelta(days=ERASED_DAYS_AGO)
    return erasure.customer_id
