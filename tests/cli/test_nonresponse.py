"""`voxpop nonresponse diagnose|weights|rake`: the audience diagnostics and weights from the store, and raking any
file to margins in a YAML file (Wikipedia's IPF example as a file), with errors that name the row or field."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from tests.results.nonresponse_stored import WEIGHTED_NPS, invited_audience
from voxpop.cli import app

runner = CliRunner()


def cli(*arguments):
    return runner.invoke(app, ["nonresponse", *map(str, arguments)])


def _csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_diagnose_in_every_format(configured):
    invited_audience(configured, spend=False)
    table = cli("diagnose", "--survey", "shop")
    assert table.exit_code == 0, table.output
    assert "80 of 200 invitations were answered" in table.stdout and "Response differs by segment" in table.stdout
    assert "weighted by segment" in table.stdout
    data = json.loads(cli("diagnose", "--survey", "shop", "--format", "json").stdout)
    nps = next(metric for metric in data["weighting"]["metrics"] if metric["question"] == "nps")
    assert nps["weighted"]["value"] == pytest.approx(WEIGHTED_NPS)
    rows = _csv(cli("diagnose", "--survey", "shop", "--format", "csv").stdout)
    enterprise = next(row for row in rows if row["category"] == "Enterprise")
    assert (enterprise["invited"], enterprise["responded"], enterprise["differs"]) == ("100", "20", "True")


def test_diagnose_refusals(configured):
    invited_audience(configured, spend=False)
    unknown = cli("diagnose", "--survey", "nope")
    assert unknown.exit_code == 2 and "no survey 'nope'" in unknown.stderr
    weight = cli("diagnose", "--survey", "shop", "--weight", "colour")
    assert weight.exit_code == 2 and "--weight" in weight.stderr and "colour" in weight.stderr


def test_weights_by_segment_and_region(configured, tmp_path):
    invited_audience(configured, spend=False)
    target = tmp_path / "weights.csv"
    result = cli("weights", "--survey", "shop", "--by", "segment", "--by", "region", "--output", target)
    assert result.exit_code == 0, result.output
    rows = _csv(target.read_text())
    assert len(rows) == 80 and set(rows[0]) == {"customer", "response", "weight", "segment", "region"}
    by_segment = {}
    for row in rows:
        by_segment.setdefault(row["segment"], set()).add(round(float(row["weight"]), 4))
    assert by_segment == {"Enterprise": {5.0}, "SMB": {round(5 / 3, 4)}}
    assert sum(float(row["weight"]) for row in rows) == pytest.approx(200, rel=1e-5)
    assert "n_eff 60.0" in result.stderr
    default = _csv(cli("weights", "--survey", "shop").stdout)
    assert set(default[0]) == {"customer", "response", "weight", "segment"}
    bad = cli("weights", "--survey", "shop", "--by", "code")
    assert bad.exit_code == 2 and "no categorical attribute 'code'" in bad.stderr


WIKIPEDIA_MARGINS = """
margins:
  row: {x1: 150, x2: 300, x3: 400, x4: 150}
  column: {y1: 200, y2: 300, y3: 400, y4: 100}
total: 1000
"""


def test_rake_a_file_reproduces_the_converged_wikipedia_table(tmp_path):
    seed = [[40, 30, 20, 10], [35, 50, 100, 75], [30, 80, 70, 120], [20, 30, 40, 50]]
    lines = ["id,row,column,seed"] + [f"{4 * i + j},x{i + 1},y{j + 1},{value}"
                                       for i, values in enumerate(seed) for j, value in enumerate(values)]
    (tmp_path / "cells.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "margins.yaml").write_text(WIKIPEDIA_MARGINS)
    result = cli("rake", tmp_path / "cells.csv", "--margins", tmp_path / "margins.yaml", "--design-weight", "seed")
    assert result.exit_code == 0, result.output
    rows = _csv(result.stdout)
    assert list(rows[0]) == ["id", "row", "column", "seed", "weight"]
    assert [round(float(row["weight"]), 2) for row in rows[:4]] == [64.56, 46.23, 35.38, 3.82]
    assert "16 rows raked on row, column" in result.stderr


def test_rake_with_shares_weights_average_one(tmp_path):
    (tmp_path / "answers.csv").write_text("segment,nps\nSMB,10\nSMB,9\nSMB,3\nEnterprise,2\n")
    (tmp_path / "margins.yaml").write_text("margins:\n  segment: {SMB: 0.5, Enterprise: 0.5}\n")
    target = tmp_path / "out.csv"
    result = cli("rake", tmp_path / "answers.csv", "--margins", tmp_path / "margins.yaml", "--output", target)
    assert result.exit_code == 0, result.output
    assert [float(row["weight"]) for row in _csv(target.read_text())] == pytest.approx([2 / 3, 2 / 3, 2 / 3, 2])


@pytest.mark.parametrize(("rows", "margins", "message"), [
    ("segment\nSMB\nGov\n", "margins:\n  segment: {SMB: 1}\n", "row 2: segment is 'Gov', which has no target"),
    ("segment,nps\nSMB,3\n,4\n", "margins:\n  segment: {SMB: 1}\n", "row 2: segment is empty"),
    ("segment\nSMB\n", "margins:\n  segment: {SMB: 1, Gov: 1}\n", "segment 'Gov' has no respondents"),
    ("segment\nSMB\n", "margins: [1]\n", "needs a `margins:` mapping"),
    ("segment\nSMB\n", "margins:\n  segment: {SMB: many}\n", "margins.segment.SMB must be a number"),
    ("segment\nSMB\n", "margins:\n  region: {north: 1}\n", "has no column 'region'"),
    ("segment,region\nSMB,north\n", "margins:\n  segment: {SMB: 0.5}\n  region: {north: 1}\n", "do not sum alike"),
])
def test_rake_refusals_name_the_row_or_field(tmp_path, rows, margins, message):
    (tmp_path / "answers.csv").write_text(rows)
    (tmp_path / "margins.yaml").write_text(margins)
    result = cli("rake", tmp_path / "answers.csv", "--margins", tmp_path / "margins.yaml")
    assert result.exit_code == 2
    assert message.lower() in result.stderr.replace("\n", " ").lower()


def test_diagnose_with_clv_says_why_it_is_not_tested(configured):
    invited_audience(configured)  # purchases whose spend the Gamma-Gamma model cannot fit
    result = cli("diagnose", "--survey", "shop", "--clv")
    assert result.exit_code == 0, result.output
    assert "not tested: predicted CLV: Gamma-Gamma did not converge" in " ".join(result.stdout.split())


def test_weights_by_tenure_bands(configured):
    from tests.results.test_nonresponse import _first_purchases

    invited_audience(configured, spend=False)
    _first_purchases(configured)
    rows = _csv(cli("weights", "--survey", "shop", "--by", "tenure").stdout)
    assert {row["tenure"] for row in rows} == {"under 90 days", "1 to 2 years"}
    assert {round(float(row["weight"]), 4) for row in rows if row["tenure"] == "under 90 days"} == {5.0}
