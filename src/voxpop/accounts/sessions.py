"""Staff sessions kept in the store: one row per log-in, named by the key the cookie session carries, so a user (or
an admin) can see where they are logged in and end a session, and an ended session is refused at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from voxpop.accounts.models import StaffSession, User
from voxpop.store.base import utcnow
from voxpop.store.database import Database
from voxpop.store.ids import public_id

# last_seen_at is written at most this often: every page view would otherwise cost a write in the single writer.
TOUCH_EVERY = timedelta(minutes=5)
USER_AGENT_LENGTH = 200


class SessionUnknown(LookupError):
    """No open session of this user has that id."""


def start(*, db_session: Session, user_id: int, client: str, user_agent: str, now: datetime | None = None) -> str:
    """Record a new session of the user; returns the key its cookie session carries."""
    now = now or utcnow()
    key = public_id()
    db_session.add(StaffSession(key=key, user_id=user_id, client=client[:64], created_at=now, last_seen_at=now,
                                user_agent="".join(c for c in user_agent if c.isprintable())[:USER_AGENT_LENGTH]))
    db_session.flush()
    return key


def find_staff(db: Database, user_id: int, session_key: str | None, now: datetime | None = None) -> User | None:
    """The active user behind an open session, detached so a request can read it after the store session ends;
    None when the session has ended or the user is deactivated."""
    if not isinstance(session_key, str):
        return None
    now = now or utcnow()
    with db.read() as db_session:
        row = db_session.execute(
            select(User, StaffSession.last_seen_at).join(StaffSession, StaffSession.user_id == User.id)
            .where(User.id == user_id, User.is_active, StaffSession.key == session_key,
                   StaffSession.ended_at.is_(None))).first()
        if row is None:
            return None
        user, last_seen = row
        db_session.expunge(user)
    if now - last_seen >= TOUCH_EVERY:
        with db.write() as db_session:
            db_session.execute(update(StaffSession).where(StaffSession.key == session_key).values(last_seen_at=now))
    return user


def active(*, db_session: Session, user_id: int, max_age: int, now: datetime | None = None) -> list[StaffSession]:
    """The user's open sessions, the most recently seen first; one unseen for longer than a login lasts (`max_age`
    seconds) has expired with its cookie and is left out."""
    since = (now or utcnow()) - timedelta(seconds=max_age) - TOUCH_EVERY
    return list(db_session.scalars(
        select(StaffSession).where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None),
                                   StaffSession.last_seen_at > since)
        .order_by(StaffSession.last_seen_at.desc(), StaffSession.id.desc())))


def end_one(*, db_session: Session, user_id: int, session_id: int, now: datetime | None = None) -> StaffSession:
    """End one open session of the user; SessionUnknown when they have no such open session."""
    ended = db_session.scalar(select(StaffSession).where(StaffSession.id == session_id, StaffSession.user_id == user_id,
                                                         StaffSession.ended_at.is_(None)))
    if ended is None:
        raise SessionUnknown("that session has ended already or is not yours; reload the page to see the open ones")
    ended.ended_at = now or utcnow()
    db_session.flush()
    return ended


def end_by_key(*, db_session: Session, session_key: str | None, now: datetime | None = None) -> None:
    """End the session with this key (logging out)."""
    db_session.execute(update(StaffSession).where(StaffSession.key == session_key, StaffSession.ended_at.is_(None))
                       .values(ended_at=now or utcnow()))


def end_all(*, db_session: Session, user_id: int, keep: str | None = None, now: datetime | None = None) -> int:
    """End every open session of the user but the one with key `keep`; returns how many ended."""
    query = update(StaffSession).where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(StaffSession.key != keep)
    return db_session.execute(query.values(ended_at=now or utcnow()).execution_options(synchronize_session=False)).rowcount
