"""Rows as validated responses: scores on their scale, times in UTC, ids as text, and errors that name the row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.imports.test_formats import QUALTRICS_HEAD, write
from voxpop.imports.formats import ImportFileError, open_export
from voxpop.imports.mapping import apply_overrides, detect_mapping
from voxpop.imports.rows import ParsedResponse, RowError, reader


def parsed(path, **options) -> list[ParsedResponse | RowError]:
    export = open_export(path)
    read = reader(detect_mapping(export, **options))
    return [read(row, cells) for row, cells in export.rows()]


def nps_file(tmp_path, scores: list[str]):
    rows = [[f"2024-01-{i % 28 + 1:02d} 10:00:00", f"r{i}", score] for i, score in enumerate(scores)]
    return write(tmp_path, "nps.csv", [["Timestamp", "Response ID", "How likely are you to recommend us? (0-10)"],
                                       *rows])


def test_a_score_out_of_range_names_the_row_column_value_and_scale(tmp_path):
    results = parsed(nps_file(tmp_path, ["10", "0", "", "11", " 7 ", "N/A"]))
    assert [r.answers.get("how_likely_are_you_to_recommend_us_0_10") for r in results[:3]] == [10, 0, None]
    assert str(results[3]) == ("row 5, column 'How likely are you to recommend us? (0-10)': the value '11' is outside "
                               "the 0–10 NPS scale; expected a whole number from 0 to 10 or a blank")
    assert results[4].answers["how_likely_are_you_to_recommend_us_0_10"] == 7
    assert isinstance(results[5], RowError) and "is not a whole number on the 0–10 NPS scale" in str(results[5])


def test_qualtrics_minus_99_is_seen_but_not_answered_and_times_follow_the_import_id_zone(tmp_path):
    rows = [["2024-03-01 10:00:00", "2024-03-01 10:05:00", "R_1", "9", "ok"],
            ["2024-07-01 10:00:00", "2024-07-01 10:05:00", "R_2", "-99", "-99"]]
    first, second = parsed(write(tmp_path, "q.csv", [*QUALTRICS_HEAD, *rows]))
    assert first.answers == {"q1": 9, "q2": "ok"}
    assert second.answers == {}
    # America/Denver, from the ImportId row: MST (−7) in March, MDT (−6) in July.
    assert first.submitted_at == datetime(2024, 3, 1, 17, 5, tzinfo=UTC)
    assert second.submitted_at == datetime(2024, 7, 1, 16, 5, tzinfo=UTC)
    assert second.started_at == datetime(2024, 7, 1, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-03-10 09:08:07", datetime(2024, 3, 10, 8, 8, 7, tzinfo=UTC)),
    ("2024-03-10T09:08:07Z", datetime(2024, 3, 10, 9, 8, 7, tzinfo=UTC)),
    ("2024-03-10T09:08:07+02:00", datetime(2024, 3, 10, 7, 8, 7, tzinfo=UTC)),
    ("3/10/2024 9:08:07", datetime(2024, 3, 10, 8, 8, 7, tzinfo=UTC)),
    ("03/10/2024 09:08:07 PM", datetime(2024, 3, 10, 20, 8, 7, tzinfo=UTC)),
    ("03/10/2024 12:08:07 AM", datetime(2024, 3, 9, 23, 8, 7, tzinfo=UTC)),
    ("2019-12-13T09:50:29.878000", datetime(2019, 12, 13, 8, 50, 29, 878000, tzinfo=UTC)),
])
def test_the_time_formats_of_every_tool_in_the_given_zone(tmp_path, text, expected):
    path = write(tmp_path, "t.csv", [["Timestamp", "Comment"], [text, "x"]])
    [response] = parsed(path, timezone="Europe/Berlin")  # naive times are Berlin time (+1 in March)
    assert response.submitted_at == expected


def test_typeform_utc_columns_ignore_the_timezone_option(tmp_path):
    rows = [["#", "Which?", "Start Date (UTC)", "Submit Date (UTC)", "Network ID"],
            ["abc", "x", "2016-03-29 21:21:23", "2016-03-29 21:23:43", "71e9730000"]]
    [response] = parsed(write(tmp_path, "tf.csv", rows), timezone="America/New_York")
    assert response.submitted_at == datetime(2016, 3, 29, 21, 23, 43, tzinfo=UTC)
    assert response.source_id == "abc" and response.attributes == {"network_id": "71e9730000"}


def test_day_first_dates_are_recognised_when_a_day_passes_12(tmp_path):
    path = write(tmp_path, "d.csv", [["Timestamp", "x"], ["05/03/2024 10:00:00", "a"], ["25/03/2024 10:00:00", "b"]])
    assert [r.submitted_at.day for r in parsed(path)] == [5, 25]


def test_a_blank_or_unreadable_time_is_a_row_error(tmp_path):
    good = [[f"2024-01-{day:02d} 10:00:00", "a"] for day in range(1, 21)]
    path = write(tmp_path, "t.csv", [["Timestamp", "x"], *good, ["", "b"], ["soon", "c"]])
    *ok, blank, unreadable = parsed(path)
    assert all(isinstance(response, ParsedResponse) for response in ok)
    assert str(blank).startswith("row 22, column 'Timestamp': the value '' is blank; expected a time like")
    assert "is not a time in the format ISO 8601" in str(unreadable)


def test_without_a_response_id_the_row_hash_is_stable_and_ignores_surrounding_spaces(tmp_path):
    a = parsed(write(tmp_path, "a.csv", [["Timestamp", "Comment"], ["2024-01-01 10:00:00", "fine"]]))[0]
    b = parsed(write(tmp_path, "b.csv", [["Timestamp", "Comment"], ["2024-01-01 10:00:00", " fine "]]))[0]
    c = parsed(write(tmp_path, "c.csv", [["Timestamp", "Comment"], ["2024-01-01 10:00:00", "good"]]))[0]
    assert a.source_id == b.source_id != c.source_id and len(a.source_id) == 64


def test_a_blank_response_id_is_a_row_error(tmp_path):
    results = parsed(write(tmp_path, "f.csv", [["Timestamp", "Response ID", "x"], ["2024-01-01 10:00:00", "", "a"]]))
    assert "is blank; expected the response's id" in str(results[0])


def test_choices_yes_no_and_customer_fields(tmp_path):
    rows = [["2024-01-01 10:00:00", ["Agree", "Disgree"][i % 2], str(i % 2), f"c{i}@example.com", "web"]
            for i in range(6)]
    path = write(tmp_path, "f.csv", [["Timestamp", "Statement", "Did you buy?", "Email", "Channel"], *rows])
    first = parsed(path)[1]
    assert first.answers == {"statement": "Disgree", "did_you_buy": "yes"}
    assert first.customer == {"email": "c1@example.com"} and first.attributes == {"channel": "web"}


def test_a_value_outside_the_mapped_options_is_a_row_error(tmp_path):
    path = write(tmp_path, "f.csv", [["Timestamp", "Plan"], *[["2024-01-01 10:00:00", "Pro"]] * 3,
                                     ["2024-01-01 10:00:00", "Gold"]])
    export = open_export(path)
    (tmp_path / "m.yaml").write_text("columns:\n  Plan: {role: choice, options: [Pro, Basic]}\n", encoding="utf-8")
    from voxpop.imports.mapping import load_overrides

    mapping = apply_overrides(detect_mapping(export), load_overrides(tmp_path / "m.yaml"), export)
    results = [reader(mapping)(row, cells) for row, cells in export.rows()]
    assert str(results[-1]) == ("row 5, column 'Plan': the value 'Gold' is not one of the question's options; "
                                "expected one of 'Pro', 'Basic' or a blank")


def test_multi_selects_from_option_columns_and_from_joined_cells(tmp_path):
    rows = [["a", "x", "", "2016-03-29 21:21:23", "2016-03-29 21:23:43"],
            ["b", "x", "y", "2016-03-29 21:21:23", "2016-03-29 21:23:43"]]
    path = write(tmp_path, "tf.csv", [["#", "x", "y", "Start Date (UTC)", "Submit Date (UTC)"], *rows])
    assert [r.answers for r in parsed(path)] == [{"x_to_y": ["x"]}, {"x_to_y": ["x", "y"]}]


def test_a_mapping_without_a_submit_time_cannot_read_rows(tmp_path):
    export = open_export(write(tmp_path, "f.csv", [["Name", "Comment"], ["a", "b"]]))
    with pytest.raises(ImportFileError, match="no column with the submit time"):
        reader(detect_mapping(export))
