"""Login throttling: failed log-ins counted per client address, per account and per known device, in the store, so
that every server process shares the counts.

A key is (kind, subject): ("address", "203.0.113.9"), ("account", "ana@example.com") or ("device", a known-device
cookie's id). A log-in from a device that has logged in to the account before is counted on that device alone, so a
stranger who locks the account (or their own address) does not lock out its owner's browsers: OWASP's device-cookie
pattern (accounts/devices.py). Every other attempt counts on the account and on the address.

After `free` failures each further attempt waits 1, 2, 4, 8, ... seconds after the last failure; at `lock_at` failures the key is locked for
LOCK. An attempt is counted as a failure before its password or code is checked (`reserve`, one short write under
the keys' row locks): parallel attempts queue there, each sees the counts of those before it, and no more of them
reach argon2 than the budget lets through. A refused attempt runs no argon2 and counts nothing: refusals stay cheap.
A success forgets the account's and the device's count and takes back its own count on the address, whose failures
decay like any other (a log-in to one's own account must not wipe an address's guesses at other accounts). A key
whose last failure is LOCK ago is forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, tuple_, update
from sqlalchemy.orm import Session

from voxpop.accounts.models import LoginThrottle
from voxpop.store.database import conflict_insert

LOCK = timedelta(minutes=15)


@dataclass(frozen=True)
class Policy:
    """How many failures pass without a delay, and at how many the key is locked."""

    free: int
    lock_at: int


# An address gets more free failures than an account: an office behind one address holds many people.
POLICIES = {"address": Policy(free=10, lock_at=20), "account": Policy(free=5, lock_at=10),
            "device": Policy(free=5, lock_at=10), "code": Policy(free=5, lock_at=10)}
WHOSE = {"address": "from your address", "account": "for this account", "device": "from this browser",
         "code": "with codes for this account"}

Key = tuple[str, str]


@dataclass(frozen=True)
class Refusal:
    """An attempt refused until `until`: a lock, or the delay after the last failure."""

    kind: str
    until: datetime
    locked: bool

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the next attempt may be made (at least 1), for the Retry-After header."""
        return max(1, int((self.until - now).total_seconds() + 0.999))

    def sentence(self, now: datetime) -> str:
        """What the person reads: why, and when to try again."""
        wait = self.retry_after(now)
        when = f"in {wait} second{'s' if wait > 1 else ''}" if wait < 120 else f"in {(wait + 59) // 60} minutes, at {self.until:%H:%M} UTC"
        if self.locked:
            hint = (" You can still log in from a browser you have logged in with before." if self.kind == "account"
                    else "")
            return f"Too many failed log-ins {WHOSE[self.kind]}: log-ins are locked. Try again {when}.{hint}"
        return f"Too many failed log-ins {WHOSE[self.kind]}. Wait and try again {when}."


def login_keys(*, email: str, address: str, device: str | None) -> list[Key]:
    """The keys a log-in attempt counts on: its known device alone, or the account and the address."""
    if device:
        return [("device", device)]
    return [("account", email.strip().lower()[:254]), ("address", address[:254])]


def delay(failures: int, policy: Policy) -> timedelta:
    """The wait after `failures` failures: none while free, then 1 s doubling with each failure, at most LOCK."""
    if failures < policy.free:
        return timedelta(0)
    return min(LOCK, timedelta(seconds=2 ** min(failures - policy.free, 20)))


def _forgotten(row: LoginThrottle, now: datetime) -> bool:
    """Whether the row's failures no longer count: the last one is LOCK ago and no lock runs."""
    return now - row.last_failure_at >= LOCK and not (row.locked_until and row.locked_until > now)


def refusal(*, db_session: Session, keys: list[Key], now: datetime) -> Refusal | None:
    """Why an attempt on these keys must not be made now, or None when it may (read-only)."""
    return _refusal_of(db_session.scalars(
        select(LoginThrottle).where(tuple_(LoginThrottle.kind, LoginThrottle.subject).in_(keys))), now)


