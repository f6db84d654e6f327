"""`voxpop cases list` and `voxpop cases show` against the configured database."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from tests.cases.test_views import workspace
from voxpop.cli import app

runner = CliRunner()


def test_list_in_each_format_with_filters(configured):
    ids = workspace(configured)
    table = runner.invoke(app, ["cases", "list"])
    assert table.exit_code == 0, table.output
    assert f"#{ids['case']}" in table.output and "OVERDUE" in table.output and "2 cases" in table.output
    rows = json.loads(runner.invoke(app, ["cases", "list", "--format", "json"]).stdout)["rows"]
    assert [row["id"] for row in rows] == [ids["case"], ids["other"]]
    mine = json.loads(runner.invoke(app, ["cases", "list", "--mine", "AGENT@example.com", "--format", "json"]).stdout)
    assert [row["id"] for row in mine["rows"]] == [ids["case"]]
    care = json.loads(runner.invoke(app, ["cases", "list", "--department", "care", "--format", "json"]).stdout)
    assert [row["id"] for row in care["rows"]] == [ids["other"]]
    none = runner.invoke(app, ["cases", "list", "--status", "closed", "--status", "resolved"])
    assert none.exit_code == 0 and "no case matches" in none.output
    overdue = json.loads(runner.invoke(app, ["cases", "list", "--overdue", "--format", "json"]).stdout)["rows"]
    assert len(overdue) == 2
    read = list(csv.DictReader(io.StringIO(runner.invoke(app, ["cases", "list", "--format", "csv"]).stdout)))
    assert read[0]["id"] == str(ids["case"]) and read[0]["customer"] == "C-1"


def test_list_refuses_bad_filters_with_a_sentence(configured):
    workspace(configured)
    result = runner.invoke(app, ["cases", "list", "--status", "lost"])
    assert result.exit_code == 2 and "There is no status 'lost'" in result.stderr
    result = runner.invoke(app, ["cases", "list", "--department", "Nowhere"])
    assert result.exit_code == 2 and "the departments are Care, Digital" in result.stderr
    result = runner.invoke(app, ["cases", "list", "--mine", "nobody@example.com"])
    assert result.exit_code == 2 and "no staff user" in result.stderr


def test_show_as_text_and_json(configured):
    ids = workspace(configured)
    text = runner.invoke(app, ["cases", "show", str(ids["case"])])
    assert text.exit_code == 0, text.output
    for words in ["Detractor: Nobody called me back", "First contact:  overdue by", "C-1 <c1@example.com>",
                  "may contact: yes", "How likely are you to recommend us?: 2", "Assigned to Agent in Digital"]:
        assert words in text.stdout
    shown = json.loads(runner.invoke(app, ["cases", "show", str(ids["case"]), "--format", "json"]).stdout)
    assert shown["case"]["id"] == ids["case"] and shown["customer"]["external_id"] == "C-1"
    missing = runner.invoke(app, ["cases", "show", "999"])
    assert missing.exit_code == 2 and "voxpop cases list" in missing.stderr
