"""The engine reads files as the importer sniffs them: encodings, delimiters, and times by the same rules."""

import gc
import tempfile
from pathlib import Path

import pytest

from voxpop.analysis import sources
from voxpop.metrics import MetricError, MetricNote, metrics


def utf8_copies() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("voxpop-utf8-*"))


def test_utf16_tsv_and_a_folder_of_mixed_encodings(tmp_path):
    tsv = tmp_path / "qualtrics.tsv"
    tsv.write_text("score\twhen\n9\t2024-01-02\n3\t2024-01-03\n", encoding="utf-16")
    assert metrics(tsv, metric="nps", score="score")[0]["n"] == 2
    folder = tmp_path / "daily"
    folder.mkdir()
    (folder / "2024-01-01.csv").write_text("score,shop\n10,Köln\n", encoding="utf-8")
    (folder / "2024-01-02.csv").write_bytes("score,shop\n2,Straße – Süd\n".encode("cp1252"))
    before = utf8_copies()
    with pytest.warns(MetricNote, match="read as Windows-1252"):
        table = sources.read_file(folder)
    assert sorted(table.execute()["shop"]) == ["Köln", "Straße – Süd"]
    assert len(utf8_copies() - before) == 1
    del table
    gc.collect()
    assert utf8_copies() - before == set()  # the UTF-8 copy goes with the connection


def test_times_are_read_by_the_importers_rules(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("score;when\n9;31.12.2026 14:05\n3;1.1.2027 9:00\n10;02.01.2027 10:00\n7;\n")
    rows = metrics(path, metric="nps", score="score", period="month", time="when", min_base=1)
    assert [(row["period"], row["n"]) for row in rows] == [("2026-12-01", 1), ("2027-01-01", 2), (None, 1)]
    # As the importer, a format must read 95% of the values, and the rest are errors naming their row.
    good = "".join(f"9,2024-01-{day:02d} 10:00:00.250\n" for day in range(1, 21))
    path.write_text(f"score,when\n{good}4,2024-02-30 10:00:00\n")
    with pytest.raises(MetricError, match=r"'2024-02-30 10:00:00' in data row 21, which is not a time like"):
        metrics(path, metric="nps", score="score", period="month", time="when")
    path.write_text("score,when\n9,01/02/2024 10:00:00\n3,03/04/2024 10:00:00\n")
    with pytest.warns(MetricNote, match="reads both as month/day and as day/month"):
        rows = metrics(path, metric="nps", score="score", period="month", time="when")
    assert [row["period"] for row in rows] == ["2024-01-01", "2024-03-01"]
    path.write_text("score,when\n9,13/02/2024 10:00:00\n3,03/04/2024 10:00:00\n")  # a 13th: the day comes first
    assert [row["period"] for row in metrics(path, metric="nps", score="score", period="month", time="when")] == [
        "2024-02-01", "2024-04-01"]


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"score,when\x00\x01\n", "holds binary data"),
    (b"%PDF-1.7 ...", "a PDF document"),
])
def test_files_the_importer_refuses_are_refused_with_its_reasons(tmp_path, content, message):
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(MetricError, match=message):
        metrics(path, metric="nps", score="score")
