"""`voxpop send create|list|show|run|cancel|remind|triggers|trigger-add|event` and `voxpop send rules`, with real
files in tmp_path."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from tests.helpers import apply_survey
from voxpop.cli import app
from voxpop.customers.models import Customer
from voxpop.distribution.models import ContactRule, Send, SendInvitation, TriggerEvent

runner = CliRunner()
SEND_FILE = """
key: december-wave
name: December NPS wave
survey: feedback
audience: {filter: {segment: [SMB]}}
default_language: en
embed_question: nps
max_reminders: 2
templates:
  en: {subject: "A minute for {{ survey_title }}?", body: "Hello {{ customer.name }},\\n\\n{{ score_buttons }}\\n\\n{{ link }}"}
  de: {subject: "Eine Minute?", body: "Hallo {{ customer.name }},\\n\\n{{ link }}"}
"""


def cli(*arguments):
    return runner.invoke(app, ["send", *arguments])


def _world(db):
    apply_survey(db)
    with db.write() as db_session:
        db_session.add_all([
            Customer(external_id="C1", email="ann@example.com", language="de", consent="yes",
                     attributes={"name": "Ann", "segment": "SMB"}),
            Customer(external_id="C2", email=None, language="en", consent="yes", attributes={"segment": "SMB"}),
            Customer(external_id="C3", email="cy@example.com", language="en", consent="yes",
                     attributes={"segment": "Enterprise"})])


def test_create_dry_run_run_and_run_again(configured, tmp_path):
    db = configured
    _world(db)
    path = tmp_path / "send.yaml"
    path.write_text(SEND_FILE, encoding="utf-8")
    created = cli("create", str(path))
    assert created.exit_code == 0, created.output
    assert "created send december-wave (draft)" in created.output
    dry = cli("run", "december-wave", "--dry-run", "--format", "csv")
    assert dry.exit_code == 0, dry.output
    rows = list(csv.DictReader(io.StringIO(dry.output)))
    assert [(row["customer_id"], row["decision"], row["reason"], row["language"]) for row in rows] == [
        ("C1", "invite", "", "de"), ("C2", "skip", "no e-mail address", "en")]
    as_json = json.loads(cli("run", "december-wave", "--dry-run", "--format", "json").output)
    assert (as_json["invite"], as_json["skip"], as_json["reasons"]) == (1, 1, {"no e-mail address": 1})
    table = cli("run", "december-wave", "--dry-run")
    assert "1 would be invited, 1 skipped" in table.output and "no e-mail address" in table.output
    ran = cli("run", "december-wave")
    assert ran.exit_code == 0, ran.output
    assert "1 invitations queued, 1 skipped" in ran.output
    again = cli("run", "december-wave")
    assert "0 invitations queued, 0 skipped" in again.output
    with db.read() as db_session:
        assert db_session.query(SendInvitation).count() == 1
        assert db_session.query(Send).one().status == "done"
    listed = cli("list")
    assert "december-wave\tdone\tfeedback\t1 invited\t1 skipped" in listed.output
    shown = cli("show", "december-wave", "--format", "json")
    assert json.loads(shown.output)["audience"] == {"filter": {"segment": ["SMB"]}}


def test_a_bad_file_is_refused_naming_each_field(configured, tmp_path):
    _world(configured)
    path = tmp_path / "send.yaml"
    path.write_text(SEND_FILE.replace("A minute for {{ survey_title }}?", "A minute {{ survey_title }")
                    .replace("max_reminders: 2", "max_reminders: 7").replace("survey: feedback", "survey: nope"),
                    encoding="utf-8")
    refused = cli("create", str(path))
    assert refused.exit_code == 2
    message = " ".join(refused.output.split())
    assert "max_reminders: Input should be less than or equal to 3" in message
    refused = cli("create", str(path).replace("send.yaml", "missing.yaml"))
    assert refused.exit_code == 2 and "does not exist" in refused.output
    path.write_text(SEND_FILE.replace("A minute for {{ survey_title }}?", "A minute {{ survey_title }")
                    .replace("survey: feedback", "survey: nope"), encoding="utf-8")
    message = " ".join(cli("create", str(path)).output.split())
    assert "survey: there is no survey 'nope'" in message
    assert "templates.en.subject: unexpected '}'" in message


def test_rules_add_list_remove(configured):
    db = configured
    _world(db)
    assert "no contact rules" in cli("rules", "list").output.lower()
    added = cli("rules", "add", "--max", "2", "--per-days", "90", "--gap-days", "30")
    assert added.exit_code == 0, added.output
    assert "at most 2 times per 90 days and at least 30 days apart" in cli("rules", "list").output
    refused = cli("rules", "add", "--max", "2")
    assert refused.exit_code == 2 and "max_invitations and per_days together" in " ".join(refused.output.split())
    with db.read() as db_session:
        rule_id = db_session.query(ContactRule).one().id
    assert cli("rules", "remove", str(rule_id)).exit_code == 0
    assert cli("rules", "remove", str(rule_id)).exit_code == 2


def test_a_trigger_from_the_command_line(configured, tmp_path):
    db = configured
    _world(db)
    path = tmp_path / "send.yaml"
    path.write_text(SEND_FILE.replace("key: december-wave", "key: after-delivery")
                    .replace("audience: {filter: {segment: [SMB]}}\n", ""), encoding="utf-8")
    assert cli("create", str(path)).exit_code == 0
    added = cli("trigger-add", "on-delivery", "--send", "after-delivery", "--event", "order delivered")
    assert added.exit_code == 0, added.output
    assert "event recorded" in cli("event", "order delivered", "C1", "--key", "order-9").output
    assert "already recorded" in cli("event", "order delivered", "C1", "--key", "order-9").output
    ran = cli("triggers")
    assert "1 invited, 0 skipped" in ran.output, ran.output
    with db.read() as db_session:
        assert db_session.query(TriggerEvent).one().processed_at is not None
    assert "0 reminders queued" in cli("remind").output
    assert cli("cancel", "after-delivery").exit_code == 0


def test_the_dry_run_csv_quotes_a_cell_that_would_start_a_formula(configured, tmp_path):
    db = configured
    apply_survey(db)
    with db.write() as db_session:
        db_session.add(Customer(external_id="=HYPERLINK(\"http://evil.example\")", email="eve@example.com",
                                language="en", consent="yes", attributes={"name": "Eve", "segment": "SMB"}))
    path = tmp_path / "send.yaml"
    path.write_text(SEND_FILE, encoding="utf-8")
    assert cli("create", str(path)).exit_code == 0
    dry = cli("run", "december-wave", "--dry-run", "--format", "csv")
    assert dry.exit_code == 0, dry.output
    rows = list(csv.DictReader(io.StringIO(dry.output)))
    assert [row["customer_id"] for row in rows] == ["'=HYPERLINK(\"http://evil.example\")"]
