"""Staff accounts and departments: creation, changes by admins, password checks with argon2, and the audit log."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from voxpop.accounts import sessions
from voxpop.accounts.models import ROLES, AuditEntry, Department, PasswordReset, User
from voxpop.store.base import utcnow

_hasher = PasswordHasher()
# A hash of nothing in particular: checking it for unknown e-mails keeps login time the same for all.
_DUMMY_HASH = _hasher.hash("voxpop-no-such-user")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10
# Stored instead of a hash for a user who has not chosen a password yet: argon2 refuses it as no hash at all,
# so no password matches it, and their reset link is the only way in.
NO_PASSWORD = "!"


class AccountError(ValueError):
    """A request about accounts that cannot be carried out, with a message for the user and, when it is about
    one form field, that field's name."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field

    @property
    def sentence(self) -> str:
        """The message as a page shows it: a capital first, a full stop last."""
        message = str(self)
        return message[:1].upper() + message[1:] + ("" if message.endswith((".", "?")) else ".")


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def create_user(
    *, db_session: Session, email: str, password: str | None, role: str, name: str = "",
    department: str | None = None, department_id: int | None = None,
) -> User:
    """Create a staff user; the e-mail is stored lower-case and must be new. Without a password (None) the user
    cannot log in until they set one with a reset link."""
    email = email.strip().lower()
    if not EMAIL.match(email) or not storable_email(email):
        raise AccountError(f"{email!r} is not an e-mail address", field="email")
    check_role(role)
    if password is not None:
        check_password(password)
    if db_session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(f"a user with e-mail {email} already exists", field="email")
    user = User(email=email, password_hash=hash_password(password) if password is not None else NO_PASSWORD,
                role=role, name=name)
    if department:
        user.department = get_or_create_department(db_session=db_session, name=department)
    elif department_id is not None:
        user.department = get_department(db_session=db_session, department_id=department_id)
    db_session.add(user)
    db_session.flush()
    return user


def check_role(role: str) -> None:
    """Refuse a role voxpop does not know."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}", field="role")


def check_password(password: str) -> None:
    """Refuse a password shorter than the minimum."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters", field="password")


def check_name(name: str) -> str:
    """A person's name as typed, trimmed; it must not be empty."""
    name = name.strip()
    if not name:
        raise AccountError("the name is empty; enter the person's name", field="name")
    if len(name) > 200 or not name.isprintable():
        raise AccountError("the name must be at most 200 printable characters", field="name")
    return name


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


def rehash_password(*, db_session: Session, user_id: int, password: str) -> User:
    """Rehash the password just checked when argon2's parameters have changed since it was hashed."""
    user = db_session.get(User, user_id)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def record_login(*, db_session: Session, user_id: int) -> User:
    """Note the completed log-in."""
    user = db_session.get(User, user_id)
    user.last_login_at = utcnow()
    return user


def end_sessions(*, db_session: Session, user_id: int, keep: str | None = None) -> int:
    """End every session of the user but the one with key `keep`; returns how many open sessions ended. Both
    guards move together: the session version in every cookie, and the sessions' rows in the store."""
    user = db_session.get(User, user_id)
    if user is not None:
        user.session_version += 1
    return sessions.end_all(db_session=db_session, user_id=user_id, keep=keep)


def change_password(*, db_session: Session, user_id: int, password_hash: str, keep: str | None) -> User:
    """Set a new password (hashed by the caller, outside the single writer) and end the user's other sessions."""
    user = db_session.get(User, user_id)
    user.password_hash = password_hash
    end_sessions(db_session=db_session, user_id=user_id, keep=keep)
    db_session.flush()
    return user


def user_id_for(*, db_session: Session, email: str) -> int | None:
    """The id of the user with this e-mail, active or not; None for none."""
    email = email.strip().lower()
    return db_session.scalar(select(User.id).where(User.email == email)) if storable_email(email) else None


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


def list_users(
    *, db_session: Session, search: str = "", role: str | None = None, department_id: int | None = None,
    active: bool | None = None,
) -> list[User]:
    """Staff users by name, with their departments: those whose name or e-mail contains `search`, and of the
    role, department and state asked for."""
    query = select(User).options(selectinload(User.department)).order_by(func.lower(User.name), User.email)
    if search.strip():
        words = search.strip().lower()
        query = query.where(or_(func.lower(User.name).contains(words, autoescape=True),
                                User.email.contains(words, autoescape=True)))
    if role is not None:
        query = query.where(User.role == role)
    if department_id is not None:
        query = query.where(User.department_id == department_id)
    if active is not None:
        query = query.where(User.is_active == active)
    return list(db_session.scalars(query))


