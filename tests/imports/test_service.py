"""Storing imports on each backend: all-or-nothing, idempotent, through the same rollups as live responses."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from tests.helpers import apply_survey
from voxpop.analysis.models import ScoreRollup
from voxpop.analysis.rollups import rebuild_store
from voxpop.collection.models import Answer, AttributeSet, Response, response_attributes
from voxpop.customers.models import Customer
from voxpop.dashboard.metrics import survey_estimates
from voxpop.imports.formats import ImportFileError, open_export
from voxpop.imports.mapping import detect_mapping
from voxpop.imports.service import RowRejected, import_responses
from voxpop.surveys.models import Question, Survey

HEADER = ["StartDate", "EndDate", "ResponseId", "RecipientEmail", "Q1", "Q2", "Q3", "segment"]
LABELS = ["Start Date", "End Date", "Response ID", "Recipient Email",
          "How likely are you to recommend us to a friend?", "How satisfied are you with the product?",
          "What should we improve?", "segment"]
IMPORT_IDS = ["startDate", "endDate", "_recordId", "recipientEmail", "QID1", "QID2", "QID3_TEXT", "segment"]


def qualtrics(path, rows):
    """A Qualtrics 'current' export: three header rows, the third holding JSON ImportIds."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerows([HEADER, LABELS, [json.dumps({"ImportId": name}) for name in IMPORT_IDS], *rows])
    return path


def row(number, nps, csat="4", comment="", segment="smb", email=""):
    return [f"2025-03-{number % 28 + 1:02d} 10:00:00", f"2025-03-{number % 28 + 1:02d} 10:05:00",
            f"R_{number:06d}", email, str(nps), csat, comment, segment]


ROWS = [row(i, nps=i % 11, csat=str(i % 5 + 1), comment=f"Great <b>staff</b>, visit {i}" if i % 3 == 0 else "",
            segment=("smb", "enterprise")[i % 2], email="ana@example.com" if i == 4 else "") for i in range(40)]


def run(db, path, **options):
    export = open_export(path)
    return import_responses(db, export, detect_mapping(export), **options)


def counts(db):
    with db.read() as db_session:
        return {name: db_session.scalar(select(func.count()).select_from(table)) for name, table in
                (("surveys", Survey), ("responses", Response), ("answers", Answer), ("attributes", response_attributes),
                 ("attribute sets", AttributeSet), ("rollups", ScoreRollup), ("customers", Customer))}


def test_an_import_creates_the_survey_stores_every_answer_and_is_idempotent(db, tmp_path):
    path = qualtrics(tmp_path / "Northwind Q1.csv", ROWS)
    summary = run(db, path)
    assert (summary.survey, summary.title, summary.survey_created, summary.new, summary.present, summary.rejected) == (
        "northwind-q1", "Northwind Q1", True, 40, 0, 0)
    stored = counts(db)
    assert stored["responses"] == 40 and stored["attributes"] == 40 and stored["customers"] == 1
    assert stored["answers"] == 40 + 40 + sum(1 for r in ROWS if r[6])  # NPS, CSAT and the non-blank comments
    again = run(db, path)
    assert (again.new, again.present) == (0, 40) and counts(db) == stored
    # An overlapping later export: only its new responses are added.
    more = qualtrics(tmp_path / "Northwind Q1 and Q2.csv", ROWS + [row(40 + i, nps=10) for i in range(5)])
    overlap = run(db, more, survey_key="northwind-q1")
    assert (overlap.new, overlap.present) == (5, 40)


def test_imported_responses_move_the_rollups_exactly_as_a_rebuild_would(db, tmp_path):
    run(db, qualtrics(tmp_path / "export.csv", ROWS), zone="Europe/Berlin")
    with db.read_connection() as connection:
        incremental = {(r.keys["survey"], r.keys["question"], r.keys["segment"], r.metric): r.estimate
                       for r in survey_estimates(connection, min_base=5, attribute="segment")}
    rebuild_store(db, zone="Europe/Berlin")
    with db.read_connection() as connection:
        rebuilt = {(r.keys["survey"], r.keys["question"], r.keys["segment"], r.metric): r.estimate
                   for r in survey_estimates(connection, min_base=5, attribute="segment")}
    assert incremental == rebuilt
    [nps_smb] = [estimate for key, estimate in incremental.items() if key[3] == "nps" and key[2] == "smb"]
    assert nps_smb.n == 20


