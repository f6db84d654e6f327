"""`voxpop text backfill`: analyses what is pending, does nothing the second time, redoes all with --reprocess."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

import voxpop.cli.text_backfill  # noqa: F401  (registers the verb until cli/__init__ imports it)
from tests.text.stored import submit
from voxpop.cli import app
from voxpop.collection.models import Answer
from voxpop.text.models import CommentAnalysis

runner = CliRunner()


def backfill(*arguments):
    return runner.invoke(app, ["text", "backfill", *arguments])


def test_backfill_analyses_pending_comments_once_and_again_with_reprocess(configured):
    db = configured
    for comment in ("Rude staff, write to ana@example.com", "", "👍", "Paket kam spät"):
        submit(db, {"nps": 4, "why_low": comment})
    first = backfill()
    assert first.exit_code == 0, first.output
    assert "analysed 4 comments" in first.stdout
    with db.read_connection() as connection:
        stamps = dict(connection.execute(select(CommentAnalysis.answer_id, CommentAnalysis.analysed_at)).all())
        texts = connection.scalars(select(Answer.text).where(Answer.text.is_not(None))).all()
    assert len(stamps) == 4 and not any("ana@example.com" in text for text in texts)
    again = backfill()
    assert again.exit_code == 0 and "nothing to do" in again.stdout
    redone = backfill("--reprocess")
    assert redone.exit_code == 0 and "analysed 4 comments" in redone.stdout
    with db.read_connection() as connection:
        later = dict(connection.execute(select(CommentAnalysis.answer_id, CommentAnalysis.analysed_at)).all())
    assert later.keys() == stamps.keys() and all(later[key] > stamps[key] for key in stamps)


def test_backfill_on_a_database_without_the_schema_exits_1(monkeypatch, tmp_path):
    from voxpop.settings import get_settings

    monkeypatch.setenv("VOXPOP_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        result = backfill()
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1 and "voxpop db upgrade" in result.stderr


def test_an_unknown_option_exits_2():
    assert backfill("--everything").exit_code == 2
