"""`voxpop customer export|erase` and `voxpop privacy retention`, against the test's database."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta

from sqlalchemy import select, update
from typer.testing import CliRunner

from tests.privacy.data import EMAIL, EXTERNAL_ID, make_customer
from voxpop.accounts.models import AuditEntry
from voxpop.collection.models import Response
from voxpop.customers.models import Customer
from voxpop.store.base import utcnow

runner = CliRunner()


def cli(*arguments, **options):
    from voxpop.cli import app

    return runner.invoke(app, list(arguments), **options)


def audited(db, action):
    with db.read() as db_session:
        return [(entry.actor_id, entry.target, entry.details) for entry in
                db_session.scalars(select(AuditEntry).where(AuditEntry.action == action))]


def test_export_then_erase_a_customer(configured, tmp_path):
    db = configured
    customer_id = make_customer(db)
    target = tmp_path / "erika.zip"
    exported = cli("customer", "export", EMAIL.upper(), "--output", str(target))
    assert exported.exit_code == 0, exported.output
    assert f"Wrote {target}: customer {customer_id} (2 responses, 1 transactions" in " ".join(exported.stdout.split())
    with zipfile.ZipFile(target) as archive:
        assert json.loads(archive.read(f"customer-{customer_id}.json"))["customer"]["external_id"] == EXTERNAL_ID
    assert audited(db, "customer.export") == [(None, f"customer:{customer_id}", {"via": "cli"})]

    declined = cli("customer", "erase", EXTERNAL_ID, input="n\n")
    assert declined.exit_code == 1 and "Nothing was erased" in declined.output
    erased = cli("customer", "erase", str(customer_id), "--yes")
    assert erased.exit_code == 0, erased.output
    assert f"Customer {customer_id} is erased" in erased.stdout
    [(actor, target_name, details)] = audited(db, "customer.erase")
    assert actor is None and target_name == f"customer:{customer_id}" and details["via"] == "cli"
    with db.read() as db_session:
        assert db_session.get(Customer, customer_id).erased_at is not None
    again = cli("customer", "erase", str(customer_id), "--yes")
    assert again.exit_code == 2 and "already erased" in again.output


def test_an_unknown_customer_exits_2_with_a_sentence(configured):
    answer = cli("customer", "export", "nobody@example.com")
    assert answer.exit_code == 2 and "No customer has the external id, e-mail address or number" in answer.output


def test_retention_dry_run_then_run(configured, monkeypatch):
    db = configured
    make_customer(db)
    with db.write() as db_session:
        db_session.execute(update(Response).values(submitted_at=utcnow() - timedelta(days=500)))
    unset = cli("privacy", "retention", "--dry-run")
    assert unset.exit_code == 2 and "VOXPOP_RETENTION_MONTHS" in unset.output
    monkeypatch.setenv("VOXPOP_RETENTION_MONTHS", "12")
    from voxpop.settings import get_settings

    get_settings.cache_clear()
    dry = cli("privacy", "retention", "--dry-run", "--format", "json")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout) | {"cutoff": None} == {"cutoff": None, "responses": 2, "text_answers": 2,
                                                          "customer_links": 2, "dry_run": True}
    assert audited(db, "privacy.retention") == []
    done = cli("privacy", "retention")
    assert done.exit_code == 0, done.output
    assert "2 responses submitted before" in done.stdout and "were anonymised" in done.stdout
    assert [details["via"] for _, _, details in audited(db, "privacy.retention")] == ["cli"]
    assert cli("privacy", "retention", "--months", "12", "--dry-run").stdout.startswith("0 responses")


def test_the_customer_retention_metric_keeps_its_verb(configured):
    assert "retention" in cli("--help").stdout and "customer" in cli("--help").stdout


def test_a_superscript_digit_is_no_customer_number(configured):
    answer = cli("customer", "export", "²")
    assert answer.exit_code == 2 and "No customer has the external id, e-mail address or number ²" in answer.output


def test_the_export_is_private_and_never_overwrites_a_file(configured, tmp_path):
    db = configured
    customer_id = make_customer(db)
    target = tmp_path / "erika.zip"
    exported = cli("customer", "export", str(customer_id), "--output", str(target))
    assert exported.exit_code == 0, exported.output
    assert target.stat().st_mode & 0o777 == 0o600
    existing = tmp_path / "notes.txt"
    existing.write_text("keep me")
    refused = cli("customer", "export", str(customer_id), "--output", str(existing))
    assert refused.exit_code == 2 and "exists already" in " ".join(refused.output.split())
    assert existing.read_text() == "keep me"
    assert len(audited(db, "customer.export")) == 1  # the refused export is not recorded as made