def stored_answers(db, survey):
    with db.read() as db_session:
        return sorted(db_session.execute(
            select(Response.idempotency_key, Question.key, Answer.score, Answer.choice, Answer.text)
            .join(Answer, Answer.response_id == Response.id).join(Question, Question.id == Answer.question_id)
            .join(Survey, Survey.id == Response.survey_id).where(Survey.key == survey)).all())


def test_an_export_overlapping_within_a_batch_adds_only_the_new_answers_and_rollups(db, tmp_path):
    # Every other response is already stored, so each batch mixes old and new keys: the writer's slow path
    # (the one PostgreSQL always takes) must add exactly what one import of the whole file adds.
    run(db, qualtrics(tmp_path / "whole.csv", ROWS), survey_key="whole")
    run(db, qualtrics(tmp_path / "half.csv", ROWS[::2]), survey_key="mixed")
    overlap = run(db, qualtrics(tmp_path / "all.csv", ROWS), survey_key="mixed")
    assert (overlap.new, overlap.present) == (20, 20)
    assert stored_answers(db, "mixed") == stored_answers(db, "whole")
    with db.read_connection() as connection:
        incremental = sorted(map(repr, survey_estimates(connection, min_base=1, attribute="segment")))
    rebuild_store(db, zone="UTC")
    with db.read_connection() as connection:
        assert sorted(map(repr, survey_estimates(connection, min_base=1, attribute="segment"))) == incremental


def test_one_bad_row_fails_the_import_names_it_and_leaves_the_store_unchanged(db, tmp_path):
    path = qualtrics(tmp_path / "export.csv", ROWS[:10] + [row(99, nps=11)] + ROWS[10:])
    before = counts(db)
    with pytest.raises(RowRejected) as failure:
        run(db, path)
    message = str(failure.value)
    assert "row 14" in message and "11" in message and "0–10" in message and "import only its valid rows" in message
    assert failure.value.parameter == "skip_invalid" and "--" not in message  # each interface names its own control
    assert counts(db) == before  # not even the survey was created


def test_skip_invalid_imports_the_good_rows_and_writes_each_rejected_one_with_its_reason(db, tmp_path):
    path = qualtrics(tmp_path / "export.csv", ROWS[:10] + [row(99, nps=11), row(98, nps=7, csat="nine")])
    rejects = io.StringIO()
    summary = run(db, path, rejects=rejects)
    assert (summary.new, summary.rejected) == (10, 2)
    written = list(csv.DictReader(io.StringIO(rejects.getvalue())))
    assert [(r["row"], r["value"]) for r in written] == [("14", "11"), ("15", "nine")]
    assert all(r["reason"] for r in written) and written[0]["ResponseId"] == "R_000099"


def test_a_dry_run_writes_nothing_but_counts_and_samples(db, tmp_path):
    path = qualtrics(tmp_path / "export.csv", ROWS)
    before = counts(db)
    summary = run(db, path, dry_run=True)
    assert (summary.new, summary.present, summary.dry_run) == (40, 0, True)
    assert len(summary.samples) == 5 and summary.samples[0]["answers"]
    assert counts(db) == before
    run(db, path)
    assert run(db, path, dry_run=True).present == 40


def test_an_existing_survey_must_fit_the_file(db, tmp_path):
    apply_survey(db)  # "feedback": nps, csat, ... but no question named like the file's
    with pytest.raises(ImportFileError, match="does not fit survey 'feedback'.*in a mapping file$") as failure:
        run(db, qualtrics(tmp_path / "export.csv", ROWS), survey_key="feedback")
    assert failure.value.parameter == "mapping"


