"""One file reader: `voxpop metrics` reads an export exactly as `voxpop import responses` does."""

import csv
import json

import pytest
from typer.testing import CliRunner

from voxpop.cli import app
from voxpop.settings import get_settings

runner = CliRunner()
RECOMMEND = "Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen?"
BRANCHES = ("Köln", "Düsseldorf", "Straße – Süd")  # the dash is 0x96 in Windows-1252, a control character in Latin-1


def german_export(path):
    """A German spreadsheet's CSV: semicolons, Windows-1252, CRLF, dates like 31.12.2026 14:05."""
    lines = [f"Antwort-Nr;Datum;{RECOMMEND};Filiale;Kommentar"]
    rows = []
    for number in range(42):
        year, month = (2026, 11 + number // 14) if number < 28 else (2027, 1)
        when = f"{number % 28 + 1:02d}.{month:02d}.{year} {number % 24:02d}:{number * 7 % 60:02d}"
        rows.append((when, (number * 7) % 11, BRANCHES[number % 3]))
    rows.append(("31.12.2026 23:30", 10, "Köln"))  # the last half hour of December stays in December
    lines += [f"{number};{when};{score};{branch};„Gut“ – 5 €" for number, (when, score, branch) in enumerate(rows, 1)]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return rows


def nps_by_month(rows):
    """The per-row reference: each answer's month as written, then % promoters − % detractors."""
    months = {}
    for when, score, _ in rows:
        day, month, year = when.split()[0].split(".")
        months.setdefault(f"{year}-{month}-01", []).append(score)
    return {month: 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)
            for month, scores in months.items()}


def invoke(*arguments):
    result = runner.invoke(app, [*map(str, arguments)])
    assert result.exit_code == 0, result.output
    return result


def test_a_german_export_gives_the_same_nps_per_month_from_the_file_and_after_its_import(configured, tmp_path,
                                                                                          monkeypatch):
    monkeypatch.setenv("VOXPOP_TIMEZONE", "Europe/Berlin")  # naive times are Berlin time, and so are the months
    get_settings.cache_clear()
    path = tmp_path / "kunden.csv"
    rows = german_export(path)

    from_file = invoke("metrics", path, "--metric", "nps", "--score", RECOMMEND, "--period", "month", "--time", "Datum",
                       "--format", "json")
    assert "read as Windows-1252" in " ".join(from_file.stderr.split())
    imported = json.loads(invoke("import", "responses", path, "--survey", "kunden", "--format", "json").stdout)
    assert imported["new"] == len(rows)
    from_store = invoke("metrics", "--survey", "kunden", "--metric", "nps", "--period", "month", "--format", "json")

    by_file, by_store = (json.loads(result.stdout)["rows"] for result in (from_file, from_store))
    assert by_file == by_store
    assert {row["period"]: row["value"] for row in by_file} == pytest.approx(nps_by_month(rows))
    # The branch names decode the same way too: the importer's options are the file's groups.
    [branch] = [column for column in imported["mapping"] if column["header"] == "Filiale"]
    grouped = invoke("metrics", path, "--metric", "nps", "--score", RECOMMEND, "--by", "Filiale", "--format", "json")
    assert {row["Filiale"] for row in json.loads(grouped.stdout)["rows"]} == set(BRANCHES)
    assert all(name in str(branch) for name in BRANCHES)


def test_the_legacy_and_the_current_qualtrics_export_of_the_same_responses_read_alike(real_data):
    """The same 15 responses in Qualtrics' two layouts, one header row under the column names in the legacy file
    and two in the current one: the row a refusal names is the same data row, counted as the csv module reads the
    records under the header rows."""
    folder = real_data / "QualtricsTools"
    refusals = []
    for name, header_rows in [("No_Basis_for_Evaluation (Legacy).csv", 2), ("No_Basis_for_Evaluation (Insights).csv", 3)]:
        with (folder / name).open(newline="", encoding="utf-8-sig") as handle:
            records = list(csv.reader(handle))
        position = records[0].index("Q3_1")
        minus_one = [row for row, record in enumerate(records[header_rows:], 1) if record[position] == "-1"]
        # -1 is Qualtrics' code for "no basis for evaluation", outside the 1–3 scale.
        result = runner.invoke(app, ["metrics", str(folder / name), "--metric", "mean", "--score", "Q3_1",
                                     "--scale", "1-3"])
        assert result.exit_code == 2
        refusal = " ".join(result.stderr.split())
        assert (f"column 'Q3_1' has the value '-1' in data row {minus_one[0]}, outside the 1–3 rating scale "
                f"({len(minus_one)} such values in all)") in refusal
        note, error = refusal.split("error: ", 1)
        assert "Qualtrics adds under the column names" in note  # said, so the row number makes sense
        refusals.append(error.split(": ", 1)[1])
    assert refusals[0] == refusals[1]
