"""Attribute sets: each distinct combination of a response's attribute values, stored once and shared by every
response that has it (see collection.models). Live submissions, imports and the demo all find their sets here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from voxpop.collection.models import AttributeSet, AttributeSetValue

Combination = tuple[tuple[str, str], ...]  # (name, value) pairs, in any order
LOOKUP = 500  # fingerprints per IN list


def fingerprint(combination: Combination) -> str:
    """The SHA-256 of the pairs sorted by name: the same values in another order are the same set."""
    text = json.dumps(sorted(combination), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def attribute_set_ids(db_session: Session | Connection, combinations: Iterable[Combination],
                      known: dict[Combination, int | None] | None = None) -> dict[Combination, int | None]:
    """The id of each combination's attribute set, creating the sets not stored yet; no attributes has None.

    `known` carries ids from earlier calls in the same transaction (never across transactions: a set created
    by one that rolled back is gone). Two transactions creating the same set at once both succeed: the second
    waits for the first's unique fingerprint, then reads its id."""
    known = {(): None} if known is None else known
    known.setdefault((), None)
    wanted = {combination: fingerprint(combination) for combination in combinations if combination not in known}
    if not wanted:
        return known
    prints = dict(zip(wanted.values(), wanted))  # fingerprint -> one of its combinations
    found = _stored(db_session, list(prints))
    missing = [each for each in prints if each not in found]
    if missing:
        bind = db_session.get_bind() if isinstance(db_session, Session) else db_session
        dialect = {"sqlite": sqlite, "postgresql": postgresql}[bind.dialect.name]
        created = db_session.execute(
            dialect.insert(AttributeSet.__table__).on_conflict_do_nothing(index_elements=["fingerprint"])
            .returning(AttributeSet.__table__.c.id, AttributeSet.__table__.c.fingerprint),
            [{"fingerprint": each} for each in missing]).all()
        db_session.execute(AttributeSetValue.__table__.insert(), [
            {"set_id": set_id, "name": name, "value": value}
            for set_id, each in created for name, value in prints[each]])
        found |= {each: set_id for set_id, each in created}
        if len(created) < len(missing):  # made meanwhile by another transaction
            found |= _stored(db_session, [each for each in missing if each not in found])
    for combination, each in wanted.items():
        known[combination] = found[each]
    return known


def _stored(db_session: Session | Connection, prints: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(prints), LOOKUP):
        found.update((each, set_id) for set_id, each in db_session.execute(
            select(AttributeSet.id, AttributeSet.fingerprint)
            .where(AttributeSet.fingerprint.in_(prints[start:start + LOOKUP]))))
    return found
