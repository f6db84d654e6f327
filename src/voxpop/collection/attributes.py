"""Attribute sets: each distinct combination of a response's attribute values, stored once and shared by every
response that has it (see collection.models). Live submissions, imports and the demo all find their sets here.

Also the public link's values: a survey may list the values a link may give an attribute (`{key: store, values:
[Berlin, Munich]}`); a link with another value is answered all the same, stored without it, and counted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from voxpop.collection.models import AttributeSet, AttributeSetValue
from voxpop.store.base import utcnow
from voxpop.store.database import conflict_insert
from voxpop.surveys.models import UnlistedLinkValue
from voxpop.surveys.schemas import SurveyDefinition, link_value

Combination = tuple[tuple[str, str], ...]  # (name, value) pairs, in any order
LOOKUP = 500  # fingerprints per IN list


def fingerprint(combination: Combination) -> str:
    """The SHA-256 of the pairs sorted by name: the same values in another order are the same set."""
    text = json.dumps(sorted(combination), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def attribute_set_ids(db_session: Session | Connection, combinations: Iterable[Combination],
                      known: dict[Combination, int | None] | None = None) -> dict[Combination, int | None]:
    """The id of each combination's attribute set, creating the sets not stored yet; no attributes has None.

    `known` carries ids from earlier calls in the same transaction. On PostgreSQL a new set is created and
    committed in a short transaction of its own, in fingerprint order: inside a long import it would hold its
    unique fingerprint until the import ends, making every live submission with the same new attributes wait,
    and two imports creating sets in crossing order would deadlock. A set is immutable and named by its
    content, so one left unused by a transaction that rolled back does no harm. SQLite has a single writer:
    there the set is created in the caller's transaction (a second one would wait for the caller)."""
    known = {(): None} if known is None else known
    known.setdefault((), None)
    wanted = {combination: fingerprint(combination) for combination in combinations if combination not in known}
    if not wanted:
        return known
    prints = dict(zip(wanted.values(), wanted))  # fingerprint -> one of its combinations
    found = _stored(db_session, list(prints))
    if missing := sorted(each for each in prints if each not in found):
        bind = db_session.get_bind() if isinstance(db_session, Session) else db_session
        if bind.dialect.name == "postgresql":
            with (bind if isinstance(bind, Engine) else bind.engine).begin() as own:
                _create(own, "postgresql", missing, prints)
        else:
            _create(db_session, bind.dialect.name, missing, prints)
        found |= _stored(db_session, missing)  # made here, or meanwhile by another transaction
    for combination, each in wanted.items():
        known[combination] = found[each]
    return known


def _create(db_session: Session | Connection, dialect_name: str, missing: list[str],
            prints: dict[str, Combination]) -> None:
    table = AttributeSet.__table__
    created = db_session.execute(
        conflict_insert(dialect_name, table).on_conflict_do_nothing(index_elements=["fingerprint"])
        .returning(table.c.id, table.c.fingerprint), [{"fingerprint": each} for each in missing]).all()
    if created:
        db_session.execute(AttributeSetValue.__table__.insert(), [
            {"set_id": set_id, "name": name, "value": value} for set_id, each in created for name, value in prints[each]])


def _stored(db_session: Session | Connection, prints: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(prints), LOOKUP):
        found.update((each, set_id) for set_id, each in db_session.execute(
            select(AttributeSet.id, AttributeSet.fingerprint)
            .where(AttributeSet.fingerprint.in_(prints[start:start + LOOKUP]))))
    return found


def keep_listed(definition: SurveyDefinition, attributes: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(kept, unlisted): the attributes whose value the survey allows, and those it does not list. Values are
    compared after Unicode NFC normalisation and trimming; a kept one is stored as the list spells it."""
    allowed = definition.allowed_values
    kept: dict[str, str] = {}
    unlisted: dict[str, str] = {}
    for name, value in attributes.items():
        if name not in allowed:
            kept[name] = value
        elif (listed := link_value(value)) in allowed[name]:
            kept[name] = listed
        else:
            unlisted[name] = value
    return kept, unlisted


def count_unlisted(db_session: Session | Connection, *, survey_id: int, unlisted: Mapping[str, str]) -> None:
    """Count one more response that arrived with each of these unlisted values, keeping the latest value seen."""
    if not unlisted:
        return
    bind = db_session.get_bind() if isinstance(db_session, Session) else db_session
    table = UnlistedLinkValue.__table__
    now = utcnow()
    for name, value in sorted(unlisted.items()):  # one order, so two writers never wait on each other crosswise
        insert = conflict_insert(bind.dialect.name, table).values(
            survey_id=survey_id, name=name, responses=1, last_value=value[:200], last_seen_at=now)
        db_session.execute(insert.on_conflict_do_update(
            index_elements=["survey_id", "name"],
            set_={"responses": table.c.responses + 1, "last_value": insert.excluded.last_value,
                  "last_seen_at": insert.excluded.last_seen_at}))


def drop_unlisted(db_session: Session | Connection, *, survey_id: int, definition: SurveyDefinition,
                  attributes: Mapping[str, str]) -> dict[str, str]:
    """The attributes a public link may store, counting (in the caller's transaction) the values it may not."""
    kept, unlisted = keep_listed(definition, attributes)
    count_unlisted(db_session, survey_id=survey_id, unlisted=unlisted)
    return kept


def unlisted_counts(db_session: Session | Connection, *, survey_id: int) -> list[UnlistedLinkValue]:
    """Per attribute, how many responses arrived with a value outside the survey's list, and the latest one."""
    return list(db_session.scalars(select(UnlistedLinkValue).where(UnlistedLinkValue.survey_id == survey_id)
                                   .order_by(UnlistedLinkValue.name)))
