"""Stored comments through the pipeline: live and imported answers, redaction in place, originals, re-analysis."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from tests.imports.test_service import qualtrics, row, run
from tests.text.stored import analyse, submit
from voxpop.collection.models import Answer, Response
from voxpop.text import service
from voxpop.text.models import CommentAnalysis, CommentTheme
from voxpop.text.pipeline import analyze_comments
from voxpop.text.service import count_pending, forget_originals, store_analyses

CARD = "4111 1111 1111 1111"
PRIVATE = f"Great staff but the app keeps crashing. Mail me at ana@example.com, card {CARD}."


def analyses(db) -> dict:
    with db.read_connection() as connection:
        return {row.answer_id: row for row in connection.execute(select(CommentAnalysis.__table__))}


def answer_texts(db) -> list[str]:
    with db.read() as db_session:
        return list(db_session.scalars(select(Answer.text).where(Answer.text.is_not(None)).order_by(Answer.id)))


def test_a_live_comment_is_redacted_in_place_scored_and_tagged(db):
    submit(db, {"nps": 3, "why_low": PRIVATE})
    with db.read_connection() as connection:
        assert count_pending(connection) == 1
    analyse(db)
    [stored] = analyses(db).values()
    assert "ana@example.com" not in stored.text and CARD not in stored.text and "[email]" in stored.text
    assert answer_texts(db) == [stored.text]  # the answer itself no longer holds the personal data
    assert stored.original is None  # originals are not kept by default
    assert stored.personal_data == ["card", "email"] and stored.language == "en"
    assert stored.sentiment_label is not None and {part["label"] for part in stored.sentences} >= {"positive", "negative"}
    assert stored.pipeline_version == service.PIPELINE_VERSION
    with db.read() as db_session:
        themes = set(db_session.scalars(select(CommentTheme.theme)))
    assert {"staff", "app_website"} <= themes


def test_the_original_is_kept_only_when_the_workspace_says_so_and_forgotten_when_it_stops(db):
    submit(db, {"nps": 3, "why_low": PRIVATE})
    submit(db, {"nps": 10, "why_high": "Lovely shop"})
    analyse(db, keep_original=True)
    kept = {row.text: row.original for row in analyses(db).values()}
    assert kept == {PRIVATE.replace("ana@example.com", "[email]").replace(CARD, "[card]"): PRIVATE,
                    "Lovely shop": None}  # nothing redacted: the text shown is the original
    assert all("ana@example.com" not in text for text in answer_texts(db))
    assert forget_originals(db) == 1
    assert [row.original for row in analyses(db).values()] == [None, None]


def test_imported_comments_are_picked_up_the_same_way(db, tmp_path):
    path = qualtrics(tmp_path / "export.csv", [row(1, 9, comment="Great staff, write to bo@example.org"),
                                               row(2, 2, comment="<script>alert(1)</script> late delivery"),
                                               row(3, 7)])
    run(db, path)
    analyse(db)
    texts = sorted(row.text for row in analyses(db).values())
    assert texts == ["<script>alert(1)</script> late delivery", "Great staff, write to [email]"]
    assert "bo@example.org" not in " ".join(answer_texts(db))


def test_the_stored_path_survives_empty_emoji_long_and_mixed_language_comments(db):
    long = ("The delivery was late again. " * 400)[:10_000]
    comments = ["", "   ", "👍🔥😡", long, "Der Versand war langsam, but the staff were lovely. Merci beaucoup !",
                "<img src=x onerror=alert(1)>", "\u202e reversed, \u200b zero width"]
    for comment in comments:
        submit(db, {"nps": 5, "why_low": comment})
    analyse(db)
    stored = analyses(db)
    assert len(stored) == len(comments)
    by_text = {row.text: row for row in stored.values()}
    assert by_text[""].sentiment_score is None and by_text[""].no_sentiment_reason
    assert len(by_text[long].text) == 10_000 and by_text[long].sentiment_label == "negative"
    with db.read_connection() as connection:
        assert count_pending(connection) == 0


def test_analysing_twice_changes_nothing(db):
    submit(db, {"nps": 3, "why_low": PRIVATE})
    analyse(db)
    first = {answer_id: (row.text, row.analysed_at) for answer_id, row in analyses(db).items()}
    analyse(db)
    assert {answer_id: (row.text, row.analysed_at) for answer_id, row in analyses(db).items()} == first


def test_a_newer_pipeline_redoes_old_analyses_keeping_corrections_and_what_was_redacted(db, monkeypatch):
    submit(db, {"nps": 3, "why_low": PRIVATE})
    analyse(db)
    [answer_id] = analyses(db)
    with db.write() as db_session:
        service.correct_theme(db_session=db_session, answer_id=answer_id, theme="price", present=True, user_id=None)
        service.correct_theme(db_session=db_session, answer_id=answer_id, theme="staff", present=False, user_id=None)
    monkeypatch.setattr(service, "PIPELINE_VERSION", service.PIPELINE_VERSION + 1)
    with db.read_connection() as connection:
        assert count_pending(connection) == 1
    analyse(db)
    [again] = analyses(db).values()
    assert again.pipeline_version == service.PIPELINE_VERSION
    # The original is gone, so the pipeline read the redacted text; what it had found is still recorded.
    assert again.personal_data == ["card", "email"]
    with db.read() as db_session:
        rows = set(db_session.execute(select(CommentTheme.theme, CommentTheme.source, CommentTheme.removed)))
    assert {("price", "correction", False), ("staff", "correction", True), ("staff", "codebook", False)} <= rows


def test_an_answer_deleted_while_it_was_analysed_is_skipped_and_deletion_cascades(db):
    submit(db, {"nps": 3, "why_low": "Rude staff"})
    submit(db, {"nps": 3, "why_low": "Slow app"})
    with db.read_connection() as connection:
        pending = service.pending_comments(connection)
    with db.write_connection() as connection:
        connection.execute(delete(Answer).where(Answer.id == pending[0].answer_id))
        assert store_analyses(connection, pending, analyze_comments([p.source for p in pending]),
                              keep_original=False) == 1
    with db.write_connection() as connection:
        connection.execute(delete(Response))
    with db.read() as db_session:
        assert db_session.scalar(select(func.count()).select_from(CommentAnalysis)) == 0
        assert db_session.scalar(select(func.count()).select_from(CommentTheme)) == 0


def test_two_writers_analysing_the_same_comment_do_not_collide(db):
    submit(db, {"nps": 3, "why_low": "Rude staff"})
    with db.read_connection() as connection:
        pending = service.pending_comments(connection)
    results = analyze_comments([p.source for p in pending])
    for _ in range(2):  # the server's worker and `voxpop text backfill`, one after the other
        with db.write_connection() as connection:
            store_analyses(connection, pending, results, keep_original=False)
    assert len(analyses(db)) == 1