def user_by_id(*, db_session: Session, user_id: int) -> User:
    """The user with this id, active or not, with their department."""
    user = db_session.get(User, user_id, options=[selectinload(User.department)])
    if user is None:
        raise AccountError(f"there is no user {user_id}; pick one from the list of users")
    return user


def user_state(user: User) -> dict[str, object]:
    """What an admin can change of a user, as the audit log records it before and after a change."""
    return {"email": user.email, "name": user.name, "role": user.role,
            "department": user.department.name if user.department else None, "active": user.is_active}


def update_user(
    *, db_session: Session, user_id: int, name: str, role: str, department_id: int | None, is_active: bool
) -> tuple[dict[str, object], dict[str, object]]:
    """Change a user's name, role, department and state; returns their state before and after. A new role or
    deactivation ends the user's sessions (and voids their unused reset link), and no change may leave the
    workspace without an active admin."""
    name = check_name(name)
    check_role(role)
    user = user_by_id(db_session=db_session, user_id=user_id)
    department = get_department(db_session=db_session, department_id=department_id) if department_id else None
    before = user_state(user)
    if user.role == "admin" and user.is_active and (role != "admin" or not is_active):
        _keep_an_admin(db_session=db_session, leaving=user)
    if role != user.role or (user.is_active and not is_active):
        end_sessions(db_session=db_session, user_id=user.id)  # they carry the old role, or should not go on at all
    if user.is_active and not is_active:
        # An unused reset link must not come back to life if the account is activated again.
        db_session.execute(delete(PasswordReset)
                           .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None)))
    user.name, user.role, user.department, user.is_active = name, role, department, is_active
    db_session.flush()
    return before, user_state(user)


def _keep_an_admin(*, db_session: Session, leaving: User) -> None:
    # Locks the other admins' rows on PostgreSQL, so two admins demoting each other at once cannot both succeed
    # (SQLite's single writer already runs such changes one after the other).
    others = db_session.scalars(select(User.id).where(User.role == "admin", User.is_active, User.id != leaving.id)
                                .with_for_update()).all()
    if not others:
        raise AccountError(f"{leaving.email} is the last active admin; make another user an admin first, "
                           "or nobody could manage users any more")


def department_name(name: str) -> str:
    """A department's name as typed, trimmed; it must not be empty or too long."""
    name = " ".join(name.split())
    if not name:
        raise AccountError("the department name is empty; enter a name such as Customer Service", field="name")
    if len(name) > 120 or not name.isprintable():
        raise AccountError("the department name must be at most 120 printable characters", field="name")
    return name


def get_department(*, db_session: Session, department_id: int) -> Department:
    """The department with this id."""
    department = db_session.get(Department, department_id)
    if department is None:
        raise AccountError(f"there is no department {department_id}; pick one from the list", field="department")
    return department


def list_departments(*, db_session: Session) -> list[tuple[Department, int]]:
    """Every department by name, with how many users (active or not) belong to it."""
    members = func.count(User.id)
    rows = db_session.execute(select(Department, members).outerjoin(User, User.department_id == Department.id)
                              .group_by(Department.id).order_by(func.lower(Department.name)))
    return [(department, count) for department, count in rows]


def _check_new_name(*, db_session: Session, name: str, department_id: int | None = None) -> None:
    same = db_session.scalar(select(Department.name).where(func.lower(Department.name) == name.lower(),
                                                           Department.id != (department_id or 0)))
    if same is not None:
        raise AccountError(f"there already is a department called {same}; choose another name", field="name")


def create_department(*, db_session: Session, name: str) -> Department:
    """A new department; names are unique, whatever their case."""
    name = department_name(name)
    _check_new_name(db_session=db_session, name=name)
    department = Department(name=name)
    db_session.add(department)
    db_session.flush()
    return department


def rename_department(*, db_session: Session, department_id: int, name: str) -> tuple[str, str]:
    """Give a department a new name; returns the old and the new name."""
    department = get_department(db_session=db_session, department_id=department_id)
    name = department_name(name)
    _check_new_name(db_session=db_session, name=name, department_id=department.id)
    before, department.name = department.name, name
    db_session.flush()
    return before, name


def delete_department(*, db_session: Session, department_id: int) -> str:
    """Delete a department nobody belongs to; returns its name. One with users is refused, naming how many,
    so that nobody loses their department (and, later, their cases' routing) by one click."""
    department = get_department(db_session=db_session, department_id=department_id)
    # Locked on PostgreSQL first: a user being moved into it at this moment is then counted, not set to none.
    db_session.scalar(select(Department.id).where(Department.id == department.id).with_for_update())
    members = db_session.scalar(select(func.count(User.id)).where(User.department_id == department.id))
    if members:
        people = "1 user belongs" if members == 1 else f"{members:,} users belong"
        raise AccountError(f"{people} to {department.name}; move them to another department first")
    db_session.delete(department)
    db_session.flush()
    return department.name
