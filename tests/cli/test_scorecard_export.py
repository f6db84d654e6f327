"""`voxpop scorecard export KEY --output FILE [--period] [--format pdf|csv]` against the configured database: the PDF
the pages download, the CSV of the score table, and bad input refused with a sentence (exit 2; 1 for a file that
cannot be written)."""

from __future__ import annotations

import csv
import io

from typer.testing import CliRunner

from tests.scorecard.test_report import pdf_text, stored_scorecard
from voxpop.cli import app

runner = CliRunner()


def test_export_writes_the_pdf(configured, tmp_path):
    stored_scorecard(configured)
    target = tmp_path / "board.pdf"
    result = runner.invoke(app, ["scorecard", "export", "northwind", "--output", str(target), "--period", "2026-11"])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "2026-11" in result.output
    pdf = target.read_bytes()
    assert pdf.startswith(b"%PDF-")
    words = " ".join(pdf_text(pdf, tmp_path).split())
    assert "Northwind scorecard · 2026-11" in words and "Staff trained on care" in words


def test_export_writes_the_csv_to_standard_output(configured):
    stored_scorecard(configured)
    result = runner.invoke(app, ["scorecard", "export", "northwind", "--output", "-", "--period", "2026-10",
                                 "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(row["measure"], row["period"], row["value"]) for row in rows] == [
        ("Staff trained on care", "2026-10", "80.0"), ("Customers satisfied", "2026-10", "81.0")]


def test_export_defaults_to_the_last_ended_period(configured, tmp_path):
    stored_scorecard(configured)
    target = tmp_path / "latest.csv"
    result = runner.invoke(app, ["scorecard", "export", "northwind", "--output", str(target), "--format", "csv"])
    assert result.exit_code == 0, result.output
    [period] = {row["period"] for row in csv.DictReader(io.StringIO(target.read_text()))}
    assert len(period) == 7 and period[4] == "-"


def test_export_refuses_bad_input_with_a_sentence(configured, tmp_path):
    stored_scorecard(configured)
    target = str(tmp_path / "x.pdf")
    for arguments, code, words in [
            (["nope", "--output", target], 2, "there is no scorecard 'nope'; the scorecards are northwind"),
            (["northwind", "--output", target, "--period", "2026-13"], 2, "--period"),
            (["northwind", "--output", target, "--period", "2999-01"], 2, "has not started yet"),
            (["northwind", "--output", target, "--format", "docx"], 2, "docx"),
            (["northwind", "--output", str(tmp_path / "no" / "such" / "folder.csv"), "--format", "csv"], 1,
             "cannot write")]:
        result = runner.invoke(app, ["scorecard", "export", *arguments], env={"COLUMNS": "200"})
        assert result.exit_code == code, (arguments, result.output)
        assert words.lower() in " ".join(result.output.split()).lower(), (arguments, result.output)
    assert not (tmp_path / "x.pdf").exists()
