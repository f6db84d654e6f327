"""`voxpop scorecard score` against the configured database: a table, JSON and CSV, and bad input refused."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from tests.scorecard import builders as build
from voxpop.cli import app

runner = CliRunner()


def workspace(db) -> None:
    with db.write() as s:
        card = build.scorecard(s, "org", name="Northwind")
        goal = build.objective(s, build.perspective(s, card, "customer"), "loyalty")
        sales = build.measure(s, goal, "sales", weight=2)
        build.target(s, sales, "2026-01", target=150, minimum=0, maximum=200)
        build.values(s, sales, {"2026-10": 100, "2026-11": (150, 40)})
        flag = build.measure(s, goal, "revenue", scoring="goal_red_flag")
        build.target(s, flag, "2026-01", goal=700, red_flag=500)
        build.values(s, flag, {"2026-11": 700})
        build.measure(s, goal, "empty")


def test_score_as_a_table(configured):
    workspace(configured)
    result = runner.invoke(app, ["scorecard", "score", "org", "--period", "2026-11"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for words in ("Northwind · 2026-11", "Sales", "150 n=40", "75.00", "on target (green)", "6.67 / 10",
                  "no data", "Scorecard score: 72.22 (green)"):
        assert words in result.output, words


def test_score_as_json_and_csv(configured):
    workspace(configured)
    data = json.loads(runner.invoke(app, ["scorecard", "score", "org", "--period", "2026-11", "--format",
                                          "json"]).stdout)
    assert data["key"] == "org" and data["period"] == "2026-11" and data["locked"] is False
    measures = {m["key"]: m for m in data["perspectives"][0]["objectives"][0]["measures"]}
    assert measures["sales"]["value"]["n"] == 40 and measures["sales"]["score"] == 75
    assert measures["sales"]["previous_colour"] == "amber" and measures["sales"]["change_is_signal"] is False
    assert measures["empty"]["status"] == "no data" and measures["empty"]["score"] is None
    assert data["perspectives"][0]["objectives"][0]["score"] == (2 * 75 + 200 / 3) / 3
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["scorecard", "score", "org", "--period", "2026-11",
                                                                "--format", "csv"]).stdout)))
    assert [row["measure"] for row in rows] == ["Sales", "Revenue", "Empty"]
    assert rows[0]["value"] == "150.0" and rows[0]["n"] == "40" and rows[0]["status"] == "on target"
    assert rows[2]["value"] == "" and rows[2]["status"] == "no data"


def test_score_defaults_to_the_last_ended_month(configured):
    workspace(configured)
    data = json.loads(runner.invoke(app, ["scorecard", "score", "org", "--format", "json"]).stdout)
    assert len(data["period"]) == 7 and data["period"][4] == "-"


def test_an_unknown_key_or_a_bad_period_exits_2_naming_the_problem(configured):
    workspace(configured)
    unknown = runner.invoke(app, ["scorecard", "score", "nowhere"])
    assert unknown.exit_code == 2 and "There is no scorecard 'nowhere'; the scorecards are org" in unknown.stderr
    bad = runner.invoke(app, ["scorecard", "score", "org", "--period", "2026-13"])
    assert bad.exit_code == 2 and "--period '2026-13' is not a period: write a month as 2026-11" in bad.stderr
    fmt = runner.invoke(app, ["scorecard", "score", "org", "--format", "xml"])
    assert fmt.exit_code == 2


def test_a_period_no_page_can_show_exits_2_with_the_pages_sentence(configured):
    workspace(configured)
    early = runner.invoke(app, ["scorecard", "score", "org", "--period", "0001-01"])
    assert early.exit_code == 2 and "--period '0001-01' is before 1900: pick a later period" in early.stderr
    late = runner.invoke(app, ["scorecard", "score", "org", "--period", "9999-12"])
    assert late.exit_code == 2 and "--period '9999-12' has not started yet: pick" in late.stderr