def test_an_oversized_comment_is_refused_by_name(db, tmp_path):
    path = qualtrics(tmp_path / "export.csv", [row(1, nps=9, comment="x" * 6000)])
    with pytest.raises(RowRejected, match="at most 5,000 characters"):
        run(db, path, max_text_length=5000)


def truncated(path):
    """The download broke off inside a quoted comment, after many good rows."""
    qualtrics(path, ROWS)
    path.write_text(path.read_text() + '2025-03-01 10:00:00,2025-03-01 10:05:00,R_999999,,9,5,"Great but the fi')
    return path


def semicolons(path):
    path.write_text(";".join(HEADER) + "\n" + "\n".join(";".join(r) for r in ROWS) + "\n")
    return path


@pytest.mark.parametrize(("make", "message"), [
    (truncated, "ends inside a quoted"),
    (lambda path: path.write_bytes(bytes(range(256)) * 40) and path, "binary"),
    (lambda path: path.write_bytes(b"") == 0 and path, "empty"),
    (lambda path: qualtrics(path, [*ROWS, row(1, nps=11)]), "outside the 0–10"),
])
def test_bad_files_get_a_precise_message_and_leave_the_store_unchanged(db, tmp_path, make, message):
    path = make(tmp_path / "export.csv")
    before = counts(db)
    with pytest.raises(ImportFileError, match=message):
        run(db, path)
    assert counts(db) == before


def test_a_semicolon_file_is_read_with_a_warning_not_as_one_column(db, tmp_path):
    summary = run(db, semicolons(tmp_path / "export.csv"))
    assert summary.new == 40 and any("';'" in warning or "semicolon" in warning for warning in summary.warnings)
    assert len(summary.warnings) == len(set(summary.warnings))  # the mapping repeats the file's warnings


def test_a_mapping_that_names_a_missing_column_says_which_and_writes_nothing(db, tmp_path):
    from voxpop.imports.mapping import apply_overrides

    export = open_export(qualtrics(tmp_path / "export.csv", ROWS))
    with pytest.raises(ImportFileError, match="Q9"):
        apply_overrides(detect_mapping(export), {"columns": {"Q9": {"role": "nps"}}}, export)


def test_a_failed_import_gives_its_connection_back_with_the_default_cache(db, tmp_path):
    path = qualtrics(tmp_path / "export.csv", [*ROWS, row(1, nps=11)])
    with pytest.raises(RowRejected):
        run(db, path)
    if db.url.get_backend_name() == "sqlite":
        with db.write_connection() as connection:
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -2000


def test_a_big_file_parsed_in_a_worker_process_is_stored_the_same_way(db, tmp_path, monkeypatch):
    from voxpop.imports import batches

    in_process = counts_after_import(db, tmp_path / "in-process.csv", survey_key="in-process")
    monkeypatch.setattr(batches, "WORKER_MIN_BYTES", 0)  # what a file of millions of rows gets
    rejects = io.StringIO()
    path = qualtrics(tmp_path / "worker.csv", ROWS[:10] + [row(99, nps=11)] + ROWS[10:])
    summary = run(db, path, survey_key="worker", rejects=rejects)
    assert (summary.rows, summary.new, summary.rejected, len(summary.samples)) == (41, 40, 1, 5)
    assert [r["row"] for r in csv.DictReader(io.StringIO(rejects.getvalue()))] == ["14"]
    stored = counts(db)  # the same rows as the in-process import of the same responses, once more
    assert all(stored[name] == 2 * in_process[name] for name in ("responses", "answers", "attributes", "rollups"))
    assert run(db, path, survey_key="worker", rejects=io.StringIO()).present == 40
    before = counts(db)
    with pytest.raises(RowRejected, match="row 14"):
        run(db, path, survey_key="worker")
    assert counts(db) == before
    with db.read_connection() as connection:
        incremental = sorted(map(repr, survey_estimates(connection, min_base=5, attribute="segment")))
    rebuild_store(db, zone="UTC")
    with db.read_connection() as connection:
        assert sorted(map(repr, survey_estimates(connection, min_base=5, attribute="segment"))) == incremental


def counts_after_import(db, path, **options):
    run(db, qualtrics(path, ROWS), **options)
    return counts(db)
