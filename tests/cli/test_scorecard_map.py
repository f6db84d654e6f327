"""`voxpop scorecard map KEY` against the configured database: the table, the JSON twin, and clear refusals."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.scorecard.test_strategy_map import linked_card, planted
from voxpop.cli import app

runner = CliRunner()


def test_map_prints_each_link_tested_as_a_table_and_as_json(configured):
    cause, effect = planted()
    linked_card(configured, cause_values=cause, effect_values=effect)
    table = runner.invoke(app, ["scorecard", "map", "org", "--period", "2026-11"])
    assert table.exit_code == 0, table.output
    assert "Strategy map of Northwind, 2026-11" in table.output and "supported" in table.output
    assert "1. Supported: r " in table.output
    document = json.loads(runner.invoke(app, ["scorecard", "map", "org", "--period", "2026-11",
                                              "--format", "json"]).stdout)
    (link,) = document["links"]
    assert document["period"] == "2026-11" and link["verdict"] == "supported" and link["lagged"]["n"] == 23


def test_map_refuses_an_unknown_scorecard_and_a_bad_period(configured):
    cause, effect = planted()
    linked_card(configured, cause_values=cause, effect_values=effect)
    unknown = runner.invoke(app, ["scorecard", "map", "nope"])
    assert unknown.exit_code == 2 and "There is no scorecard 'nope'" in unknown.stderr
    bad = runner.invoke(app, ["scorecard", "map", "org", "--period", "2026-13"])
    assert bad.exit_code == 2 and "2026-Q4" in bad.stderr
