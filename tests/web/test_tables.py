"""One CSV writer for every page's table: formula cells quoted (OWASP), None as empty, a download's headers."""

from __future__ import annotations

from voxpop.web.tables import csv_response, csv_text, safe_cell


def test_a_cell_a_spreadsheet_would_run_is_quoted():
    assert [safe_cell(text) for text in ("=SUM(A1)", "+1", "-2", "@x", "\tx", "\rx", "fine")] == [
        "'=SUM(A1)", "'+1", "'-2", "'@x", "'\tx", "'\rx", "fine"]
    assert safe_cell(-2) == -2 and safe_cell(None) is None  # numbers are numbers, not formulas
    assert safe_cell("a\x00b") == "ab"  # a character XML cannot hold


def test_a_table_as_csv_and_as_a_download():
    assert csv_text(["name", "n"], [["=cmd()", 3], ["a, b", None]]) == "name,n\n'=cmd(),3\n\"a, b\",\n"
    response = csv_response("shop results", ["a"], [[1]])
    assert response.media_type == "text/csv; charset=utf-8" and response.body == b"a\n1\n"
    assert response.headers["content-disposition"] == 'attachment; filename="shop-results.csv"'
