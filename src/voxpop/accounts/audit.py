"""Reading the audit log: entries filtered by actor, action, days and target, newest first, a page at a time; the
choices for the filter menus; the same entries as CSV rows, read in chunks so a long log streams."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from voxpop.accounts.models import AuditEntry, User
from voxpop.analysis import periods
from voxpop.analysis.periods import within_days
from voxpop.web.tables import safe_cell

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
CSV_CHUNK = 1_000
# The actor filter's value for entries no person made: the command line and the background workers.
NO_PERSON = "none"
CSV_HEADER = ["id", "at", "actor_id", "actor_email", "actor_name", "by", "action", "target", "details", "client"]
# Actions whose name alone does not say it in words; the others read from their name ("case.status" -> "Case status").
ACTION_WORDS = {
    "login": "Logged in", "login.failed": "Failed login", "logout": "Logged out",
    "user.reset_link": "User: password reset link made", "user.password_reset": "User: password set with a reset link",
    "sends.send": "Send started", "sends.bounce": "Send: bounce recorded",
    "text.backfill": "Comments analysed (backfill)", "case_rules.backfill": "Case rules: run on earlier responses",
}


class AuditFilterError(ValueError):
    """A filter that cannot be applied, with a sentence that says what to give instead, and the filter's name."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class AuditFilter:
    """What to keep of the log: each empty or None means any."""

    actor_id: int | None = None
    no_person: bool = False  # only entries made by the command line or a background worker
    action: str = ""  # exact, or a prefix when it ends with "." ("case.")
    since: date | None = None
    until: date | None = None
    target: str = ""

    def conditions(self, zone: str) -> list:
        """The filter as SQL conditions on the audit table."""
        kept = within_days(AuditEntry.at, self.since, self.until, zone)
        if self.actor_id is not None:
            kept.append(AuditEntry.actor_id == self.actor_id)
        if self.no_person:
            kept.append(AuditEntry.actor_id.is_(None))
        if self.action.endswith("."):
            kept.append(AuditEntry.action.startswith(self.action, autoescape=True))
        elif self.action:
            kept.append(AuditEntry.action == self.action)
        if self.target:
            kept.append(func.lower(AuditEntry.target).contains(self.target.lower(), autoescape=True))
        return kept


def parse_day(value: str, name: str) -> date | None:
    """A filter's day, YYYY-MM-DD, or None when empty; AuditFilterError names the filter otherwise."""
    try:
        return periods.parse_day(value, name)  # the same reading, and bounds, as every other day filter
    except periods.DaysError as exc:
        raise AuditFilterError(str(exc), field=name) from None


def make_filter(*, db_session: Session, actor: str = "", action: str = "", since: str = "", until: str = "",
                target: str = "") -> AuditFilter:
    """The filter from what a person typed: actor as a user's id, an e-mail address or "none"; AuditFilterError
    says which value cannot be used and what to give instead."""
    actor, action = actor.strip(), action.strip()
    for name, value in (("actor", actor), ("action", action), ("target", target)):
        if not value.isprintable():  # a NUL byte, say, which PostgreSQL refuses in any text
            raise AuditFilterError(f"{name} must be printable text; remove the control characters", field=name)
    first, last = parse_day(since, "since"), parse_day(until, "until")
    if first and last and first > last:
        raise AuditFilterError(f"since ({first}) is after until ({last}); swap them", field="since")
    actor_id = None
    if actor and actor != NO_PERSON:
        actor_id = _actor_id(db_session, actor)
    return AuditFilter(actor_id=actor_id, no_person=actor == NO_PERSON, action=action, since=first, until=last,
                       target=target.strip())


def _actor_id(db_session: Session, actor: str) -> int:
    if actor.isascii() and actor.isdigit() and len(actor) < 10:
        found = db_session.scalar(select(User.id).where(User.id == int(actor)))
        what = f"no user {actor}"
    else:
        found = db_session.scalar(select(User.id).where(User.email == actor.lower()))
        what = f"no user with e-mail {actor}"
    if found is None:
        raise AuditFilterError(f"there is {what}; give a staff user's e-mail or id, or '{NO_PERSON}' for the "
                               "command line and the system", field="actor")
    return found


@dataclass(frozen=True)
class AuditRow:
    """One entry with who made it, as the page, the API and the CSV show it."""

    entry: AuditEntry
    actor_email: str | None
    actor_name: str | None

    @property
    def by(self) -> str:
        """Who: the person's name or e-mail, "command line" or "system" (a background worker)."""
        if self.entry.actor_id is not None:
            return self.actor_name or self.actor_email or f"user {self.entry.actor_id}"
        return "command line" if via_cli(self.entry) else "system"


