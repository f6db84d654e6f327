"""Imports written in short transactions under a run: still all-or-nothing and idempotent, a failed or killed run
taken back whole (responses and rollup counts), and live submissions getting in between the batches."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from tests.helpers import apply_survey
from tests.imports.test_merges import audit_actions
from tests.imports.test_service import ROWS, counts, qualtrics, row, run
from voxpop.analysis.models import ScoreRollup
from voxpop.analysis.rollups import rebuild_store
from voxpop.collection import flows
from voxpop.collection.models import Response
from voxpop.imports import runs, service
from voxpop.imports.models import ImportRun
from voxpop.imports.service import RowRejected
from voxpop.settings import get_settings
from voxpop.store.base import utcnow

MORE = [row(100 + i, nps=(i * 7) % 11, csat=str(i % 5 + 1), segment=("smb", "enterprise", "public")[i % 3])
        for i in range(60)]


class Injected(RuntimeError):
    """The failure a test injects into the writing phase."""


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of 10 responses, so a 60-row file is written in six transactions."""
    monkeypatch.setattr(service, "WRITE_BATCH", 10)


def fail_after(k: int):
    def between_batches(written: int) -> None:
        if written == k:
            raise Injected(f"injected after {k} batches")
    return between_batches


def stored(db):
    """The counts of what a run writes; attribute sets and customers, shared records it may add, are left out."""
    return {name: count for name, count in counts(db).items() if name not in ("attribute sets", "customers")}


def rollup_rows(db):
    with db.read() as db_session:
        return sorted(tuple(getattr(rollup, name) for name in ("question_id", "day", "attribute", "value", "n", "total",
                                                                 "total_squares", "promoters", "detractors", "top_two",
                                                                 "agree"))
                      for rollup in db_session.scalars(select(ScoreRollup)))


def run_rows(db):
    with db.read() as db_session:
        return [(r.status, r.new, r.present, r.survey_id is not None) for r in
                db_session.scalars(select(ImportRun).order_by(ImportRun.id))]


def assert_rollups_as_rebuilt(db, zone="UTC"):
    kept = rollup_rows(db)
    rebuild_store(db, zone=zone)
    assert rollup_rows(db) == kept


def test_a_bad_row_fails_before_anything_is_written_and_no_run_is_started(db, tmp_path, small_batches):
    path = qualtrics(tmp_path / "export.csv", MORE[:45] + [row(99, nps=11)] + MORE[45:])
    before = stored(db)
    with pytest.raises(RowRejected, match="row 49"):
        run(db, path)
    assert stored(db) == before and run_rows(db) == []


def test_a_failure_mid_way_leaves_nothing_of_the_run_and_rollups_as_a_rebuild(db, tmp_path, small_batches):
    run(db, qualtrics(tmp_path / "first.csv", ROWS), survey_key="northwind", zone="Europe/Berlin")
    before, rollups_before = stored(db), rollup_rows(db)
    with pytest.raises(Injected):
        run(db, qualtrics(tmp_path / "more.csv", MORE), survey_key="northwind", zone="Europe/Berlin",
            between_batches=fail_after(3))
    assert stored(db) == before and rollup_rows(db) == rollups_before
    assert run_rows(db) == [("done", 40, 0, True), ("failed", 30, 0, True)]  # 3 batches were written, then taken back
    assert_rollups_as_rebuilt(db, zone="Europe/Berlin")


def test_a_failed_run_that_created_its_survey_takes_the_survey_back_too(db, tmp_path, small_batches):
    before = stored(db)
    with pytest.raises(Injected):
        run(db, qualtrics(tmp_path / "more.csv", MORE), between_batches=fail_after(2))
    assert stored(db) == before and run_rows(db) == [("failed", 20, 0, False)]


def test_re_importing_after_a_failure_adds_exactly_what_is_missing(db, tmp_path, small_batches):
    path = qualtrics(tmp_path / "more.csv", MORE)
    run(db, qualtrics(tmp_path / "part.csv", MORE[:15]), survey_key="more")
    with pytest.raises(Injected):
        run(db, path, survey_key="more", between_batches=fail_after(4))
    again = run(db, path, survey_key="more")
    assert (again.new, again.present) == (45, 15)
    assert run(db, path, survey_key="more").present == 60
    assert counts(db)["responses"] == 60
    assert_rollups_as_rebuilt(db)


