"""The engine reads files as the importer sniffs them: encodings, delimiters, and times by the same rules."""

import gc
import tempfile
from pathlib import Path

import pytest

from voxpop.analysis import files, sources
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


QUALTRICS_HEADER = ('StartDate,Q1,Q2_TEXT\n'
                    'Start Date,"How likely are you\nto recommend us?",Why?\n'
                    '"{""ImportId"":""startDate"",""timeZone"":""Europe/Berlin""}","{""ImportId"":""QID1""}",'
                    '"{""ImportId"":""QID2_TEXT""}"\n')


def test_a_qualtrics_export_is_read_without_the_header_rows_under_its_column_names(tmp_path):
    path = tmp_path / "qualtrics.csv"
    path.write_text(QUALTRICS_HEADER + "2026-01-02 10:00:00,10,great\n2026-01-03 10:00:00,3,\"slow,\nvery slow\"\n"
                    "2026-01-04 10:00:00,9,\n")
    assert files.sniff(path).extra_header_rows == 2
    with pytest.warns(MetricNote, match="the 2 header rows Qualtrics adds under the column names"):
        [row] = metrics(path, metric="nps", score="Q1")
    assert (row["n"], row["promoters"], row["detractors"]) == (3, 2, 1)
    # Data rows are counted from the first response, as in a file without Qualtrics' extra rows.
    path.write_text(QUALTRICS_HEADER + "2026-01-02 10:00:00,10,\n2026-01-03 10:00:00,-99,\n")
    with pytest.raises(MetricError, match=r"the value '-99' in data row 2,"):
        metrics(path, metric="nps", score="Q1")
    # The single-quoted ImportIds of 2016 and a UTF-16 TSV are Qualtrics exports too.
    tsv = tmp_path / "qualtrics.tsv"
    tsv.write_text("Q1\tQ2\nHow likely?\tWhy?\n{'ImportId': 'QID1'}\t{'ImportId': 'QID2'}\n7\tok\n", encoding="utf-16")
    assert files.sniff(tsv).extra_header_rows == 2
    with pytest.warns(MetricNote):
        assert sources.read_file(tsv).execute()[["Q1", sources.ROW]].values.tolist() == [["7", 1]]


def test_a_legacy_qualtrics_export_skips_its_one_row_of_question_texts(tmp_path):
    path = tmp_path / "legacy.csv"
    path.write_bytes("\ufeffV1,V2,Q1,\nResponseID,ResponseSet,How likely are you to recommend us?,\n"
                     "R_1,Default,9,\nR_2,Default,6,\n".encode())
    assert files.sniff(path).extra_header_rows == 1
    with pytest.warns(MetricNote, match="the header row Qualtrics adds under the column names .* was skipped"):
        table = sources.read_file(path)
    assert table.execute()[["V1", sources.ROW]].values.tolist() == [["R_1", 1], ["R_2", 2]]


def test_a_qualtrics_workbook_and_files_that_only_look_alike(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    for row in [["Q1"], ["How likely?"], ['{"ImportId":"QID1"}'], [8], [10]]:
        workbook.active.append(row)
    workbook.save(tmp_path / "qualtrics.xlsx")
    with pytest.warns(MetricNote, match="header rows Qualtrics adds"):
        assert metrics(tmp_path / "qualtrics.xlsx", metric="nps", score="Q1")[0]["n"] == 2
    # A header beginning V1 without a V2 after it, and ImportIds in too few cells, are data.
    plain = tmp_path / "plain.csv"
    plain.write_text('V1,score,shop\nfirst,9,A\n"{""ImportId"":""x""}",10,B\n')
    assert files.sniff(plain).extra_header_rows == 0
    assert sources.read_file(plain).count().execute() == 2
    folder = tmp_path / "daily"
    folder.mkdir()
    (folder / "1.csv").write_text(QUALTRICS_HEADER + "2026-01-02 10:00:00,10,\n")
    (folder / "2.csv").write_text(QUALTRICS_HEADER + "2026-01-03 10:00:00,7,\n")
    with pytest.raises(MetricError, match="in a single file only; give the files one at a time"):
        sources.read_file(folder)