def via_cli(entry: AuditEntry) -> bool:
    """Whether the entry was written by a `voxpop` command (they say so in the details, or as the client)."""
    return (entry.details or {}).get("via") == "cli" or entry.client == "command line"


def _rows(filters: AuditFilter, zone: str) -> Select:
    return (select(AuditEntry, User.email, User.name).outerjoin(User, User.id == AuditEntry.actor_id)
            .where(*filters.conditions(zone)).order_by(AuditEntry.id.desc()))


def audit_page(*, db_session: Session, filters: AuditFilter, zone: str, before: int | None = None,
               limit: int = PAGE_SIZE) -> tuple[list[AuditRow], int | None]:
    """Up to `limit` entries, newest first, older than entry `before` when given; and the id to ask `before` for
    the next page (None on the last). Entries are numbered as they are written, so the number orders them."""
    statement = _rows(filters, zone).limit(limit + 1)
    if before is not None:
        statement = statement.where(AuditEntry.id < before)
    rows = [AuditRow(entry, email, name) for entry, email, name in db_session.execute(statement)]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].entry.id if more else None


def count_entries(*, db_session: Session, filters: AuditFilter, zone: str) -> int:
    """How many entries the filter keeps."""
    return db_session.scalar(select(func.count(AuditEntry.id)).where(*filters.conditions(zone)))


def action_choices(*, db_session: Session) -> list[tuple[str, str]]:
    """The actions in the log for the filter menu: each domain's prefix ("case." for all of a case's actions)
    and then each action, as (value, words)."""
    actions = db_session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
    prefixes = sorted({action.split(".", 1)[0] + "." for action in actions if "." in action})
    return ([(prefix, f"Any {prefix[:-1].replace('_', ' ')} action") for prefix in prefixes]
            + [(action, f"{action_in_words(action)} ({action})") for action in actions])


def actor_choices(*, db_session: Session) -> list[tuple[str, str]]:
    """The people who appear in the log, by name, and "command line or system", as (value, words)."""
    people = db_session.execute(select(User.id, User.name, User.email)
                                .where(User.id.in_(select(AuditEntry.actor_id).distinct()))
                                .order_by(func.lower(User.name), User.email)).all()
    return ([(str(person.id), f"{person.name} ({person.email})" if person.name else person.email) for person in people]
            + [(NO_PERSON, "Command line or system")])


def action_in_words(action: str) -> str:
    """An action's name as words: "sends.rule_add" -> "Sends: rule add"."""
    if action in ACTION_WORDS:
        return ACTION_WORDS[action]
    domain, _, rest = action.partition(".")
    words = domain.replace("_", " ").capitalize()
    return f"{words}: {rest.replace('_', ' ').replace('.', ' ')}" if rest else words


def details_in_words(details: dict[str, Any] | None) -> str:
    """The details as one line a person reads: a change as "role: agent → manager", the rest as "key: value";
    the "via" marker is left out (the actor column says who)."""
    details = dict(details or {})
    details.pop("via", None)
    before, after = details.pop("before", None), details.pop("after", None)
    parts = []
    if isinstance(before, dict) or isinstance(after, dict):
        before, after = before or {}, after or {}
        for key in dict.fromkeys([*before, *after]):
            parts.append(f"{key}: {_words(before.get(key))} → {_words(after.get(key))}")
    elif before is not None or after is not None:
        parts.append(f"{_words(before)} → {_words(after)}")
    parts += [f"{key.replace('_', ' ')}: {_words(value)}" for key, value in details.items()]
    return "; ".join(parts)


def _words(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_words(item) for item in value) or "none"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def local_time(moment: datetime, zone: str) -> str:
    """A stored UTC instant in the workspace's zone, ISO 8601 with its offset."""
    return moment.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def csv_rows(*, db_session: Session, filters: AuditFilter, zone: str) -> Iterator[list[Any]]:
    """Every entry the filter keeps, newest first, as CSV cells (CSV_HEADER), read CSV_CHUNK at a time."""
    before = None
    while True:
        rows, before = audit_page(db_session=db_session, filters=filters, zone=zone, before=before, limit=CSV_CHUNK)
        for row in rows:
            entry = row.entry
            yield [entry.id, local_time(entry.at, zone), entry.actor_id, row.actor_email, row.actor_name, row.by,
                   entry.action, entry.target, json.dumps(entry.details or {}, ensure_ascii=False, sort_keys=True),
                   entry.client]
        if before is None:
            return


def csv_chunks(rows: Iterator[list[Any]], chunk: int = CSV_CHUNK) -> Iterator[str]:
    """The CSV text in pieces of `chunk` rows, the header first; text cells made safe for spreadsheets (the
    project's one rule for formula cells, web.tables.safe_cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for number, row in enumerate(rows, start=1):
        writer.writerow(["" if cell is None else safe_cell(cell) for cell in row])
        if number % chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
