"""`voxpop cases rules apply|list|preview` and `voxpop cases backfill`, with real files in tmp_path."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from typer.testing import CliRunner

from tests.cases.test_rules import RULES, answer, shop
from voxpop.cases.models import Case, CaseRule
from voxpop.cli import app

runner = CliRunner()


def cli(*arguments):
    return runner.invoke(app, ["cases", *arguments])


def test_apply_a_rules_file_with_a_dry_run_first(configured, tmp_path):
    db = configured
    shop(db)
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    dry = cli("rules", "apply", str(path), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "rule detractor: new" in dry.stdout and "nothing was changed" in dry.stdout
    with db.read() as db_session:
        assert db_session.scalars(select(CaseRule)).all() == []
    done = cli("rules", "apply", str(path))
    assert done.exit_code == 0 and "applied:" in done.stdout
    again = cli("rules", "apply", str(path))
    assert "applied: 0 changes" in again.stdout
    listed = cli("rules", "list", "--format", "json")
    assert [row["key"] for row in json.loads(listed.stdout)["rows"]] == ["detractor", "unhappy"]
    table = cli("rules", "list")
    assert "detractor" in table.stdout and "nps is 0-6" in table.stdout
    assert cli("rules", "list", "--format", "csv").stdout.startswith("key,name,survey,conditions")


def test_a_bad_file_exits_2_with_the_field_path(configured, tmp_path):
    shop(configured)
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - {key: a, name: A, survey: shop, when: {answer: ['nps:0-6', 'nps:0-11']}}\n")
    failed = cli("rules", "apply", str(path))
    assert failed.exit_code == 2
    assert "rules[0].when.answer[1]" in failed.stderr and "the NPS scale is 0-10" in failed.stderr
    missing = cli("rules", "apply", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


def test_preview_and_backfill_on_history(configured, tmp_path):
    db = configured
    shop(db)
    now = datetime.now(timezone.utc)
    answer(db, {"nps": 2}, customer="c1", at=now - timedelta(days=20))
    answer(db, {"nps": 3}, customer="c2", at=now - timedelta(days=10))
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    cli("rules", "apply", str(path))
    shown = cli("rules", "preview", "detractor", "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["preview"]["cases"] == 2
    assert "would have opened" in cli("rules", "preview", "detractor").stdout
    assert cli("rules", "preview", "nope").exit_code == 2
    bad = cli("rules", "preview", "detractor", "--since", "last week")
    assert bad.exit_code == 2 and "--since must be a day" in bad.stderr
    dry = cli("backfill", "--rule", "detractor", "--dry-run")
    assert dry.exit_code == 0 and "detractor: would look at 2 matching stored responses" in dry.stdout
    with db.read() as db_session:
        assert db_session.scalars(select(Case)).all() == []
    done = cli("backfill", "--rule", "detractor")
    assert done.exit_code == 0 and "detractor: 2 cases opened" in done.stdout
    assert "detractor: 0 cases opened" in cli("backfill", "--rule", "detractor").stdout
    unknown = cli("backfill", "--rule", "nope")
    assert unknown.exit_code == 2 and "no rule 'nope'" in unknown.stderr
    swapped = cli("backfill", "--since", "2026-05-01", "--until", "2026-04-01")
    assert swapped.exit_code == 2 and "swap them" in swapped.stderr
