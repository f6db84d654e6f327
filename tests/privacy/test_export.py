"""Export: one JSON document of everything held about a customer, with a README of its fields, in a ZIP."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime, timezone

from tests.privacy.data import COMMENT, EMAIL, EXTERNAL_ID, NOTE, TURN, make_customer, suppress
from voxpop.customers.models import Customer
from voxpop.privacy.export import README, SECTIONS, customer_document, export_zip, held_counts


def exported(db, customer_id):
    with db.read() as db_session:
        document = customer_document(db_session, db_session.get(Customer, customer_id),
                                     now=datetime.now(timezone.utc))
    with zipfile.ZipFile(io.BytesIO(export_zip(document))) as archive:
        names = archive.namelist()
        return names, json.loads(archive.read(f"customer-{customer_id}.json")), archive.read("README.md").decode()


def test_the_export_holds_every_kind_of_data_about_the_customer(db):
    customer_id = make_customer(db)
    suppress(db)
    make_customer(db, external_id="OTHER", email="other@example.net", name="Other Person", comment="Other words")
    names, document, readme = exported(db, customer_id)

    assert sorted(names) == ["README.md", f"customer-{customer_id}.json"]
    assert document["format"] == "voxpop-customer-export" and document["version"] == 1
    assert document["customer"]["external_id"] == EXTERNAL_ID and document["customer"]["email"] == EMAIL
    assert document["customer"]["attributes"]["segment"] == "SMB"
    assert held_counts(document) == {"responses": 2, "transactions": 1, "invitations": 3, "sends": 1, "send_log": 1,
                                     "trigger_events": 1, "samples": 1, "suppressions": 1, "mails": 1, "cases": 1,
                                     "focus_groups": 1}
    first = document["responses"][0]
    assert first["survey"] == "feedback" and first["attributes"] == {"segment": "smb"}
    scores = {answer["question"]: answer["score"] for answer in first["answers"] if answer["score"] is not None}
    assert scores == {"nps": 3, "csat": 1, "ease": 5}
    [comment] = [answer for answer in first["answers"] if answer["kind"] == "text"]
    assert comment["analysis"]["original"] == COMMENT and "phone" in comment["analysis"]["personal_data"]
    assert comment["analysis"]["sentiment_label"] in ("negative", "neutral", "positive")
    assert document["transactions"][0]["amount"] == 59.9
    assert sum(invitation["answered"] for invitation in document["invitations"]) == 2
    assert document["send_log"][0]["kind"] == "sent" and document["mails"][0]["recipient"] == EMAIL
    notes = [event["note"] for event in document["cases"][0]["timeline"]]
    assert NOTE in notes and document["cases"][0]["action_taken"].startswith("Refunded")
    assert document["focus_groups"][0]["turns"][0]["text"] == TURN
    assert document["suppressions"][0]["reason"] == "unsubscribed"
    assert "Other Person" not in json.dumps(document) and "other@example.net" not in json.dumps(document)
    assert readme == README.read_text(encoding="utf-8")


def test_the_readme_describes_every_field_of_the_document(db):
    customer_id = make_customer(db)
    _, document, readme = exported(db, customer_id)
    described = set(re.findall(r"`([a-z_]+)`", readme))

    def fields(value, into):
        if isinstance(value, dict):
            for key, item in value.items():
                into.add(key)
                fields(item, into)
        elif isinstance(value, list):
            for item in value:
                fields(item, into)
        return into

    assert fields(document, set()) - described == set()
    assert set(SECTIONS) <= described


def test_an_erased_customer_exports_only_the_empty_row(db):
    from tests.privacy.test_erasure import erase

    customer_id = make_customer(db)
    erase(db)
    _, document, _ = exported(db, customer_id)
    assert document["customer"]["email"] is None and document["customer"]["erased_at"]
    assert document["responses"] == [] and document["transactions"] == [] and document["mails"] == []
    assert document["cases"][0]["timeline"] and all(event["note"] is None for event in document["cases"][0]["timeline"])