def test_a_run_whose_process_was_killed_is_taken_back_by_the_next_import(db, tmp_path, small_batches, monkeypatch):
    run(db, qualtrics(tmp_path / "first.csv", ROWS), survey_key="northwind")
    before, rollups_before = stored(db), rollup_rows(db)
    # A killed process runs no except clause: the run stays "running" with two batches written.
    with monkeypatch.context() as killed:
        killed.setattr(runs, "take_back", lambda *args, **kwargs: 0)
        with pytest.raises(Injected):
            run(db, qualtrics(tmp_path / "more.csv", MORE), survey_key="northwind", between_batches=fail_after(2))
    assert counts(db)["responses"] == before["responses"] + 20
    # Another import starting while the run's heartbeat is fresh leaves it alone: its process may be writing.
    run(db, qualtrics(tmp_path / "other.csv", ROWS[:5]), survey_key="other")
    assert [status for status, *_ in run_rows(db)] == ["done", "running", "done"]
    with db.write() as db_session:
        db_session.execute(update(ImportRun).where(ImportRun.status == "running")
                           .values(heartbeat_at=utcnow() - runs.STALE_AFTER - timedelta(seconds=1)))
    before_other = counts(db)
    run(db, qualtrics(tmp_path / "other.csv", ROWS[:5]), survey_key="other")
    assert [status for status, *_ in run_rows(db)] == ["done", "failed", "done", "done"]
    assert counts(db)["responses"] == before_other["responses"] - 20
    with db.read() as db_session:
        error = db_session.scalar(select(ImportRun.error).where(ImportRun.status == "failed"))
        assert "its process stopped" in error
        kept = db_session.scalars(select(Response.idempotency_key).where(Response.import_run_id == 2)).all()
    assert kept == []
    assert_rollups_as_rebuilt(db)
    assert [r for r in rollup_rows(db) if r in rollups_before] == rollups_before  # the first import's stay


def killed(db, path, monkeypatch, *, after: int, **options):
    """An import whose process is killed after `after` batches: no except clause runs, the run stays running."""
    with monkeypatch.context() as patched:
        patched.setattr(runs, "take_back", lambda *args, **kwargs: 0)
        with pytest.raises(Injected):
            run(db, path, between_batches=fail_after(after), **options)


def go_stale(db):
    """Age every running run's heartbeat past STALE_AFTER, as ten minutes without a batch would."""
    with db.write() as db_session:
        db_session.execute(update(ImportRun).where(ImportRun.status == "running")
                           .values(heartbeat_at=utcnow() - runs.STALE_AFTER - timedelta(seconds=1)))


def run_owners(db):
    with db.read() as db_session:
        return dict(db_session.execute(select(ImportRun.id, ImportRun.survey_created)).all()), Counter(
            db_session.scalars(select(Response.import_run_id)))


def test_a_retry_soon_after_a_killed_import_is_refused_then_adds_everything_and_nothing_is_lost_later(
        db, tmp_path, small_batches, monkeypatch):
    run(db, qualtrics(tmp_path / "first.csv", ROWS), survey_key="northwind")
    path = qualtrics(tmp_path / "more.csv", MORE)
    killed(db, path, monkeypatch, after=2, survey_key="northwind")
    before = counts(db)
    # Within STALE_AFTER the killed run cannot be told from one still writing: the retry is refused, untouched.
    with pytest.raises(runs.ImportBusy, match="another import into survey 'northwind' is running"):
        run(db, path, survey_key="northwind")
    assert counts(db) == before and [status for status, *_ in run_rows(db)] == ["done", "running"]
    go_stale(db)
    again = run(db, path, survey_key="northwind")  # takes the killed run back first, then writes it all
    assert (again.new, again.present) == (60, 0)
    assert run(db, qualtrics(tmp_path / "other.csv", ROWS[:5]), survey_key="other").new == 5
    assert runs.take_back_stale(db, now=utcnow() + runs.STALE_AFTER * 2) == []
    assert counts(db)["responses"] == 40 + 60 + 5
    assert [status for status, *_ in run_rows(db)] == ["done", "failed", "done", "done"]
    assert_rollups_as_rebuilt(db)


def test_a_retry_adopts_what_a_stale_run_not_yet_taken_back_wrote_and_its_take_back_leaves_it(
        db, tmp_path, small_batches, monkeypatch):
    run(db, qualtrics(tmp_path / "first.csv", ROWS), survey_key="northwind")
    path = qualtrics(tmp_path / "more.csv", MORE)
    killed(db, path, monkeypatch, after=2, survey_key="northwind")
    go_stale(db)
    with monkeypatch.context() as slow:  # as if another process were still taking the stale run back
        slow.setattr(runs, "take_back_stale", lambda *args, **kwargs: [])
        again = run(db, path, survey_key="northwind")
    assert (again.new, again.present) == (40, 20)
    assert run_owners(db)[1] == {1: 40, 3: 60}  # the killed run's 20 are the retry's now
    assert runs.take_back_stale(db, now=utcnow() + runs.STALE_AFTER * 2) == [2]
    assert counts(db)["responses"] == 100
    assert [status for status, *_ in run_rows(db)] == ["done", "failed", "done"]
    assert_rollups_as_rebuilt(db)


