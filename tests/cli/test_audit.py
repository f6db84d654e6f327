"""`voxpop audit` reads the log as the page does; the verbs that change data write it under their page's action
name, with no person as the actor and details saying the command line did it."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from typer.testing import CliRunner

from tests.cases.test_rules import RULES, answer, shop
from tests.cli.test_contacts import contacts_file
from tests.cli.test_sends import SEND_FILE, _world
from tests.helpers import make_user
from tests.qualitative.conftest import FOCUS_GROUP
from tests.scorecard.test_definition import SCORECARD
from tests.text.stored import submit
from voxpop.accounts.models import AuditEntry
from voxpop.cli import app

runner = CliRunner()


def cli(*arguments, given: str | None = None):
    return runner.invoke(app, list(arguments), input=given)


def entries(db) -> list[tuple[str, str, int | None, dict]]:
    """The log, oldest first: action, target, actor and details."""
    with db.read() as db_session:
        return [(entry.action, entry.target, entry.actor_id, entry.details)
                for entry in db_session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def by_cli(db) -> dict[str, tuple[str, dict]]:
    """Each action the command line recorded, with its target and details (the via marker checked and left out)."""
    found = {}
    for action, target, actor_id, details in entries(db):
        assert actor_id is None and details.pop("via") == "cli", (action, details)
        found[action] = (target, details)
    return found


def test_voxpop_audit_filters_and_prints_table_csv_and_json(configured):
    db = configured
    made = cli("user", "create", "ana@example.com", "--role", "admin", "--password-stdin",
               given="correct horse battery\n")
    assert made.exit_code == 0, made.output
    with db.write() as db_session:
        db_session.add(AuditEntry(at=datetime(2026, 11, 2, 8, tzinfo=timezone.utc), actor_id=1, action="case.status",
                                  target="=cmd|' /C calc'!A0", details={"before": "new", "after": "closed"},
                                  client="10.0.0.9"))
    table = cli("audit")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    # Newest written first; a person's e-mail when they have no name; the command line as such.
    assert lines[0] == "2026-11-02T08:00:00+00:00\tana@example.com\tcase.status\t=cmd|' /C calc'!A0\tnew → closed\t10.0.0.9"
    assert lines[1].endswith("\tcommand line\tuser.create\tana@example.com\trole: admin\t-")
    rows = json.loads(cli("audit", "--actor", "Ana@Example.com", "--format", "json").stdout)["rows"]
    assert [(row["action"], row["details"]) for row in rows] == [("case.status", {"before": "new", "after": "closed"})]
    as_csv = list(csv.DictReader(io.StringIO(cli("audit", "--action", "case.", "--format", "csv").stdout)))
    assert [row["target"] for row in as_csv] == ["'=cmd|' /C calc'!A0"]  # a spreadsheet shows it, does not run it
    assert "no audit entry matches" in cli("audit", "--since", "2026-11-03", "--until", "2026-11-30").output
    assert len(cli("audit", "--limit", "1").stdout.splitlines()) == 1
    unknown = cli("audit", "--actor", "nobody@example.com")
    assert unknown.exit_code == 2 and "--actor: there is no user with e-mail nobody@example.com" in unknown.stderr
    bad = cli("audit", "--until", "yesterday")
    assert bad.exit_code == 2 and "--until must be a date written YYYY-MM-DD" in bad.stderr


def test_send_verbs_are_audited_as_on_the_sends_pages(configured, tmp_path):
    db = configured
    _world(db)
    path = tmp_path / "send.yaml"
    path.write_text(SEND_FILE, encoding="utf-8")
    assert cli("send", "create", str(path)).exit_code == 0
    assert cli("send", "create", str(path), "--update").exit_code == 0
    assert cli("send", "run", "december-wave", "--dry-run").exit_code == 0
    assert cli("send", "run", "december-wave").exit_code == 0
    assert cli("send", "run", "december-wave").exit_code == 0  # done already: nothing started, nothing audited
    assert cli("send", "rules", "add", "--max", "2", "--per-days", "90").exit_code == 0
    assert cli("send", "rules", "remove", "1").exit_code == 0
    assert [action for action, *_ in entries(db)] == ["sends.create", "sends.update", "sends.send", "sends.rule_add",
                                                      "sends.rule_remove"]
    logged = by_cli(db)
    assert logged["sends.create"] == ("send:december-wave", {"status": "draft"})
    assert logged["sends.send"] == ("send:december-wave", {})
    assert logged["sends.rule_add"] == ("rule:1", {"max_invitations": 2, "per_days": 90})


def test_contact_verbs_are_audited_as_on_the_contacts_pages(configured, tmp_path):
    db = configured
    assert cli("contacts", "import", str(contacts_file(tmp_path, rows=10))).exit_code == 0
    assert cli("contacts", "suppress", "c1@example.com", "--reason", "unsubscribed").exit_code == 0
    assert cli("contacts", "sample", "--name", "wave", "--size", "3", "--seed", "7", "--dry-run").exit_code == 0
    assert cli("contacts", "sample", "--name", "wave", "--size", "3", "--seed", "7").exit_code == 0
    assert by_cli(db) == {"contacts.import": ("contacts.csv", {"rows": 10, "created": 10, "updated": 0}),
                          "contacts.suppress": ("c1@example.com", {"reason": "unsubscribed"}),
                          "contacts.sample": ("wave", {"size": 3})}


def test_a_transcript_import_is_audited_as_on_the_sources_page(configured, tmp_path):
    db = configured
    path = tmp_path / "group.vtt"
    path.write_text(FOCUS_GROUP, encoding="utf-8")
    done = cli("sources", "import", str(path), "--kind", "focus-group", "--title", "App release", "--date",
               "2026-11-20")
    assert done.exit_code == 0, done.output
    assert by_cli(db) == {"source.import": ("2026-11-20-app-release", {"file": "group.vtt", "turns": 4})}


def test_backfills_are_audited_once_each(configured, tmp_path):
    db = configured
    submit(db, {"nps": 4, "why_low": "Rude staff"})
    assert cli("text", "backfill").exit_code == 0
    assert by_cli(db)["text.backfill"] == ("comments", {"analysed": 1, "retagged": 0, "reprocess": False})


def test_a_case_backfill_is_audited_with_what_it_opened(configured, tmp_path):
    db = configured
    shop(db)
    answer(db, {"nps": 2}, customer="c1", at=datetime.now(timezone.utc) - timedelta(days=20))
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    assert cli("cases", "rules", "apply", str(path)).exit_code == 0
    assert cli("cases", "backfill", "--rule", "detractor", "--dry-run").exit_code == 0
    assert cli("cases", "backfill", "--rule", "detractor").exit_code == 0
    backfills = [(target, details) for action, target, _, details in entries(db) if action == "case_rules.backfill"]
    assert len(backfills) == 1 and backfills[0][0] == "detractor"
    assert backfills[0][1]["rules"]["detractor"]["opened"] == 1 and backfills[0][1]["via"] == "cli"


def test_a_scorecard_file_applied_from_the_shell_reads_as_the_command_line(configured, tmp_path):
    db = configured
    make_user(db, "admin", "boss@example.com")  # the file names owners
    path = tmp_path / "org.yaml"
    path.write_text(SCORECARD)
    assert cli("scorecard", "apply", str(path)).exit_code == 0
    target, details = by_cli(db)["scorecard.apply"]
    assert target == "org" and details["version"] == 1
    assert "\tcommand line\tscorecard.apply\torg\t" in cli("audit", "--action", "scorecard.").stdout
