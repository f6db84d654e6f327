"""`voxpop survey list | show | export` and `survey apply --owner`, against the configured database."""

import csv
import io
import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.helpers import FEEDBACK_SURVEY, apply_survey, make_user
from tests.surveys.test_definition_files import EVERY_KIND
from tests.surveys.test_list_page import add_responses
from voxpop.cli import app
from voxpop.cli.surveys import bars
from voxpop.surveys.models import Survey, SurveyVersion
from voxpop.surveys.service import get_by_key, set_status

runner = CliRunner()


@pytest.mark.parametrize("file_format", ["yaml", "json"])
def test_export_then_apply_makes_no_new_version(configured, tmp_path, file_format):
    apply_survey(configured, EVERY_KIND)
    apply_survey(configured, EVERY_KIND.replace("Why not?", "Why not yes?"))
    with configured.write() as db_session:  # a status changed after the file was applied
        set_status(db_session=db_session, survey=get_by_key(db_session=db_session, key="every-kind"), status="closed")
    exported = runner.invoke(app, ["survey", "export", "every-kind", "--format", file_format])
    assert exported.exit_code == 0, exported.output
    path = tmp_path / f"every-kind.{file_format}"
    path.write_text(exported.stdout, encoding="utf-8")
    applied = runner.invoke(app, ["survey", "apply", str(path)])
    assert applied.exit_code == 0 and "unchanged" in applied.output and "status closed" in applied.output
    with configured.read() as db_session:
        assert db_session.scalar(select(SurveyVersion.number).order_by(SurveyVersion.number.desc()).limit(1)) == 2
        assert db_session.scalar(select(Survey.status)) == "closed"


def test_export_an_earlier_version_to_a_file(configured, tmp_path):
    apply_survey(configured)
    apply_survey(configured, FEEDBACK_SURVEY.replace("What did you buy?", "What did you order?"))
    target = tmp_path / "v1.yaml"
    result = runner.invoke(app, ["survey", "export", "feedback", "--version", "1", "--output", str(target)])
    assert result.exit_code == 0 and "version 1 written" in result.output
    assert "What did you buy?" in target.read_text(encoding="utf-8")
    missing = runner.invoke(app, ["survey", "export", "feedback", "--version", "7"])
    assert missing.exit_code == 2 and "has no version 7; its versions are 1, 2" in missing.stderr


@pytest.mark.parametrize("verb", ["show", "export"])
def test_an_unknown_key_is_named_with_where_to_find_the_keys(configured, verb):
    result = runner.invoke(app, ["survey", verb, "nope"])
    assert result.exit_code == 2
    assert "'nope'" in result.stderr and "voxpop survey list" in result.stderr


def test_list_prints_every_survey_in_each_format(configured):
    apply_survey(configured)
    apply_survey(configured, FEEDBACK_SURVEY.replace("key: feedback", "key: quiet").replace("status: live", "status: draft"))
    add_responses(configured, "feedback", *[datetime.now(timezone.utc)] * 2)
    table = runner.invoke(app, ["survey", "list"])
    assert table.exit_code == 0 and "feedback" in table.output and "quiet" in table.output and "draft" in table.output
    rows = json.loads(runner.invoke(app, ["survey", "list", "--format", "json"]).stdout)["rows"]
    assert [(row["key"], row["responses"], row["version"]) for row in rows] == [("feedback", 2, 1), ("quiet", 0, 1)]
    assert len(rows[0]["monthly_responses"]) == 12
    listed = list(csv.DictReader(io.StringIO(runner.invoke(app, ["survey", "list", "--format", "csv"]).stdout)))
    assert [row["key"] for row in listed] == ["feedback", "quiet"] and listed[0]["responses"] == "2"
    assert runner.invoke(app, ["survey", "list", "--format", "xml"]).exit_code == 2
    drafts = runner.invoke(app, ["survey", "list", "--status", "draft", "--format", "csv"]).stdout
    assert [row["key"] for row in csv.DictReader(io.StringIO(drafts))] == ["quiet"]
    assert "no survey matches" in runner.invoke(app, ["survey", "list", "--search", "nothing-like-it"]).output
    assert runner.invoke(app, ["survey", "list", "--status", "open"]).exit_code == 2


def test_show_prints_questions_with_their_kind_scale_options_and_conditions(configured):
    apply_survey(configured, EVERY_KIND)
    result = runner.invoke(app, ["survey", "show", "every-kind"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "status live; languages en, fr; owner nobody" in text
    assert "responses 0" in text and "1 " in text and "13 questions" in text
    assert "1. nps (nps, 0–10, required): Recommend?" in text
    assert "4. effort (ces 1.0, 1–5): Effort?" in text
    assert "options: yes (Yes), no (No), 1.0 ('1.0'), null (null)" in text
    assert "shown if csat > 2" in text and "shown if resolved in yes, 1.0" in text
    assert "shown if because answered" in text and "shown if because not answered" in text


def test_apply_sets_the_owner_and_refuses_an_unknown_one(configured, tmp_path):
    make_user(configured, "manager", "lead@example.com")
    path = tmp_path / "feedback.yaml"
    path.write_text(FEEDBACK_SURVEY)
    unknown = runner.invoke(app, ["survey", "apply", str(path), "--owner", "ghost@example.com"])
    assert unknown.exit_code == 2 and "'ghost@example.com'" in unknown.stderr
    with configured.read() as db_session:
        assert db_session.scalar(select(Survey.id)) is None  # nothing applied
    result = runner.invoke(app, ["survey", "apply", str(path), "--owner", "Lead@Example.com"])
    assert result.exit_code == 0 and "owner lead@example.com" in " ".join(result.output.split())
    assert "owner lead@example.com" in runner.invoke(app, ["survey", "show", "feedback"]).output


def test_bars_run_from_zero_to_the_highest_count():
    assert bars([0, 1, 2, 4]) == "▁▃▅█" and bars([0, 0]) == "▁▁"