def test_a_retry_that_finds_everything_present_keeps_the_survey_a_stale_run_created(
        db, tmp_path, small_batches, monkeypatch):
    path = qualtrics(tmp_path / "more.csv", MORE)
    killed(db, path, monkeypatch, after=6, survey_key="more")  # every row written, never marked done
    go_stale(db)
    with monkeypatch.context() as slow:
        slow.setattr(runs, "take_back_stale", lambda *args, **kwargs: [])
        again = run(db, path, survey_key="more")
    assert (again.new, again.present) == (0, 60)
    assert run_owners(db) == ({1: False, 2: True}, {2: 60})  # the claim to the survey moved with the responses
    assert runs.take_back_stale(db, now=utcnow() + runs.STALE_AFTER * 2) == [1]
    assert counts(db)["surveys"] == 1 and counts(db)["responses"] == 60
    assert run_rows(db) == [("failed", 60, 0, True), ("done", 0, 60, True)]
    assert_rollups_as_rebuilt(db)


def test_a_stale_run_that_created_the_survey_leaves_it_while_a_later_run_is_writing_into_it(
        db, tmp_path, small_batches, monkeypatch):
    killed(db, qualtrics(tmp_path / "more.csv", MORE[:20]), monkeypatch, after=1, survey_key="more")
    go_stale(db)
    with db.write() as db_session:  # a later import has started into the survey and written nothing yet
        survey_id = db_session.scalar(select(ImportRun.survey_id))
        runs.start(db_session, survey_id=survey_id, survey_created=False, file="other.csv", zone="UTC")
    assert runs.take_back_stale(db) == [1]
    assert counts(db)["surveys"] == 1 and counts(db)["responses"] == 0
    assert run_rows(db) == [("failed", 10, 0, True), ("running", 0, 0, True)]


def test_a_stale_run_is_taken_back_once_even_if_asked_twice(db, tmp_path, small_batches, monkeypatch):
    with monkeypatch.context() as killed:
        killed.setattr(runs, "take_back", lambda *args, **kwargs: 0)
        with pytest.raises(Injected):
            run(db, qualtrics(tmp_path / "more.csv", MORE), survey_key="more", between_batches=fail_after(1))
    later = utcnow() + runs.STALE_AFTER + timedelta(minutes=1)
    assert runs.take_back_stale(db, now=later) == [1]
    assert runs.take_back_stale(db, now=later) == []
    assert runs.take_back(db, 1, reason="again") == 0
    assert run_rows(db) == [("failed", 10, 0, False)] and counts(db)["responses"] == 0


def test_a_live_submission_completes_while_an_import_is_between_batches(db, tmp_path, small_batches):
    apply_survey(db)  # the "feedback" survey, live
    survey = flows.load_survey(db, "feedback")
    recorded = []

    def submit(written: int) -> None:
        # From another thread, as the server's would be: on SQLite it needs the writer the import must not hold.
        worker = threading.Thread(target=lambda: recorded.append(flows.record_response(
            db, survey, flows.Submission(channel="api", answers={"nps": written}), max_text_length=5000)))
        worker.start()
        worker.join(timeout=120)  # a guard against a deadlock, not a timing: it finishes at once or never
        assert not worker.is_alive(), "the live submission could not get the writer between two batches"

    summary = run(db, qualtrics(tmp_path / "more.csv", MORE), between_batches=submit)
    assert summary.new == 60 and len(recorded) == 6
    with db.read() as db_session:
        live = db_session.scalars(select(Response.import_run_id).where(Response.channel == "api")).all()
    assert live == [None] * 6
    assert_rollups_as_rebuilt(db)


def test_a_dry_run_starts_no_run(db, tmp_path):
    summary = run(db, qualtrics(tmp_path / "export.csv", ROWS), dry_run=True)
    assert summary.new == 40 and run_rows(db) == [] and counts(db)["surveys"] == 0


runner = CliRunner()


