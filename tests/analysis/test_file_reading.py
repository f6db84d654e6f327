"""How the engine reads a file (issue 19): the parallel reader where the file allows it, else the careful one;
bad values found in the scan with their row; the Parquet copy kept for later commands; XLSX by calamine."""

import datetime
import gc
import os
import tempfile
import time
import warnings

import pandas as pd
import pytest

from tests.helpers import damaged_parquet
from voxpop.analysis import file_cache, files, sources
from voxpop.analysis.engine import fetch
from voxpop.metrics import MetricError, MetricNote, drivers, metrics


def settled(path, seconds_ago: float = 3600) -> None:
    """Date the file back, as an export written a while ago (copies are kept only of settled files)."""
    moment = time.time() - seconds_ago
    os.utime(path, (moment, moment))


def read(path, **options):
    told: list[str] = []
    table = sources.read_file(path, tell=told.append, verbose=True, **options)
    return table, told


def test_a_plain_file_is_read_in_parallel_and_one_with_quoted_line_breaks_and_ragged_rows_carefully(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("score,segment\n9,a\n7\n10,b\n")  # a short row: padded by the parallel reader too
    table, told = read(plain)
    assert "parallel CSV reader" in told[0]
    assert table.execute()[["score", "segment", sources.ROW]].fillna("").values.tolist() == [
        ["9", "a", 1], ["7", "", 2], ["10", "b", 3]]
    survey = tmp_path / "survey.csv"
    survey.write_text('score,comment,segment\n9,"slow,\nvery slow",a\n7\n10,"fine",b,extra\n')
    table, told = read(survey)
    assert "careful CSV reader (one thread)" in told[0] and "because the parallel reader refused it" in told[0]
    # DuckDB's reason is said after the line, as when the engine's own query meets the refusal.
    assert "refused it (CSV Error on Line: 2: The parallel scanner does not support null_padding" in told[0]
    frame = table.execute()
    assert frame["comment"].tolist()[0] == "slow,\nvery slow"
    assert frame[sources.ROW].tolist() == [1, 2, 3]
    assert frame["segment"].fillna("").tolist() == ["a", "", "b"]


def test_the_engine_reads_a_file_in_its_own_queries_and_meets_the_parallel_readers_refusal_there(tmp_path):
    # No first pass: the check's query is the first to read the whole file. When the parallel reader refuses it,
    # the query runs again on the careful reader, and the figures are those of the file's rows.
    survey = tmp_path / "survey.csv"
    survey.write_text('score,comment,segment\n9,"slow,\nvery slow", a \n7\n10,"fine",b,extra\n 3 ,,a\n6,,\t\n')
    told: list[str] = []
    rows = metrics(sources.Export(survey, tell=told.append, verbose=True), metric="nps", score="score",
                   by=["segment"], min_base=1)
    assert told[0] == (f"{survey}: read by DuckDB's parallel CSV reader in each query (no first pass), every "
                       "column as text")
    assert told[1].startswith(f"{survey}: read again by DuckDB's careful CSV reader (one thread), every column as "
                              "text, because the parallel reader refused it (CSV Error on Line: ")
    # " a " and "a" are one group, and a blank segment (none, or a tab) is a missing one, as the rows were tidied.
    assert [(row["segment"], row["n"], row["promoters"], row["detractors"]) for row in rows] == [
        (None, 2, 0, 1), ("a", 2, 1, 1), ("b", 1, 1, 0)]
    unreadable = tmp_path / "unreadable.csv"
    unreadable.write_text('score,comment\n9,"never closed\n10,fine\n')
    with pytest.raises(MetricError, match=rf"{unreadable} cannot be read: Invalid Input Error: Error when sniffing"):
        metrics(unreadable, metric="nps", score="score")
    # A line too long far below the rows DuckDB sniffs: met in the check's query, by both readers in turn.
    unreadable.write_text("score,comment\n" + "9,fine\n" * 50_000 + "9," + "x" * 3_000_000 + "\n10,fine\n")
    told.clear()
    with pytest.raises(MetricError, match=rf"{unreadable} cannot be read: .*CSV Error on Line: 50002: Maximum line"):
        metrics(sources.Export(unreadable, tell=told.append, verbose=True), metric="nps", score="score")
    assert "careful CSV reader" in told[-1]
    header = tmp_path / "header.csv"
    header.write_text("score,segment\n")
    with pytest.raises(MetricError, match="has a header but no data rows"):
        metrics(header, metric="nps", score="score")


def test_a_parquet_file_is_read_in_the_engines_queries_as_text(tmp_path):
    path = tmp_path / "export.parquet"
    pd.DataFrame({"score": [9, 3, None, 10], "segment": ["a", "a ", "b", None]}).to_parquet(path)
    told: list[str] = []
    rows = metrics(sources.Export(path, tell=told.append, verbose=True), metric="nps", score="score", by=["segment"],
                   min_base=1)
    assert told == [f"{path}: read as Parquet by each query (no first pass), every column as text"]
    assert [(row["segment"], row["n"]) for row in rows] == [(None, 1), ("a", 2), ("b", 0)]
    pd.DataFrame({"score": [9, 11]}).to_parquet(path)
    with pytest.raises(MetricError, match=r"the value '11' in data row 2, outside the 0–10 NPS scale"):
        metrics(path, metric="nps", score="score")


def test_parallel_and_careful_readers_number_the_rows_alike(tmp_path):
    # Large enough for DuckDB to split the file between threads; a bad value far in names its own row.
    path = tmp_path / "big.csv"
    rows = [f"{i % 11},{'abc'[i % 3]}\n" for i in range(300_000)]
    rows[254_321] = "11,b\n"
    rows[280_000] = "N/A,c\n"
    path.write_text("score,segment\n" + "".join(rows))
    with pytest.raises(MetricError, match=r"the value '11' in data row 254322, outside the 0–10 NPS scale \(2 such "
                                          r"values in all\)"):
        metrics(path, metric="nps", score="score")
    careful = tmp_path / "careful.csv"
    careful.write_text('score,segment\n"1\n",a\n' + "".join(rows))  # a quoted line break: the careful reader
    with pytest.raises(MetricError, match=r"the value '11' in data row 254323,"):
        metrics(careful, metric="nps", score="score")


def test_a_bad_time_and_a_non_number_are_found_with_their_row(tmp_path):
    path = tmp_path / "export.csv"
    good = "".join(f"{i % 11},2024-01-{1 + i % 28:02d},{i % 7 + 1}\n" for i in range(5000))
    path.write_text(f"score,when,ease\n{good}3,2024-13-45,2\n4,2024-01-02,x\n")
    with pytest.raises(MetricError, match=r"'2024-13-45' in data row 5001, which is not a time"):
        metrics(path, metric="nps", score="score", period="month", time="when")
    with pytest.raises(MetricError, match=r"column 'ease' has the value 'x' in data row 5002, which is not a number"):
        drivers(path, outcome="score", drivers=["ease"])


def test_a_kept_copy_is_used_until_the_file_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(file_cache, "MIN_BYTES", 0)
    cache = tmp_path / "cache"
    path = tmp_path / "export.csv"
    path.write_bytes("score;shop\n9;Köln\n3;Süd\n".encode("cp1252"))
    settled(path)
    with pytest.warns(UserWarning, match="read as Windows-1252"):
        table, told = read(path, cache=cache)
    assert any("kept a Parquet copy" in line for line in told)
    assert sorted(table.execute()["shop"]) == ["Köln", "Süd"]
    [copy] = cache.glob("*.parquet")
    # Used by the next command, with the notes the file's reading gave.
    with pytest.warns(UserWarning, match="read as Windows-1252"):
        table, told = read(path, cache=cache)
    assert told == [f"{path}: read the Parquet copy an earlier command kept in {cache} (the file has not changed "
                    "since); --no-cache reads the file itself"]
    assert table.execute()[["score", "shop", sources.ROW]].values.tolist() == [["9", "Köln", 1], ["3", "Süd", 2]]
    # The file changes (same size, another time): the copy is not used, and the new one replaces it.
    path.write_bytes("score;shop\n7;Köln\n3;Süd\n".encode("cp1252"))
    settled(path, 60)
    with pytest.warns(UserWarning):
        table, told = read(path, cache=cache)
    assert not any("read the Parquet copy" in line for line in told)
    assert table.execute()["score"].tolist() == ["7", "3"]
    assert [found.name for found in cache.glob("*.parquet")] != [copy.name] and len(list(cache.glob("*.parquet"))) == 1
    # Without a cache the file itself is read, and nothing is kept.
    with pytest.warns(UserWarning):
        table, told = read(path)
    assert told == [f"{path}: read by DuckDB's parallel CSV reader (copied to UTF-8 first), every column as text",
                    f"{path}: read once into a temporary Parquet file for this command"]
    assert table.execute()["score"].tolist() == ["7", "3"]


def test_no_copy_of_a_file_just_written_nor_of_an_empty_one_and_the_folder_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(file_cache, "MIN_BYTES", 0)
    monkeypatch.setattr(file_cache, "IN_USE_SECONDS", 0)
    cache = tmp_path / "cache"
    fresh = tmp_path / "fresh.csv"
    fresh.write_text("score\n9\n")
    read(fresh, cache=cache)
    assert not list(cache.glob("*.parquet"))  # it may still be being written, within one tick of the clock
    empty = tmp_path / "empty.csv"
    empty.write_text("score\n")
    settled(empty)
    with pytest.raises(MetricError, match="has a header but no data rows"):
        read(empty, cache=cache)
    assert not list(cache.glob("*.parquet")) and not list(cache.glob(".partial-*"))
    for i in range(file_cache.KEPT + 2):
        path = tmp_path / f"day-{i}.csv"
        path.write_text(f"score\n{i % 11}\n")
        settled(path)
        read(path, cache=cache)
    assert len(list(cache.glob("*.parquet"))) == file_cache.KEPT


def test_calamine_reads_a_workbook_as_openpyxl_does(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["score", "when", "ratio", "flag", "text", "formula"])
    sheet.append([9, datetime.datetime(2024, 1, 2, 10, 0, 0, 250000), 1.5, True, " 7 ", "=1/0"])
    sheet.append([3, datetime.date(2024, 2, 3), 2.0, False, "", "=2+2"])
    sheet.append([None] * 6)
    sheet.append([10, datetime.time(10, 30), 1 / 3, None, "Straße", 12345678901234567])
    workbook.create_sheet("other")
    path = tmp_path / "export.xlsx"
    workbook.save(path)
    by_openpyxl = pd.read_excel(path, dtype=str, engine="openpyxl")
    by_calamine = pd.read_excel(path, dtype=str, engine="calamine")
    assert by_calamine.equals(by_openpyxl)
    sniffed = files.sniff(path)
    assert sniffed.warnings == ["export.xlsx has 2 sheets; only the first, 'Sheet', was read"]
    with pytest.warns(UserWarning):
        table, told = read(path)
    assert told == [f"{path}: read by calamine, every column as text"]
    assert table.execute()[["score", sources.ROW]].values.tolist() == [["9", 1], ["3", 2], ["10", 3]]


def test_a_data_directory_that_cannot_be_written_reads_the_file_itself(tmp_path, monkeypatch):
    monkeypatch.setattr(file_cache, "MIN_BYTES", 0)
    path = tmp_path / "export.csv"
    path.write_text("score\n9\n3\n")
    settled(path)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    table, told = read(path, cache=blocked)
    assert table.count().execute() == 2
    assert any("no Parquet copy is kept" in line for line in told)


def test_times_are_judged_by_their_first_distinct_values_beyond_the_files_head(tmp_path, monkeypatch):
    # Only the 30th row shows that the day comes first. The file's head (made 10 rows here) has fewer distinct
    # values than the importer's rule looks at, so the whole column is grouped: the same format as the importer.
    monkeypatch.setattr(sources, "HEAD_ROWS", 10)
    days = [f"{' ' if i % 2 else ''}0{1 + i % 9}/0{1 + i % 3}/2024{chr(9) if i % 5 == 0 else ''}" for i in range(29)]
    path = tmp_path / "export.csv"
    path.write_text("score,when\n" + "".join(f"{i % 11},{day}\n" for i, day in enumerate(days)) + "9,25/01/2024\n"
                    + "".join(f"{i % 11},{day}\n" for i, day in enumerate(days)))
    rows = metrics(path, metric="nps", score="score", period="month", time="when", min_base=1)
    assert sum(row["n"] for row in rows) == 59
    assert [row["period"] for row in rows] == ["2024-01-01", "2024-02-01", "2024-03-01"]  # 01/02 is 1 February
    monkeypatch.setattr(sources, "HEAD_ROWS", 100)  # the head holds the whole file: the same reading
    assert metrics(path, metric="nps", score="score", period="month", time="when", min_base=1) == rows


def test_times_judged_from_the_head_are_checked_to_the_end_of_the_file(tmp_path, monkeypatch):
    # Every value is in the head: judged from it, with no scan of its own; a time that does not read further
    # down is still found with its row, and an ambiguous column's note is given once.
    monkeypatch.setattr(sources, "HEAD_ROWS", 10)
    days = [f"0{1 + i % 3}/0{1 + i % 2}/2024" for i in range(6)]
    path = tmp_path / "export.csv"
    path.write_text("score,when\n" + "".join(f"{i % 11},{days[i % 6]}\n" for i in range(40)))
    with pytest.warns(MetricNote, match="read month first") as noted:
        rows = metrics(path, metric="nps", score="score", period="month", time="when", min_base=1)
    assert [(row["period"], row["n"]) for row in rows] == [("2024-01-01", 14), ("2024-02-01", 13), ("2024-03-01", 13)]
    assert sum("read month first" in str(note.message) for note in noted) == 1
    # 24 values in the head, then one further down that is no day (02/30): the whole column is judged again (the
    # rule allows 1 in 20 that do not read), and the row is named.
    monkeypatch.setattr(sources, "HEAD_ROWS", 30)
    days = [f"{1 + i % 12:02d}/{13 + i // 12}/2024" for i in range(24)]
    path.write_text("score,when\n" + "".join(f"{i % 11},{days[i % 24]}\n" for i in range(60)) + "3,02/30/2024\n")
    with pytest.raises(MetricError, match=r"'02/30/2024' in data row 61, which is not a time"):
        metrics(path, metric="nps", score="score", period="month", time="when")


def test_values_are_checked_in_every_row_also_those_a_filter_leaves_out(tmp_path, monkeypatch):
    # The checks are counted with the statistics; the filters' verdict is a group key there, so a bad score in a
    # row the filter leaves out still stops the run, and the error names the file's first refused row.
    path = tmp_path / "export.csv"
    path.write_text("score,segment,when\n9,a,01/02/2024\n11,b,01/02/2024\n7,a,01/02/2024\n")
    with pytest.raises(MetricError, match=r"the value '11' in data row 2, outside the 0–10 NPS scale"):
        metrics(path, metric="nps", score="score", filters={"segment": ["a"]}, min_base=1)
    # The times too: a value beyond the head (2 rows here) in a row left out still shows that the day comes first.
    monkeypatch.setattr(sources, "HEAD_ROWS", 2)
    path.write_text("score,segment,when\n9,a,01/02/2024\n7,a,01/02/2024\n10,b,13/02/2024\n")
    [row] = metrics(path, metric="nps", score="score", filters={"segment": ["a"]}, period="month", time="when",
                    min_base=1)
    assert (row["period"], row["n"], row["promoters"]) == ("2024-02-01", 2, 1)  # read day first, for 13/02


def test_key_drivers_check_every_row_in_the_query_that_sums_them(tmp_path):
    # The check rides along the cross-products' query, which sums over the complete rows only: a refused value
    # in a row with a blank elsewhere is still found.
    path = tmp_path / "export.csv"
    path.write_text("score,ease,speed\n9,3,4\n,N/A,2\n7,4,4\n5,2,1\n8,5,3\n")
    with pytest.raises(MetricError, match=r"column 'ease' has the value 'N/A' in data row 2, which is not a number"):
        drivers(path, outcome="score", drivers=["ease", "speed"])
    path.write_text("score,ease,speed\n9,3,4\n,,2\n7,4,4\n5,2,1\n8,5,3\n")
    assert drivers(path, outcome="score", drivers=["ease", "speed"])["n"] == 4


def test_a_second_judgement_of_the_times_reads_the_table_once_and_says_each_note_once(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "HEAD_ROWS", 5)
    path = tmp_path / "export.csv"  # no 0 among 40 answers (a note), and a day-first date below the head
    path.write_text("score,when\n" + "".join(f"{1 + i % 10},0{1 + i % 3}/01/2024\n" for i in range(40))
                    + "9,13/01/2024\n")
    told: list[str] = []
    with warnings.catch_warnings(record=True) as noted:
        warnings.simplefilter("always")
        rows = metrics(sources.Export(path, tell=told.append, verbose=True), metric="nps", score="score",
                       period="month", time="when", min_base=1)
    assert [row["period"] for row in rows] == ["2024-01-01"]  # 01/01, 02/01, 03/01 and 13/01: all in January
    said = [str(note.message) for note in noted if issubclass(note.category, MetricNote)]
    assert len(said) == 1 and "No answer in 'score' is 0" in said[0]
    assert len(told) == 1  # the file was read once: one "read by DuckDB's parallel CSV reader"


def test_a_file_read_lazily_leaves_nothing_behind(tmp_path, monkeypatch):
    from voxpop.analysis import engine

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # this test's own temporary folder
    path = tmp_path / "export.csv"
    path.write_bytes("score,name\n9,Zoë\n".encode("cp1252"))  # copied to UTF-8 for DuckDB, into a temporary folder
    before = len(engine._READ_AGAIN)
    for _ in range(3):
        metrics(path, metric="nps", score="score", min_base=1)
    gc.collect()
    assert len(engine._READ_AGAIN) == before
    assert not list(scratch.iterdir())


def test_a_copy_too_big_for_the_memory_limit_is_written_without_it(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "COPY_MEMORY_MB", 1)
    monkeypatch.setattr(sources, "COPY_MEMORY_MB_PER_THREAD", 0)
    path = tmp_path / "export.csv"
    path.write_text("score,comment\n" + "".join(f"{i % 11},comment number {i} of many\n" for i in range(60_000)))
    settled(path)
    table, told = read(path, cache=tmp_path / "cache")
    assert any("kept a Parquet copy" in line for line in told)
    assert fetch(table.aggregate(n=table.count(), last=table[sources.ROW].max())) == [{"n": 60_000, "last": 60_000}]


def test_a_damaged_parquet_file_met_in_a_query_is_a_clear_error(tmp_path):
    path = damaged_parquet(tmp_path / "export.parquet")  # met in the count's query
    with pytest.raises(MetricError, match=rf"{path} cannot be read: "):
        metrics(path, metric="nps", score="score", by=["segment"])


def test_a_damaged_parquet_file_read_whole_is_a_clear_error(tmp_path):
    # The readers that take the whole table (transactions, raking weights) counted its rows from the footer
    # alone, and met the damage as a traceback in their own queries.
    path = damaged_parquet(tmp_path / "export.parquet")
    with pytest.raises(MetricError, match=rf"{path} cannot be read: "):
        sources.read_file(path)
