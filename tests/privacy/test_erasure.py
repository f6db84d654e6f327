"""Erasure: the personal data and free text go, the scores stay (metrics and rollups unchanged), on both stores."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import JSON, LargeBinary, String, Text, select

from tests.privacy.data import EMAIL, EXTERNAL_ID, NAME, make_customer, suppress
from voxpop.accounts.models import AuditEntry
from voxpop.analysis.models import ScoreRollup
from voxpop.analysis.rollups import rebuild_store, rollup_differences
from voxpop.cases.models import Case
from voxpop.collection.models import Answer, Invitation, Response
from voxpop.customers.models import Customer, SampleMember, Transaction
from voxpop.dashboard.metrics import survey_estimates
from voxpop.distribution.models import SendInvitation
from voxpop.privacy.customers import PrivacyError, find_customer
from voxpop.privacy.erasure import erase_customer
from voxpop.privacy.export import customer_document, held_counts
from voxpop.store.base import Base

# Fragments of everything erased; none may be left in any text column of any table afterwards.
ERASED_VALUES = [EMAIL.lower(), EXTERNAL_ID, NAME, "Mustermann", "1234567", "courier", "wants a refund", "parcel lockers"]


def now():
    return datetime.now(timezone.utc)


def every_text(db) -> list[tuple[str, str, str]]:
    """(table, column, value) for every text or JSON value in the database."""
    found = []
    with db.read() as db_session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON | LargeBinary)]
            for row in db_session.execute(select(*columns)) if columns else []:
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else (
                            value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
                        found.append((table.name, column.name, text))
    return found


def traces(db, values=ERASED_VALUES):
    return [(table, column, text) for table, column, text in every_text(db)
            for value in values if value.lower() in text.lower()]


def metrics(db):
    with db.read_connection() as connection:
        return sorted(map(repr, survey_estimates(connection, min_base=1, attribute="segment"))) + sorted(
            map(repr, survey_estimates(connection, min_base=1)))


def rollup_rows(db):
    with db.read() as db_session:
        return sorted((r.question_id, r.day, r.attribute, r.value, r.n, r.total, r.total_squares, r.promoters,
                       r.detractors, r.top_two, r.agree) for r in db_session.scalars(select(ScoreRollup)))


def erase(db, reference=EXTERNAL_ID, **options):
    with db.write() as db_session:
        return erase_customer(db_session, find_customer(db_session, reference), now=now(), actor=None, **options)


def test_erasure_leaves_no_trace_and_keeps_the_metrics_and_rollups(db):
    customer_id = make_customer(db)
    neighbour = make_customer(db, external_id="CUST-1", email="jo@example.net", name="Jo Neighbour",
                              comment="Jo Neighbour liked the tent", scores=(10,), note="Jo called back",
                              turn="Jo likes the tents")
    assert traces(db), "the builder must have stored the values the test looks for"
    before_metrics, before_rollups = metrics(db), rollup_rows(db)
    with db.read() as db_session:
        held_before = held_counts(customer_document(db_session, db_session.get(Customer, neighbour), now=now()))

    erasure = erase(db)

    assert erasure.customer_id == customer_id
    counts = erasure.counts
    assert counts["responses_unlinked"] == 2 and counts["text_answers_deleted"] == 2
    assert counts["comment_analyses_deleted"] == 2 and counts["transactions_deleted"] == 1
    assert counts["invitations_closed"] == 3 and counts["mails_deleted"] == 1 and counts["turns_deleted"] == 1
    assert counts["case_notes_cleared"] >= 2 and counts["audit_entries_redacted"] == 1
    assert counts["import_errors_redacted"] == 1
    left = traces(db)
    assert left == [], "\n".join(map(str, left))
    assert metrics(db) == before_metrics
    assert rollup_rows(db) == before_rollups
    assert rollup_differences(db, zone="UTC") == (0, len(before_rollups))  # what `voxpop db check` reports
    rebuild_store(db, zone="UTC")
    assert rollup_rows(db) == before_rollups
    with db.read() as db_session:
        tombstone = db_session.get(Customer, customer_id)
        assert tombstone.external_id == f"erased-{customer_id}" and tombstone.email is None
        assert tombstone.attributes == {} and tombstone.consent == "no" and tombstone.erased_at is not None
        assert db_session.scalar(select(Response.id).where(Response.customer_id == customer_id)) is None
        assert db_session.scalar(select(Transaction.id).where(Transaction.customer_id == customer_id)) is None
        # the scores are still there, anonymised: 2 responses of the customer + 1 of the neighbour
        assert len(list(db_session.scalars(select(Answer.id).where(Answer.score.is_not(None))))) == 3 * 3
        # what points to the tombstone keeps counting: the send's invitation, the sample, the case
        assert db_session.scalar(select(SendInvitation.next_reminder_at).where(
            SendInvitation.customer_id == customer_id)) is None
        assert db_session.scalar(select(SampleMember.id).where(SampleMember.customer_id == customer_id))
        case = db_session.scalar(select(Case).where(Case.customer_id == customer_id))
        assert case.action_taken is None and all(event.note is None for event in case.events)
        # no link answers any more, answered or not (retention may later unlink the responses from theirs)
        invitations = list(db_session.scalars(select(Invitation).where(Invitation.customer_id == customer_id)))
        assert len(invitations) == 3 and all(invitation.expires_at <= now() for invitation in invitations)
        # the neighbour is untouched
        assert held_counts(customer_document(db_session, db_session.get(Customer, neighbour), now=now())) == held_before
        assert db_session.get(Customer, neighbour).email == "jo@example.net"


def test_the_audit_entry_records_counts_never_what_was_erased(db):
    customer_id = make_customer(db)
    erase(db, EMAIL.upper(), via="cli")
    with db.read() as db_session:
        [entry] = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.erase"))
        db_session.expunge(entry)
    assert entry.target == f"customer:{customer_id}" and entry.actor_id is None
    assert entry.details["via"] == "cli" and entry.details["counts"]["responses_unlinked"] == 2
    recorded = json.dumps(entry.details).lower()
    assert not any(value.lower() in recorded for value in ERASED_VALUES)


def test_a_suppressed_address_stays_suppressed_and_is_the_only_trace(db):
    make_customer(db)
    suppress(db)
    erasure = erase(db)
    assert erasure.counts["suppressions_kept"] == 1
    assert {(table, column) for table, column, _ in traces(db)} == {("suppressions", "email")}


def test_erasing_twice_or_an_unknown_customer_is_refused_with_a_sentence(db):
    customer_id = make_customer(db)
    erase(db)
    with pytest.raises(PrivacyError) as again:
        erase(db, str(customer_id))
    assert again.value.status == 409 and "already erased" in str(again.value)
    with pytest.raises(PrivacyError) as unknown:
        erase(db, "nobody@example.com")
    assert unknown.value.status == 404 and "nobody@example.com" in str(unknown.value)


def test_a_customer_is_found_by_external_id_address_or_number(db):
    customer_id = make_customer(db)
    with db.write() as db_session:
        db_session.add(Customer(external_id="TWIN", email=" erika.MUSTERMANN@example.org"))
        db_session.add(Customer(external_id=str(customer_id + 100), email="numbered@example.org"))
    with db.read() as db_session:
        assert find_customer(db_session, EXTERNAL_ID).id == customer_id
        assert find_customer(db_session, str(customer_id)).id == customer_id
        numbered = find_customer(db_session, str(customer_id + 100))  # an external id wins over a number
        assert numbered.email == "numbered@example.org"
        with pytest.raises(PrivacyError, match="several customers have the address"):
            find_customer(db_session, EMAIL)


def test_a_send_to_every_contact_leaves_an_erased_customer_out(db):
    from voxpop.distribution.models import Send
    from voxpop.distribution.planning import plan_send

    customer_id = make_customer(db)
    make_customer(db, external_id="CUST-2", email="two@example.net", name="Two", comment="fine", scores=(8,))
    erase(db)
    with db.read() as db_session:
        plan = plan_send(db_session, db_session.scalar(select(Send).where(Send.key == "wave")), now())
    assert customer_id not in {entry.customer_id for entry in plan.entries}
    assert [entry.external_id for entry in plan.entries] == ["CUST-2"]