def _refusal_of(rows, now: datetime) -> Refusal | None:
    """The longest refusal among the keys' rows, or None."""
    refusals = []
    for row in rows:
        if _forgotten(row, now):
            continue
        if row.locked_until is not None and row.locked_until > now:
            refusals.append(Refusal(row.kind, row.locked_until, locked=True))
        elif (until := row.last_failure_at + delay(row.failures, POLICIES[row.kind])) > now:
            refusals.append(Refusal(row.kind, until, locked=False))
    return max(refusals, key=lambda refused: refused.until, default=None)


def _rows_for_update(db_session: Session, keys: list[Key], now: datetime) -> list[LoginThrottle]:
    """The keys' rows, created if missing and locked on PostgreSQL, so two processes counting at once add up."""
    insert = conflict_insert(db_session.get_bind().dialect.name, LoginThrottle.__table__)
    db_session.execute(insert.values([{"kind": kind, "subject": subject, "failures": 0, "last_failure_at": now}
                                      for kind, subject in keys])
                       .on_conflict_do_nothing(index_elements=["kind", "subject"]))
    return list(db_session.scalars(
        select(LoginThrottle).where(tuple_(LoginThrottle.kind, LoginThrottle.subject).in_(keys))
        .order_by(LoginThrottle.id).with_for_update().execution_options(populate_existing=True)))


def reserve(*, db_session: Session, keys: list[Key], now: datetime) -> tuple[Refusal | None, list[LoginThrottle]]:
    """Count an attempt as failed before its secret is checked, unless the keys refuse it (then nothing is counted).
    Returns the refusal, or None and the rows this count locked (for the audit log, should the attempt fail)."""
    rows = _rows_for_update(db_session, keys, now)
    refused = _refusal_of(rows, now)
    if refused is not None:
        return refused, []
    return None, _count_failure(db_session, rows, now)


def succeeded(*, db_session: Session, keys: list[Key], locked: list[LoginThrottle]) -> None:
    """A reserved log-in was right: forget the account's and device's failures; take back the attempt's own count
    on the address, leaving the address's other failures to decay."""
    clear(db_session=db_session, keys=[key for key in keys if key[0] != "address"])
    take_back(db_session=db_session, keys=[key for key in keys if key[0] == "address"], locked=locked)


def take_back(*, db_session: Session, keys: list[Key], locked: list[LoginThrottle]) -> None:
    """Undo a reserved attempt's count on these keys (it was right), and the lock where that count set it."""
    locked_by_it = {(row.kind, row.subject) for row in locked}
    for kind, subject in keys:
        values = {"failures": LoginThrottle.failures - 1}
        if (kind, subject) in locked_by_it:
            values["locked_until"] = None
        db_session.execute(update(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.subject == subject,
                                                       LoginThrottle.failures > 0)
                           .values(values).execution_options(synchronize_session=False))


def record_failure(*, db_session: Session, keys: list[Key], now: datetime) -> list[LoginThrottle]:
    """Count a failed attempt on each key; returns the rows this failure locked, for the audit log."""
    return _count_failure(db_session, _rows_for_update(db_session, keys, now), now)


def _count_failure(db_session: Session, rows: list[LoginThrottle], now: datetime) -> list[LoginThrottle]:
    """Add one failure to each locked row; returns the rows it locked."""
    locked = []
    for row in rows:
        if _forgotten(row, now):
            row.failures, row.locked_until = 0, None  # counting starts again
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= POLICIES[row.kind].lock_at and not (row.locked_until and row.locked_until > now):
            row.locked_until = now + LOCK
            locked.append(row)
    db_session.flush()
    _forget_old(db_session, now)
    return locked


def _forget_old(db_session: Session, now: datetime) -> None:
    # Each failure sweeps the forgotten rows away: unknown e-mails and addresses must not pile up.
    db_session.execute(delete(LoginThrottle).where(
        LoginThrottle.last_failure_at < now - LOCK,
        or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now)))


def clear(*, db_session: Session, keys: list[Key]) -> None:
    """Forget the failures on these keys (after a successful log-in)."""
    if not keys:
        return
    db_session.execute(delete(LoginThrottle).where(or_(*(and_(LoginThrottle.kind == kind, LoginThrottle.subject == subject)
                                                         for kind, subject in keys))))
