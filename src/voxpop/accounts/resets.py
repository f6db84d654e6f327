"""Password-reset links: single-use, valid for a day, stored only as a hash, used up atomically."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from voxpop.accounts.models import PasswordReset, User
from voxpop.accounts.service import AccountError, end_sessions
from voxpop.store.base import utcnow
from voxpop.store.ids import token_hash

VALID_FOR = timedelta(hours=24)
USED = ("this link has been used already; each link sets a password once. If you did not use it, ask an admin "
        "for a new link")


class ResetUnusable(AccountError):
    """A reset link that cannot set a password (unknown, used, expired, or its user deactivated)."""


def create_reset(*, db_session: Session, user: User, created_by: User | None, now: datetime | None = None) -> str:
    """A new reset link's token for the user (only its hash is stored); it replaces their unused earlier links."""
    if not user.is_active:
        raise AccountError(f"{user.email} is deactivated; activate the account before sending a reset link")
    now = now or utcnow()
    db_session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None)))
    token = secrets.token_urlsafe(32)
    db_session.add(PasswordReset(user_id=user.id, token_hash=token_hash(token), created_by=created_by.id if created_by
                                 else None, created_at=now, expires_at=now + VALID_FOR))
    db_session.flush()
    return token


def open_reset(*, db_session: Session, token: str, now: datetime | None = None) -> User:
    """The user whose password this link may set; ResetUnusable says why it cannot."""
    if not token or len(token) > 200 or not token.isascii() or not token.isprintable():
        raise ResetUnusable("this link is not a password-reset link; check that it was copied whole")
    row = db_session.execute(select(PasswordReset, User).join(User, User.id == PasswordReset.user_id)
                             .where(PasswordReset.token_hash == token_hash(token))).first()
    if row is None:
        raise ResetUnusable("this link is not a valid password-reset link: it was replaced by a newer one or "
                            "copied incompletely; ask an admin for a new link")
    reset, user = row
    if reset.used_at is not None:
        raise ResetUnusable(USED)
    if reset.expires_at <= (now or utcnow()):
        raise ResetUnusable(f"this link expired on {reset.expires_at:%Y-%m-%d at %H:%M} UTC (links last "
                            f"{VALID_FOR.total_seconds() / 3600:.0f} hours); ask an admin for a new link")
    if not user.is_active:
        raise ResetUnusable("this account is deactivated; ask an admin to activate it first")
    return user


def use_reset(*, db_session: Session, token: str, password_hash: str, now: datetime | None = None) -> User:
    """Set the user's password from a reset link and end their other sessions. The link is used up by one
    conditional UPDATE, so of two requests with the same link at once exactly one succeeds."""
    now = now or utcnow()
    user = open_reset(db_session=db_session, token=token, now=now)
    used = db_session.execute(
        update(PasswordReset)
        .where(PasswordReset.token_hash == token_hash(token), PasswordReset.used_at.is_(None),
               PasswordReset.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:
        raise ResetUnusable(USED)
    user.password_hash = password_hash
    end_sessions(db_session=db_session, user_id=user.id)
    db_session.flush()
    return user
