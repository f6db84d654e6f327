"""Recognising each tool's export layout, encodings and quoting, and refusing bad files with a clear sentence."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.helpers import damaged_parquet
from voxpop.imports.formats import ImportFileError, open_export


def write(folder: Path, name: str, rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",",
          line_end: str = "\n") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=line_end).writerows(rows)
    path = folder / name
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def workbook(folder: Path, name: str, rows: list[list[object]]) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    path = folder / name
    book.save(path)
    return path


QUALTRICS_HEAD = [
    ["StartDate", "EndDate", "ResponseId", "Q1", "Q2"],
    ["Start Date", "End Date", "Response ID", "How likely are you to recommend us?", "Why?"],
    ['{"ImportId":"startDate","timeZone":"America/Denver"}', '{"ImportId":"endDate","timeZone":"America/Denver"}',
     '{"ImportId":"_recordId"}', '{"ImportId":"QID1"}', '{"ImportId":"QID2_TEXT"}'],
]
QUALTRICS_ROW = ["2024-03-01 10:00:00", "2024-03-01 10:05:00", "R_1", "9", "Fast,\nfriendly"]


def test_qualtrics_three_header_rows_with_json_import_ids(tmp_path):
    export = open_export(write(tmp_path, "q.csv", [*QUALTRICS_HEAD, QUALTRICS_ROW]))
    assert export.format == "qualtrics" and export.header_rows == 3
    first = export.columns[0]
    assert (first.header, first.label, first.import_id, first.time_zone) == (
        "StartDate", "Start Date", "startDate", "America/Denver")
    assert export.columns[4].import_id == "QID2_TEXT"
    # The line break inside the quoted comment keeps the record whole; rows count header rows, from 1.
    assert list(export.rows()) == [(4, QUALTRICS_ROW)]


def test_qualtrics_2016_single_quoted_import_ids(tmp_path):
    head = [["ResponseID", "Q2_1"], ["ResponseID", "Check all-Squash"], ["{'ImportId': 'responseId'}",
                                                                       "{'ImportId': 'QID2-1'}"]]
    export = open_export(write(tmp_path, "insights.csv", [*head, ["R_1", "1"]]))
    assert export.format == "qualtrics"
    assert [column.import_id for column in export.columns] == ["responseId", "QID2-1"]


def test_qualtrics_utf16_tsv(tmp_path):
    path = write(tmp_path, "q.tsv", [*QUALTRICS_HEAD, ["2024-03-01 10:00:00", "2024-03-01 10:05:00", "R_1", "9", "gut"]],
                 encoding="utf-16", delimiter="\t")
    export = open_export(path)
    assert (export.format, export.encoding) == ("qualtrics", "utf-16")
    assert next(cells for _, cells in export.rows())[2:] == ["R_1", "9", "gut"]


def test_qualtrics_legacy_bom_and_trailing_commas(tmp_path):
    text = "\ufeffV1,V8,V9,Q1,\nResponseID,StartDate,EndDate,Question,\nR_1,2016-06-24 12:27:08,2016-06-24 12:27:08,3,\n"
    (path := tmp_path / "legacy.csv").write_text(text, encoding="utf-8")
    export = open_export(path)
    assert (export.format, export.encoding, export.header_rows) == ("qualtrics-legacy", "utf-8-sig", 2)
    assert [column.header for column in export.columns] == ["V1", "V8", "V9", "Q1"]
    assert any("dropped 1 unnamed column" in warning for warning in export.warnings)
    assert list(export.rows()) == [(3, ["R_1", "2016-06-24 12:27:08", "2016-06-24 12:27:08", "3"])]


def test_a_value_in_a_dropped_trailing_column_stops_the_import(tmp_path):
    text = "V1,V2,Q1,\nResponseID,ResponseSet,Q,\nR_1,Default,3,\nR_2,Default,4,lost?\n"
    (path := tmp_path / "legacy.csv").write_text(text, encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"row 4 has 4 cells but the header has 3 columns"):
        list(open_export(path).rows())


SURVEYMONKEY_HEAD = [
    ["Respondent ID", "Start Date", "End Date", "How satisfied are you?", "", "Which fruit?", ""],
    ["", "", "", "Response", "Is there anything else you would like to say about this?", "Apple", "Pear"],
]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_surveymonkey_two_header_rows_carry_the_question_to_its_further_columns(tmp_path, kind):
    rows = [*SURVEYMONKEY_HEAD, ["1", "07/31/2023 04:21:36 PM", "07/31/2023 04:29:08 PM", "4", "ok", "Apple", ""]]
    path = write(tmp_path, "sm.csv", rows) if kind == "csv" else workbook(tmp_path, "sm.xlsx", rows)
    export = open_export(path)
    assert export.format == "surveymonkey" and export.header_rows == 2
    comment, pear = export.columns[4], export.columns[6]
    assert (comment.header, comment.label, comment.sub_label) == (
        "", "How satisfied are you?", "Is there anything else you would like to say about this?")
    assert (pear.label, pear.sub_label) == ("Which fruit?", "Pear")
    [(row, cells)] = list(export.rows())
    assert row == 3 and cells[3] == "4" and cells[6] in ("", None)


def test_typeform_hash_column_and_repeated_headers(tmp_path):
    rows = [["#", "Which?", "Other", "Other", "Start Date (UTC)", "Submit Date (UTC)", "Network ID"],
            ["abc", "x", "", "y", "2016-03-29 21:21:23", "2016-03-29 21:23:43", "702979e085"]]
    export = open_export(write(tmp_path, "tf.csv", rows))
    assert export.format == "typeform"
    assert [column.header for column in export.columns][2:4] == ["Other", "Other"]


@pytest.mark.parametrize("kind", ["csv", "tsv", "xlsx"])
def test_google_forms_in_each_download_format(tmp_path, kind):
    rows = [["Timestamp", "Pick all that apply"], ["12/6/2018 12:41:54", "Excel, Python"]]
    if kind == "xlsx":
        path = workbook(tmp_path, "g.xlsx", rows)
    else:
        path = write(tmp_path, f"g.{kind}", rows, delimiter="\t" if kind == "tsv" else ",")
    export = open_export(path)
    assert export.format == "googleforms"
    assert list(export.rows()) == [(2, ["12/6/2018 12:41:54", "Excel, Python"])]


def test_google_sheets_tsv_quotes_nothing(tmp_path):
    # A comment that starts with a quote is literal text in Google Sheets' TSV download.
    text = 'Timestamp\tComment\r\n12/6/2018 12:41:54\t"Native" graphics\r\n12/6/2018 12:42:00\tok'
    (path := tmp_path / "g.tsv").write_text(text, encoding="utf-8")
    assert [cells[1] for _, cells in open_export(path).rows()] == ['"Native" graphics', "ok"]


def test_limesurvey_question_codes(tmp_path):
    rows = [["id", "submitdate", "lastpage", "startlanguage", "seed", "Q1", "Q2[SQ001]", "Q2[SQ002]"],
            ["1", "2024-01-05 10:00:00", "2", "en", "123", "A1", "Y", ""]]
    assert open_export(write(tmp_path, "lime.csv", rows)).format == "limesurvey"


def test_generic_csv_xlsx_and_parquet(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"id": ["a1", "a2"], "when": ["2024-01-01 10:00:00", "2024-01-02 11:00:00"],
                          "score": [9.0, 10.0]})
    frame.to_parquet(tmp_path / "f.parquet")
    parquet = open_export(tmp_path / "f.parquet")
    assert parquet.format == "csv" and parquet.encoding is None
    assert list(parquet.rows()) == [(2, ["a1", "2024-01-01 10:00:00", "9"]), (3, ["a2", "2024-01-02 11:00:00", "10"])]
    assert open_export(write(tmp_path, "f.csv", [["id", "score"], ["a1", "9"]])).format == "csv"


def test_a_damaged_parquet_page_stops_the_import_with_a_message(tmp_path):
    path = damaged_parquet(tmp_path / "f.parquet")  # a page in the middle; the footer still reads
    with pytest.raises(ImportFileError, match=r"^f\.parquet is not a readable Parquet file \([^\n]+\); write it again$"):
        list(open_export(path).rows())


def test_xlsx_numbers_and_datetimes_as_text(tmp_path):
    from datetime import datetime

    path = workbook(tmp_path, "g.xlsx", [["Timestamp", "Score", "Name"],
                                         [datetime(2019, 12, 13, 9, 50, 29, 878000), 10.0, None], [], []])
    assert list(open_export(path).rows()) == [(2, ["2019-12-13T09:50:29.878000", "10", None])]


def test_cp1252_is_read_with_a_warning(tmp_path):
    path = write(tmp_path, "w.csv", [["Timestamp", "Kommentar"], ["1/2/2024 10:00:00", "Grüße – danke"]],
                 encoding="cp1252")
    export = open_export(path)
    assert export.encoding == "cp1252"
    assert any("read as Windows-1252" in warning for warning in export.warnings)
    assert [cells[1] for _, cells in export.rows()] == ["Grüße – danke"]


def test_duplicate_and_empty_headers_are_kept_as_columns(tmp_path):
    export = open_export(write(tmp_path, "d.csv", [["id", "Other", "", "Other", "x"], ["1", "a", "", "b", "c"]]))
    assert [column.header for column in export.columns] == ["id", "Other", "", "Other", "x"]


def test_semicolon_file_is_read_by_its_delimiter_and_says_so(tmp_path):
    path = write(tmp_path, "semi.csv", [["Datum", "Bewertung", "Kommentar"], ["1.2.2024 10:00", "9", "gut, schnell"]],
                 delimiter=";")
    export = open_export(path)
    assert len(export.columns) == 3
    assert any("delimited by ';', not ','" in warning for warning in export.warnings)
    assert [cells for _, cells in export.rows()] == [["1.2.2024 10:00", "9", "gut, schnell"]]


def test_a_row_split_by_an_unquoted_delimiter_is_refused(tmp_path):
    (path := tmp_path / "bad.csv").write_text("id,comment\n1,fine\n2,fast, friendly\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"row 3 has 3 cells but the header has 2 columns; a value holding an "
                                              r"unquoted ','"):
        list(open_export(path).rows())


def test_truncated_file_ending_inside_a_quote(tmp_path):
    (path := tmp_path / "cut.csv").write_text('id,comment\n1,"fine"\n2,"it was cut of', encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"row 3 .*ends inside a quoted value, so it looks cut off"):
        list(open_export(path).rows())


def test_truncated_file_ending_in_a_short_row(tmp_path):
    (path := tmp_path / "cut.csv").write_text("id,a,b,c\n1,x,y,z\n2,x", encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"row 3: the last row is shorter than the header .* looks cut off"):
        list(open_export(path).rows())


def test_short_rows_that_end_with_a_line_break_are_padded(tmp_path):
    (path := tmp_path / "short.csv").write_text("id,a,b\n1,x\n\n2,x,y\n", encoding="utf-8")
    assert list(open_export(path).rows()) == [(2, ["1", "x", None]), (4, ["2", "x", "y"])]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "is empty"),
    (b"\r\n  \r\n", "is empty"),
    (b"id,score\x00\x01\x02\n", "holds binary data"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "old Excel .xls"),
    (b"PK\x03\x04" + bytes(100), "not a readable XLSX workbook"),
    (b"id,score\n", "has its header but no responses"),
])
def test_bad_files_get_a_precise_message(tmp_path, content, message):
    (path := tmp_path / "bad.csv").write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        open_export(path)


def test_a_missing_file_and_an_unknown_source(tmp_path):
    with pytest.raises(ImportFileError, match="does not exist"):
        open_export(tmp_path / "nope.csv")
    with pytest.raises(ImportFileError, match="unknown source 'spss'"):
        open_export(tmp_path / "nope.csv", source="spss")


def test_a_named_source_is_checked(tmp_path):
    path = write(tmp_path, "q.csv", [*QUALTRICS_HEAD, QUALTRICS_ROW])
    assert open_export(path, source="qualtrics").format == "qualtrics"
    with pytest.raises(ImportFileError, match="not laid out as a surveymonkey export .*looks like a qualtrics export"
                       ".*let voxpop detect the format") as failure:
        open_export(path, source="surveymonkey")
    assert failure.value.parameter == "source_format" and "--from" not in str(failure.value)
    generic = open_export(path, source="csv")
    assert generic.format == "csv" and generic.header_rows == 1
