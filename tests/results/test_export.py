"""Response exports: each format read back with its own reader, the filter applied, chunked reads, roles and
refusals, and customer text that a spreadsheet would take for a formula."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text

from tests.helpers import apply_survey, login, make_user
from voxpop.collection.filters import ResponseFilter, parse_response_filter
from voxpop.collection.service import version_questions
from voxpop.collection.writer import insert_response
from voxpop.results import export
from voxpop.surveys.models import Survey

SURVEY = """
key: post-purchase
title: After your order
status: live
attributes: [segment, channel]
questions:
  - key: nps
    kind: nps
    text: How likely are you to recommend us?
  - key: bought
    kind: multiple_choice
    text: What did you buy?
    other: true
    options:
      - {value: boots, label: Boots}
      - {value: tents, label: Tents}
  - key: delivery
    kind: single_choice
    text: How was it delivered?
    options:
      - {value: post, label: By post}
      - {value: pickup, label: Picked up}
  - key: why
    kind: text
    text: Why?
"""
NASTY = '=cmd|\' /C calc\'!A0, "quoted"\nsecond line'


def store(db, rows: list[tuple[dict, dict, datetime]]) -> None:
    """Responses with their answers and attributes, submitted at the given moments."""
    with db.read() as db_session:
        survey = db_session.scalar(select(Survey).where(Survey.key == "post-purchase"))
        if survey is None:
            apply_survey(db, SURVEY)
            survey = db_session.scalar(select(Survey).where(Survey.key == "post-purchase"))
        version_id, survey_id = survey.current_version.id, survey.id
        questions = version_questions(db_session=db_session, version_id=version_id)
    for answers, attributes, moment in rows:
        with db.write_connection() as connection:
            stored = insert_response(db_session=connection, survey_id=survey_id, version_id=version_id,
                                     questions=questions, answers=answers, language="en", channel="web",
                                     attributes=attributes)
            connection.execute(text("UPDATE responses SET submitted_at = :moment WHERE public_id = :id"),
                               {"moment": moment if not db.is_sqlite else moment.replace(tzinfo=None),
                                "id": stored.public_id})


def sample(db) -> None:
    store(db, [
        ({"nps": 2, "bought": ["boots", "other"], "bought.other": "socks", "why": NASTY, "delivery": "post"},
         {"segment": "SMB", "channel": "shop"}, datetime(2026, 7, 2, 23, 30, tzinfo=timezone.utc)),
        ({"nps": 10, "bought": ["tents"], "delivery": "pickup"}, {"segment": "Enterprise"},
         datetime(2026, 8, 15, 9, tzinfo=timezone.utc)),
        ({"nps": 8}, {}, datetime(2026, 10, 1, 9, tzinfo=timezone.utc)),
    ])


def layout_of(db, zone: str = "Europe/Berlin") -> export.ExportLayout:
    with db.read_connection() as connection:
        return export.export_layout(connection, survey_key="post-purchase", zone=zone)


def rows_of(db, layout, response_filter=ResponseFilter(), chunk_size=export.CHUNK_SIZE) -> list[list]:
    with db.read_connection() as connection:
        return list(export.response_chunks(connection, layout, response_filter, chunk_size=chunk_size))


def test_the_layout_has_a_column_per_attribute_question_and_option(db):
    sample(db)
    layout = layout_of(db)
    keys = [column.key for column in layout.columns]
    assert keys == ["response_id", "submitted_at", "language", "channel", "version", "customer", "attribute__channel",
                    "segment", "nps", "bought__boots", "bought__tents", "bought__other", "delivery", "why"]
    columns = {column.key: column for column in layout.columns}
    assert columns["nps"].label == "How likely are you to recommend us?"
    assert dict(columns["nps"].value_labels) == {0: "Not at all likely", 10: "Extremely likely"}
    assert columns["bought__boots"].label == "What did you buy? — Boots" and columns["bought__boots"].type == "flag"
    assert dict(columns["delivery"].value_labels) == {"post": "By post", "pickup": "Picked up"}
    assert columns["submitted_at"].label == "Submitted at (Europe/Berlin)"


def test_rows_are_read_in_chunks_and_pivoted(db):
    sample(db)
    store(db, [({"nps": 5}, {}, datetime(2026, 10, 2, tzinfo=timezone.utc)) for _ in range(4)])
    layout = layout_of(db)
    chunks = rows_of(db, layout, chunk_size=2)
    assert [len(chunk) for chunk in chunks] == [2, 2, 2, 1]
    rows = [dict(zip([column.key for column in layout.columns], row)) for chunk in chunks for row in chunk]
    first = rows[0]
    assert first["submitted_at"].isoformat() == "2026-07-03T01:30:00+02:00"  # the workspace's zone
    assert (first["nps"], first["bought__boots"], first["bought__tents"], first["bought__other"]) == (2, 1, 0, "socks")
    assert (first["segment"], first["attribute__channel"], first["channel"], first["delivery"]) == \
        ("SMB", "shop", "web", "post")
    assert first["why"] == NASTY and first["version"] == 1
    assert rows[2]["bought__boots"] is None  # not answered is not "not chosen"
    assert len({row["response_id"] for row in rows}) == 7


def test_the_filter_is_applied(db):
    sample(db)
    layout = layout_of(db)
    response_filter = parse_response_filter(today=datetime(2026, 10, 5).date(), since="2026-07-01",
                                            until="2026-09-30", attribute=["segment=SMB"], answer=["nps:detractors"])
    rows = [row for chunk in rows_of(db, layout, response_filter) for row in chunk]
    assert len(rows) == 1 and rows[0][layout.columns.index(next(c for c in layout.columns if c.key == "nps"))] == 2
    with db.read_connection() as connection:
        assert export.count_responses(connection, layout, response_filter) == 1


def test_csv_quotes_customer_text_and_defuses_formulas(db):
    sample(db)
    layout = layout_of(db)
    body = "".join(export.csv_chunks(layout, iter(rows_of(db, layout))))
    table = list(csv.DictReader(io.StringIO(body)))
    assert len(table) == 3
    assert table[0]["why"] == "'" + NASTY  # OWASP: a leading = is quoted, the rest kept as written
    assert table[1]["bought__tents"] == "1" and table[1]["why"] == ""


@pytest.mark.parametrize("file_format", ["xlsx", "parquet", "sav", "csv"])
def test_each_format_reads_back(db, tmp_path, file_format):
    sample(db)
    layout = layout_of(db)
    path = tmp_path / f"out.{file_format}"
    with db.read_connection() as connection:
        written = export.write_file(layout, export.response_chunks(connection, layout, ResponseFilter(), chunk_size=2),
                                    path, file_format=file_format, total=3)
    assert written == 3
    if file_format == "xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        rows = list(book["Responses"].values)
        assert rows[0][:2] == ("response_id", "submitted_at") and len(rows) == 4
        header = rows[0]
        assert rows[1][header.index("why")] == "'" + NASTY and rows[1][header.index("nps")] == 2
        labels = {row[0]: row[1:] for row in book["Questions"].values}
        assert labels["nps"] == ("How likely are you to recommend us?", "0 = Not at all likely; 10 = Extremely likely")
    elif file_format == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        assert table.num_rows == 3 and table.column("nps").to_pylist() == [2, 10, 8]
        assert table.column("why").to_pylist()[0] == NASTY  # typed data: nothing to defuse
        field = table.schema.field("nps")
        assert field.metadata[b"label"] == b"How likely are you to recommend us?"
        assert json.loads(field.metadata[b"value_labels"]) == {"0": "Not at all likely", "10": "Extremely likely"}
        assert str(table.schema.field("submitted_at").type) == "timestamp[us, tz=Europe/Berlin]"
    elif file_format == "sav":
        import pyreadstat

        frame, meta = pyreadstat.read_sav(str(path))
        assert len(frame) == 3 and list(frame["nps"]) == [2, 10, 8]
        assert meta.column_names_to_labels["nps"] == "How likely are you to recommend us?"
        assert meta.variable_value_labels["nps"] == {0: "Not at all likely", 10: "Extremely likely"}
        assert meta.variable_value_labels["delivery"] == {"post": "By post", "pickup": "Picked up"}
        assert frame["why"][0] == NASTY
    else:
        with path.open(newline="", encoding="utf-8") as out:
            assert len(list(csv.reader(out))) == 4


def test_a_sav_above_its_limit_is_refused(db, tmp_path, monkeypatch):
    sample(db)
    monkeypatch.setattr(export, "MAX_SAV_ROWS", 2)
    with pytest.raises(export.ExportError, match="at most 2 responses"):
        export.write_sav(layout_of(db), iter(()), tmp_path / "x.sav", total=3)


def test_spss_names_are_valid_and_unique(db):
    sample(db)
    names = export.sav_names(layout_of(db))
    assert all(name[0].isalpha() and "-" not in name for name in names.values())
    assert len({name.lower() for name in names.values()}) == len(names)


def test_the_page_and_its_files_with_a_filter(client, db):
    sample(db)
    login(client, make_user(db, "analyst"))
    page = client.get("/surveys/post-purchase/export", params={"attribute": "segment=SMB"})
    assert page.status_code == 200 and 'data-testid="export-count">1<' in page.text
    summary = client.get("/api/v1/surveys/post-purchase/export", params={"answer": "nps:promoters"}).json()
    assert summary["responses"] == 1 and summary["downloads"]["xlsx"].endswith("export.xlsx?answer=nps%3Apromoters")
    response = client.get(summary["downloads"]["xlsx"])
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    assert "post-purchase-responses-" in response.headers["content-disposition"]
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(response.content), read_only=True)["Responses"].values)
    assert len(rows) == 2 and rows[1][rows[0].index("nps")] == 10
    streamed = client.get("/surveys/post-purchase/export.csv", params={"period": "last-year"})
    assert streamed.status_code == 200 and streamed.headers["content-type"].startswith("text/csv")
    assert len(list(csv.reader(io.StringIO(streamed.text)))) == 1  # the header only: nothing last year


def test_bad_filters_unknown_surveys_and_roles(client, db):
    sample(db)
    login(client, make_user(db, "viewer"))
    assert client.get("/surveys/post-purchase/export").status_code == 403
    assert client.get("/api/v1/surveys/post-purchase/export.csv").status_code == 403
    client.cookies.clear()
    assert client.get("/surveys/post-purchase/export.csv", follow_redirects=False).status_code == 303
    login(client, make_user(db, "manager"))
    bad = client.get("/surveys/post-purchase/export", params={"since": "July"})
    assert bad.status_code == 400 and "The first day must be a date written YYYY-MM-DD" in bad.text
    assert 'aria-invalid="true"' in bad.text
    problem = client.get("/api/v1/surveys/post-purchase/export", params={"period": "fortnight"})
    assert problem.status_code == 422 and problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["errors"][0]["field"] == "period"
    assert client.get("/surveys/post-purchase/export.xlsx", params={"answer": "nps"}).status_code == 400
    assert client.get("/surveys/nothing/export").status_code == 404
    assert client.get("/api/v1/surveys/nothing/export.parquet").status_code == 404
    assert client.get("/surveys/post-purchase/export.pdf").status_code in (400, 404)