@pytest.fixture
def configured(monkeypatch, database_url, db, tmp_path):
    """The CLI's settings pointed at the test's store (as tests/cli's fixture of the same name)."""
    monkeypatch.setenv("VOXPOP_DATABASE_URL", database_url)
    monkeypatch.setenv("VOXPOP_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def test_the_command_line_import_is_audited_like_the_upload(configured, tmp_path):
    from voxpop.cli import app

    path = qualtrics(tmp_path / "export.csv", ROWS)
    assert runner.invoke(app, ["import", "responses", str(path), "--dry-run"]).exit_code == 0
    assert audit_actions(configured) == []  # a dry run changes nothing
    done = runner.invoke(app, ["import", "responses", str(path), "--survey", "northwind"])
    assert done.exit_code == 0, done.output
    assert audit_actions(configured) == [("import.responses", {"via": "cli", "file": "export.csv",
                                                               "format": "qualtrics", "new": 40, "present": 0,
                                                               "rejected": 0})]


def test_the_command_line_transactions_import_is_audited(configured, tmp_path):
    from voxpop.cli import app

    path = tmp_path / "sales.csv"
    path.write_text("customer,date,amount\nc1,2025-01-02,10.5\nc2,2025-01-03,7\n")
    done = runner.invoke(app, ["import", "transactions", str(path)])
    assert done.exit_code == 0, done.output
    assert audit_actions(configured) == [("import.transactions", {"via": "cli", "new": 2, "present": 0})]


def test_the_upload_page_imports_through_a_run_too(client, db, tmp_path, small_batches):
    from tests.imports.test_views import staff, upload

    token = staff(client, db)
    path = qualtrics(tmp_path / "export.csv", MORE)
    assert "would add 60 new responses" in upload(client, path, token, dry_run="true").text
    assert run_rows(db) == []  # the page's dry run only read
    assert "added 60 new responses" in upload(client, path, token, dry_run="false").text
    assert run_rows(db) == [("done", 60, 0, True)]
    with db.read() as db_session:
        assert set(db_session.scalars(select(Response.import_run_id))) == {1}


def test_into_an_existing_survey_the_file_is_parsed_once_and_the_check_is_what_is_written(db, tmp_path,
                                                                                          small_batches, monkeypatch):
    parses = []
    parse = service.parsed_batches
    monkeypatch.setattr(service, "parsed_batches", lambda *args: parses.append(args[2].questions is None) or parse(*args))
    run(db, qualtrics(tmp_path / "first.csv", ROWS), survey_key="northwind")
    assert parses == [True, False]  # a new survey: checked keys only, then parsed again to be written
    parses.clear()
    mixed = run(db, qualtrics(tmp_path / "more.csv", ROWS[::2] + MORE), survey_key="northwind")
    assert parses == [False] and (mixed.new, mixed.present) == (60, 20)  # written from the check's batches
    assert counts(db)["responses"] == 100
    assert_rollups_as_rebuilt(db)


def test_an_import_pauses_long_only_while_another_writer_uses_its_pauses(db, monkeypatch):
    if db.url.get_backend_name() != "sqlite":
        assert not runs.Pauses(db).pausing  # PostgreSQL locks rows: an import never pauses there
        return
    apply_survey(db)
    survey = flows.load_survey(db, "feedback")
    sleeps = []

    def sleep(seconds, live=False):
        sleeps.append(seconds)
        if live and len(sleeps) == 1:  # a live answer comes in during the pause
            flows.record_response(db, survey, flows.Submission(channel="api", answers={"nps": 9}), max_text_length=5000)

    pause = runs.Pauses(db)
    monkeypatch.setattr(runs.time, "sleep", sleep)
    pause.held = runs.WRITE_SECONDS / 2
    pause.after_batch()
    assert sleeps == []  # not held long enough yet
    pause.held = runs.WRITE_SECONDS
    pause.after_batch()
    assert sleeps == [runs.YIELD_SECONDS] and pause.window == runs.IDLE_WRITE_SECONDS  # nobody else wrote
    sleeps.clear()
    monkeypatch.setattr(runs.time, "sleep", lambda seconds: sleep(seconds, live=True))
    pause.held = runs.IDLE_WRITE_SECONDS
    pause.after_batch()
    assert sleeps[0] == runs.YIELD_SECONDS and len(sleeps) == 2 and pause.window == runs.WRITE_SECONDS


def test_the_upload_page_and_the_api_refuse_an_import_into_a_busy_survey_with_a_sentence(client, db, tmp_path,
                                                                                         small_batches, monkeypatch):
    from tests.imports.test_views import staff, upload

    token = staff(client, db)
    path = qualtrics(tmp_path / "more.csv", MORE)
    killed(db, path, monkeypatch, after=2, survey_key="more")
    page = upload(client, path, token, dry_run="false", survey="more")
    assert page.status_code == 400 and "Another import into survey" in page.text and "import this file again" in page.text
    with path.open("rb") as handle:
        api = client.post("/api/v1/imports/responses", data={"csrf_token": token, "survey": "more"},
                          files={"file": (path.name, handle, "text/csv")})
    assert api.status_code == 422 and "another import into survey 'more' is running" in api.json()["detail"].lower()
    assert counts(db)["responses"] == 20 and [status for status, *_ in run_rows(db)] == ["running"]
