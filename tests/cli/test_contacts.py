"""`voxpop contacts import|suppress|sample`, with real files in tmp_path."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from voxpop.cli import app
from voxpop.customers import contacts

runner = CliRunner()


def cli(*arguments):
    return runner.invoke(app, ["contacts", *arguments])


def contacts_file(tmp_path, rows: int = 100):
    path = tmp_path / "contacts.csv"
    lines = ["customer_id;email;language;consent;segment"]
    lines += [f"C{n:03d};c{n}@example.com;{'de' if n % 2 else 'en'};yes;{'SMB' if n % 4 else 'Enterprise'}"
              for n in range(rows)]
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_then_suppress_then_sample(configured, tmp_path):
    db = configured
    imported = cli("import", str(contacts_file(tmp_path)))
    assert imported.exit_code == 0, imported.output
    assert "100 rows read: 100 new contacts, 0 updated; attributes: segment." in imported.stdout
    suppressed = cli("suppress", "C1@Example.com", "--reason", "unsubscribed")
    assert suppressed.exit_code == 0, suppressed.output
    assert "c1@example.com is suppressed (unsubscribed on" in suppressed.stdout
    with db.read() as db_session:
        assert contacts.is_suppressed(db_session, "c1@example.com")
    dry = cli("sample", "--name", "wave", "--size", "20", "--stratify", "segment", "--seed", "7", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would draw 20 of 99 reachable contacts (stratified)" in dry.stdout and "Enterprise" in dry.stdout
    drawn = cli("sample", "--name", "wave", "--size", "10", "--where", "segment=SMB", "--seed", "7", "--format", "json")
    assert drawn.exit_code == 0, drawn.output
    answer = json.loads(drawn.stdout)
    assert answer["audience"] == 74 and answer["drawn"] == 10 and answer["where"] == {"segment": ["SMB"]}
    with db.read() as db_session:
        assert len(contacts.sample_members(db_session, answer["id"])) == 10


def test_bad_input_exits_2_with_a_sentence(configured, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,email\nC1,bob@\nC2,ok@example.com\n", encoding="utf-8")
    refused = cli("import", str(bad))
    assert refused.exit_code == 2
    assert "row 2, email: 'bob@' is not an e-mail address" in refused.stdout
    assert "nothing was imported" in refused.stderr
    assert cli("import", str(tmp_path / "missing.csv")).exit_code == 2
    wrong = cli("suppress", "someone", "--reason", "manual")
    assert wrong.exit_code == 2 and "'someone' is not an e-mail address" in wrong.stderr
    cli("import", str(contacts_file(tmp_path, 10)))
    too_many = cli("sample", "--name", "w", "--size", "50", "--seed", "1")
    assert too_many.exit_code == 2 and "fewer than the 50 asked for" in too_many.stderr
    unknown = cli("sample", "--name", "w", "--size", "5", "--seed", "1", "--stratify", "tier")
    assert unknown.exit_code == 2 and "No contact has the attribute 'tier'" in unknown.stderr
    filter_ = cli("sample", "--name", "w", "--size", "5", "--seed", "1", "--where", "segment")
    assert filter_.exit_code == 2 and "write attribute=value" in filter_.stderr
