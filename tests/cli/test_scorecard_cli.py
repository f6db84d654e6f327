"""`voxpop scorecard apply|show`, with real files in tmp_path."""

from __future__ import annotations

import json

import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.helpers import make_user
from tests.scorecard.test_definition import SCORECARD
from voxpop.cli import app
from voxpop.scorecard.models import Measure, ScorecardVersion

runner = CliRunner()


def cli(*arguments):
    return runner.invoke(app, ["scorecard", *arguments])


def test_apply_with_a_dry_run_first_then_show_and_apply_what_show_wrote(configured, tmp_path):
    db = configured
    make_user(db, "admin", "boss@example.com")
    path = tmp_path / "org.yaml"
    path.write_text(SCORECARD)
    dry = cli("apply", str(path), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "measure nps: new" in dry.stdout and "scorecard org would become version 1" in dry.stdout
    assert "nothing was changed" in dry.stdout
    with db.read() as db_session:
        assert db_session.scalar(select(func.count()).select_from(Measure)) == 0
    done = cli("apply", str(path))
    assert done.exit_code == 0, done.output
    assert "scorecard org is now version 1" in done.stdout and "applied: " in done.stdout
    again = cli("apply", str(path))
    assert "scorecard org: unchanged (version 1)" in again.stdout and "applied: 0 changes" in again.stdout

    shown = cli("show", "org")
    assert shown.exit_code == 0, shown.output
    document = yaml.safe_load(shown.stdout)
    assert document["measures"][0]["targets"][0]["from"] == "2026-01"
    assert json.loads(cli("show", "org", "--format", "json").stdout) == document
    document["name"] = "Northwind Traders"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    changed = cli("apply", str(edited))
    assert changed.exit_code == 0, changed.output
    assert "scorecard org: changed (name)" in changed.stdout and "applied: 1 change" in changed.stdout
    assert yaml.safe_load(cli("show", "org", "--version", "1").stdout)["name"] == "Northwind"
    assert yaml.safe_load(cli("show", "org").stdout)["name"] == "Northwind Traders"
    with db.read() as db_session:
        assert db_session.scalar(select(func.count()).select_from(ScorecardVersion)) == 2


def test_bad_input_exits_2_with_the_field_path(configured, tmp_path):
    make_user(configured, "admin", "boss@example.com")
    path = tmp_path / "org.yaml"
    path.write_text(SCORECARD.replace("red_flag: 70", "red_flg: 70"))
    failed = cli("apply", str(path))
    assert failed.exit_code == 2
    assert "measures[1].targets[0].red_flg" in failed.stderr and "docs/scorecard-file.md" in failed.stderr
    path.write_text(SCORECARD.replace("boss@example.com", "nobody@example.com"))
    failed = cli("apply", str(path))
    assert failed.exit_code == 2 and "objectives[0].owner" in failed.stderr
    assert cli("apply", str(tmp_path / "nope.yaml")).stderr.count("does not exist") == 1
    unknown = cli("show", "nowhere")
    assert unknown.exit_code == 2 and "There is no scorecard 'nowhere'" in unknown.stderr
    path.write_text(SCORECARD)
    assert cli("apply", str(path)).exit_code == 0
    missing = cli("show", "org", "--version", "4")
    assert missing.exit_code == 2 and "there is no version 4" in missing.stderr
