"""Staff accounts: creation, password checks with argon2, and the audit log."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.accounts.models import ROLES, AuditEntry, Department, User
from voxpop.store.base import utcnow
from voxpop.store.database import Database

_hasher = PasswordHasher()
# A hash of nothing in particular: checking it for unknown e-mails keeps login time the same for all.
_DUMMY_HASH = _hasher.hash("voxpop-no-such-user")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A request about accounts that cannot be carried out, with a message for the user."""


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def create_user(
    *, db_session: Session, email: str, password: str, role: str, name: str = "", department: str | None = None
) -> User:
    """Create a staff user; the e-mail is stored lower-case and must be new."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise AccountError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if db_session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(f"a user with e-mail {email} already exists")
    user = User(email=email, password_hash=hash_password(password), role=role, name=name)
    if department:
        user.department = get_or_create_department(db_session=db_session, name=department)
    db_session.add(user)
    db_session.flush()
    return user


def get_or_create_department(*, db_session: Session, name: str) -> Department:
    """The department of that name, created if new."""
    department = db_session.scalar(select(Department).where(Department.name == name))
    if department is None:
        department = Department(name=name)
        db_session.add(department)
        db_session.flush()
    return department


def verify_credentials(*, db_session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Read-only: argon2 takes ~0.1 s, which must not be
    spent holding the store's single writer."""
    email = email.strip().lower()
    user = db_session.scalar(select(User).where(User.email == email)) if storable_email(email) else None
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    return user


def record_login(*, db_session: Session, user_id: int, password: str) -> User:
    """Note the login, and rehash the password when argon2's parameters have changed since."""
    user = db_session.get(User, user_id)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def end_sessions(*, db_session: Session, user_id: int) -> None:
    """Invalidate every session of the user (logout everywhere)."""
    user = db_session.get(User, user_id)
    if user is not None:
        user.session_version += 1


def storable_email(email: str) -> bool:
    return len(email) <= 254 and "\x00" not in email and email.isprintable()


def get(*, db_session: Session, user_id: int) -> User | None:
    """The user with this id, if active."""
    user = db_session.get(User, user_id)
    return user if user is not None and user.is_active else None


def audit(*, db_session: Session, actor: User | None, action: str, target: str = "", client: str = "", **details) -> None:
    """Record a staff action in the audit log, in the same transaction as the action itself."""
    db_session.add(
        AuditEntry(actor_id=actor.id if actor else None, action=action, target=target, client=client, details=details)
    )


def find_staff(db: Database, user_id: int) -> User | None:
    """The active user behind a staff session, detached so a request can read it after the session ends."""
    with db.read() as db_session:
        user = get(db_session=db_session, user_id=user_id)
        if user is not None:
            db_session.expunge(user)
        return user
