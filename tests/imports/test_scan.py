"""The mapping pass in two processes finds exactly what one pass finds, and says the same when a file is bad."""

import csv

import pytest

from tests.helpers import real_data_dir
from voxpop.imports import scan
from voxpop.imports.formats import ImportFileError, open_export
from voxpop.imports.mapping import detect_mapping

# Listed when the tests are collected. Without the real-data folder one case is left, which the real_data
# fixture skips with its reason.
REAL = real_data_dir()
EXPORTS = sorted(path for path in REAL.rglob("*") if path.suffix.lower() in (".csv", ".tsv")) if REAL.is_dir() else [None]


def both(path, monkeypatch):
    """The mapping found in one pass, then in two (the split forced, whatever the file's size)."""
    one = detect_mapping(open_export(path))
    monkeypatch.setattr(scan, "SPLIT_MIN_BYTES", 0)
    return one, detect_mapping(open_export(path))


def export(path, rows, header=("id", "when", "score", "comment", "segment")):
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


ROWS = [[f"r{i}", f"2025-03-{i % 28 + 1:02d} 10:00:00", str(i % 11), f'said "hi"\nand, left {i}' if i % 3 else "",
         ("smb", "enterprise")[i % 2]] for i in range(400)]


def test_two_halves_map_a_file_with_quoted_line_breaks_as_one_pass_does(tmp_path, monkeypatch):
    path = export(tmp_path / "export.csv", ROWS)
    opened = open_export(path)
    boundary = opened.source.record_boundary(path.stat().st_size // 2)
    halves = list(opened.rows(end=boundary)), list(opened.rows(start=boundary))
    assert all(halves) and [cells for half in halves for _, cells in half] == [cells for _, cells in opened.rows()]
    one, two = both(path, monkeypatch)
    assert two == one and [c.role for c in one.columns][1:4] == ["submitted_at", "rating", "text"]


def test_a_stray_quote_that_fools_the_boundary_guess_changes_nothing(tmp_path, monkeypatch):
    # An unquoted value holding one quote makes the quote count odd: the guessed boundary falls inside a
    # quoted comment, the first half's reader disproves it, and one pass reads the file.
    rows = [list(row) for row in ROWS]
    rows[3][4] = 'sm"b'
    path = tmp_path / "stray.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        handle.write("id,when,score,comment,segment\n")
        for row in rows:
            handle.write(",".join(row[:3]) + "," + csv_quote(row[3]) + "," + row[4] + "\n")
    boundary = open_export(path).source.record_boundary(path.stat().st_size // 2)
    with pytest.raises(ImportFileError, match="ends inside a quoted value"):
        list(open_export(path).rows(end=boundary))  # the guess is wrong, and reading up to it says so
    one, two = both(path, monkeypatch)
    assert two == one


def csv_quote(value):
    return '"' + value.replace('"', '""') + '"' if value else ""


def test_a_bad_row_in_the_second_half_gets_the_one_pass_message(tmp_path, monkeypatch):
    rows = ROWS[:350] + [["r-bad", "2025-03-01 10:00:00", "5", "x", "smb", "extra cell"]] + ROWS[350:]
    path = export(tmp_path / "bad.csv", rows)
    with pytest.raises(ImportFileError) as single:
        detect_mapping(open_export(path))
    monkeypatch.setattr(scan, "SPLIT_MIN_BYTES", 0)
    with pytest.raises(ImportFileError) as split:
        detect_mapping(open_export(path))
    assert str(split.value) == str(single.value) and "row 352" in str(split.value)


@pytest.mark.parametrize("path", EXPORTS, ids=lambda path: path.name if path else "no-real-data")
def test_every_real_text_export_maps_the_same_in_two_halves(real_data, path, monkeypatch):
    try:
        one = detect_mapping(open_export(path))
    except ImportFileError:
        pytest.skip(f"{path.name} is not a survey export voxpop maps on its own")
    monkeypatch.setattr(scan, "SPLIT_MIN_BYTES", 0)
    assert detect_mapping(open_export(path)) == one
