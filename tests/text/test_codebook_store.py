"""The workspace's codebook: versions, conflicts, and comments re-tagged when it changes, corrections kept."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from tests.text.stored import analyse, submit
from voxpop.text.codebook import DEFAULT_CODEBOOK_YAML, CodebookError, add_theme
from voxpop.text.codebooks import (
    BUILT_IN,
    CodebookConflict,
    codebook_history,
    current_codebook,
    preview_codebook,
    save_codebook,
    untagged_comments,
)
from voxpop.text.models import CodebookVersion, CommentAnalysis, CommentTheme
from voxpop.text.service import correct_theme, count_retag

PARKING = add_theme(DEFAULT_CODEBOOK_YAML, {"key": "parking", "phrases": ["parking", "car park"]})


def themes_by_comment(db) -> dict[str, set[str]]:
    with db.read_connection() as connection:
        rows = connection.execute(select(CommentAnalysis.text, CommentTheme.theme)
                                  .join(CommentTheme, CommentTheme.answer_id == CommentAnalysis.answer_id)
                                  .where(CommentTheme.source == "codebook")).all()
    found: dict[str, set[str]] = {}
    for text, theme in rows:
        found.setdefault(text, set()).add(theme)
    return found


def save(db, definition: str, base: int, note: str = "") -> int:
    with db.write() as db_session:
        return save_codebook(db_session, definition, base_version=base, note=note)


def test_the_built_in_codebook_is_in_use_until_a_workspace_saves_its_own(db):
    with db.read_connection() as connection:
        stored = current_codebook(connection)
        assert stored.version == BUILT_IN and stored.definition == DEFAULT_CODEBOOK_YAML
        assert codebook_history(connection) == []
    assert save(db, PARKING, BUILT_IN, "parking complaints") == 1
    with db.read_connection() as connection:
        assert current_codebook(connection).codebook.keys()[-1] == "parking"
        [entry] = codebook_history(connection)
    assert entry["version"] == 1 and entry["note"] == "parking complaints"


def test_a_save_from_an_outdated_version_is_refused_so_nobody_undoes_another_edit(db):
    save(db, PARKING, BUILT_IN)
    with pytest.raises(CodebookConflict, match="version 1 was saved after you opened version 0"):
        save(db, DEFAULT_CODEBOOK_YAML, BUILT_IN)
    with pytest.raises(CodebookError, match="at least one theme"):
        save(db, "themes: []", 1)
    with pytest.raises(CodebookError, match="nothing changed since version 1"):
        save(db, PARKING, 1)
    with db.read_connection() as connection:
        assert [entry["version"] for entry in codebook_history(connection)] == [1]


def test_comments_are_re_tagged_with_a_new_version_and_corrections_survive(db):
    submit(db, {"nps": 3, "why_low": "No parking near the store and rude staff"})
    submit(db, {"nps": 9, "why_high": "Easy parking, fast delivery"})
    analyse(db)
    assert themes_by_comment(db) == {"No parking near the store and rude staff": {"staff"},
                                     "Easy parking, fast delivery": {"delivery"}}
    with db.read_connection() as connection:
        first = connection.scalar(select(CommentAnalysis.answer_id).order_by(CommentAnalysis.answer_id))
    with db.write() as db_session:
        correct_theme(db_session=db_session, answer_id=first, theme="staff", present=False, user_id=None)
    save(db, PARKING, BUILT_IN)
    with db.read_connection() as connection:
        assert count_retag(connection) == 2
    analyse(db)  # the worker's catch-up re-tags after analysing
    with db.read_connection() as connection:
        assert count_retag(connection) == 0
        assert set(connection.scalars(select(CommentAnalysis.codebook_version))) == {1}
        correction = connection.execute(select(CommentTheme.theme, CommentTheme.removed)
                                        .where(CommentTheme.source == "correction")).all()
    assert themes_by_comment(db) == {"No parking near the store and rude staff": {"staff", "parking"},
                                     "Easy parking, fast delivery": {"delivery", "parking"}}
    assert correction == [("staff", True)]


def test_a_comment_arriving_after_a_save_is_tagged_by_the_new_version(db):
    save(db, PARKING, BUILT_IN)
    submit(db, {"nps": 5, "why_low": "The car park was full"})
    analyse(db)
    assert themes_by_comment(db) == {"The car park was full": {"parking"}}
    with db.read_connection() as connection:
        assert connection.scalar(select(CommentAnalysis.codebook_version)) == 1


def test_a_preview_counts_what_the_draft_would_change_and_discovery_reads_untagged_comments(db):
    submit(db, {"nps": 3, "why_low": "No parking anywhere"})
    submit(db, {"nps": 6, "why_low": "Parking was a nightmare, rude staff"})
    submit(db, {"nps": 8, "why_high": "The playground for the kids is lovely"})
    analyse(db)
    from voxpop.text.codebook import codebook_from_yaml

    with db.read_connection() as connection:
        preview = preview_codebook(connection, codebook_from_yaml(PARKING))
        untagged = untagged_comments(connection)
    assert preview["comments"] == 3 and preview["changed"] == 2
    rows = {row["theme"]: row for row in preview["themes"]}
    assert rows["parking"] == {"theme": "parking", "in_use": 0, "draft": 2, "status": "new"}
    assert rows["staff"]["in_use"] == rows["staff"]["draft"] == 1
    assert sorted(untagged) == ["No parking anywhere", "The playground for the kids is lovely"]


def test_a_save_landing_while_a_batch_is_analysed_gets_that_batch_re_tagged(db, monkeypatch):
    from voxpop.text import service

    submit(db, {"nps": 4, "why_low": "Parking is impossible"})
    analyse_comments = service.analyze_comments

    def save_midway(texts, **options):
        save(db, PARKING, BUILT_IN)  # someone saves while this batch is being analysed with version 0
        return analyse_comments(texts, **options)

    monkeypatch.setattr(service, "analyze_comments", save_midway)
    service.analyse_pending(db, keep_original=False)
    monkeypatch.setattr(service, "analyze_comments", analyse_comments)
    with db.read_connection() as connection:
        assert connection.scalar(select(CommentAnalysis.codebook_version)) == BUILT_IN
        assert count_retag(connection) == 1
    analyse(db)
    assert themes_by_comment(db) == {"Parking is impossible": {"parking"}}


def test_a_comment_analysed_again_after_the_retag_read_it_is_left_for_the_next_pass(db, monkeypatch):
    from voxpop.text import service

    submit(db, {"nps": 4, "why_low": "Parking is impossible"})
    analyse(db)
    save(db, PARKING, BUILT_IN)
    tag_comment = service.tag_comment

    def analysed_meanwhile(codebook, text):
        with db.write_connection() as connection:  # the pipeline stores a fresh analysis between read and write
            connection.execute(CommentAnalysis.__table__.update().values(analysed_at=datetime(2030, 1, 1, tzinfo=timezone.utc)))
        return tag_comment(codebook, text)

    monkeypatch.setattr(service, "tag_comment", analysed_meanwhile)
    assert service.retag_outdated(db)[0] == 1
    monkeypatch.setattr(service, "tag_comment", tag_comment)
    with db.read_connection() as connection:
        assert count_retag(connection) == 1  # not marked as re-tagged: its text may have changed
    analyse(db)
    with db.read_connection() as connection:
        assert count_retag(connection) == 0
    assert themes_by_comment(db) == {"Parking is impossible": {"parking"}}


def test_a_saved_version_that_no_longer_compiles_gives_way_to_the_newest_that_does(db):
    save(db, PARKING, BUILT_IN)
    with db.write() as db_session:  # as a stricter voxpop would find a version saved by an older one
        db_session.add(CodebookVersion(version=2, definition="themes:\n- key: a\n  patterns: ['(a|aa)+b']\n"))
    with db.read_connection() as connection:
        stored = current_codebook(connection)
        assert stored.version == 1 and stored.codebook.keys()[-1] == "parking"
        assert "version 2 no longer compiles" in stored.problem and stored.editing[0] == 2
        assert count_retag(connection) == 0
    assert save(db, PARKING.replace("car park", "parking lot"), 2) == 3


def test_a_preview_marks_removed_themes_and_the_figures_leave_them_out(db):
    from voxpop.text.codebook import codebook_from_yaml
    from voxpop.text.metrics import theme_metrics

    submit(db, {"nps": 2, "why_low": "We waited an hour in the queue"})
    analyse(db)
    without_wait = DEFAULT_CODEBOOK_YAML[:DEFAULT_CODEBOOK_YAML.index("- key: wait_time")]
    with db.read_connection() as connection:
        preview = preview_codebook(connection, codebook_from_yaml(without_wait))
    assert {"theme": "wait_time", "in_use": 1, "draft": 0, "status": "removed"} in preview["themes"]
    with db.write() as db_session:
        answer_id = db_session.scalar(select(CommentAnalysis.answer_id))
        correct_theme(db_session=db_session, answer_id=answer_id, theme="wait_time", present=True, user_id=None)
    save(db, without_wait, BUILT_IN)
    analyse(db)
    with db.read_connection() as connection:
        assert [row["theme"] for row in theme_metrics(connection)["themes"]] == []
        kept = connection.execute(select(CommentTheme.theme).where(CommentTheme.source == "correction")).all()
    assert kept == [("wait_time",)]  # the correction stays, should the theme come back
