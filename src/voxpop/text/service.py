"""Stored comments through the text pipeline: find the pending ones, analyse a batch, write it through the single writer.

Submissions and imports only insert answers; this module picks them up afterwards, so the pipeline never slows a
submission. Writing an analysis also replaces answers.text with the redacted text (see text/models.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from voxpop.collection.models import Answer
from voxpop.store.base import utcnow
from voxpop.store.database import Database, conflict_insert
from voxpop.text.codebook import tag_comment
from voxpop.text.codebooks import BUILT_IN, current_codebook
from voxpop.text.models import CommentAnalysis, CommentTheme
from voxpop.text.pipeline import CommentAnalysis as Analysis
from voxpop.text.pipeline import analyze_comments

# Bump when redaction, language detection, sentiment or the codebook change what they find: every stored analysis
# older than this is redone by the worker and by `voxpop text backfill`.
PIPELINE_VERSION = 1
# About a tenth of a second of analysis: short enough that the single writer is never held for long.
BATCH_SIZE = 500
# Tagging alone is about twenty times faster than the whole pipeline.
RETAG_BATCH_SIZE = 5000


@dataclass(frozen=True)
class PendingComment:
    """A free-text answer to analyse, and what an earlier analysis left of it."""

    answer_id: int
    stored_text: str  # answers.text as it is now
    original: str | None  # the text before redaction, where it is still known
    earlier_kinds: tuple[str, ...] = ()  # personal data an earlier analysis removed from stored_text
    analysed_before: bool = False

    @property
    def source(self) -> str:
        """What the pipeline reads: the original when known, else the (already redacted) stored text."""
        return self.stored_text if self.original is None else self.original


class Batch(NamedTuple):
    """How many pending comments one batch found and stored, and the highest id among the never-analysed ones."""

    found: int
    stored: int
    last_new_id: int | None


def pending_comments(connection: Connection, *, after_id: int = 0, limit: int = BATCH_SIZE) -> list[PendingComment]:
    """Free-text answers never analysed (ids above after_id, in id order), then analyses older than this pipeline."""
    fresh = connection.execute(
        select(Answer.id, Answer.text)
        .outerjoin(CommentAnalysis, CommentAnalysis.answer_id == Answer.id)
        .where(Answer.text.is_not(None), CommentAnalysis.answer_id.is_(None), Answer.id > after_id)
        .order_by(Answer.id).limit(limit)
    ).all()
    pending = [PendingComment(answer_id, text, text) for answer_id, text in fresh]
    if len(pending) < limit:
        outdated = connection.execute(
            select(CommentAnalysis.answer_id, Answer.text, CommentAnalysis.original, CommentAnalysis.personal_data)
            .join(Answer, Answer.id == CommentAnalysis.answer_id)
            .where(CommentAnalysis.pipeline_version < PIPELINE_VERSION)
            .order_by(CommentAnalysis.answer_id).limit(limit - len(pending))
        ).all()
        pending += [PendingComment(answer_id, text or "", original,
                                   () if original is not None else tuple(kinds or ()), analysed_before=True)
                    for answer_id, text, original, kinds in outdated]
    return pending


def count_pending(connection: Connection) -> int:
    """How many comments wait for analysis: never analysed, or analysed by an older pipeline."""
    fresh = connection.scalar(
        select(func.count()).select_from(Answer)
        .outerjoin(CommentAnalysis, CommentAnalysis.answer_id == Answer.id)
        .where(Answer.text.is_not(None), CommentAnalysis.answer_id.is_(None))
    )
    outdated = connection.scalar(
        select(func.count()).select_from(CommentAnalysis).where(CommentAnalysis.pipeline_version < PIPELINE_VERSION)
    )
    return fresh + outdated


def analyse_pending(db: Database, *, keep_original: bool, after_id: int = 0, limit: int = BATCH_SIZE) -> Batch:
    """Analyse one batch of pending comments and store the results; reading and analysing hold no lock."""
    with db.read_connection() as connection:
        pending = pending_comments(connection, after_id=after_id, limit=limit)
        codebook = current_codebook(connection) if pending else None
    if not pending:
        return Batch(0, 0, None)
    analyses = analyze_comments([comment.source for comment in pending], codebook=codebook.codebook)
    with db.write_connection() as connection:
        stored = store_analyses(connection, pending, analyses, keep_original=keep_original,
                                codebook_version=codebook.version)
    fresh = [comment.answer_id for comment in pending if not comment.analysed_before]
    return Batch(len(pending), stored, max(fresh, default=None))


def store_analyses(connection: Connection, pending: list[PendingComment], analyses: list[Analysis], *,
                   keep_original: bool, codebook_version: int = BUILT_IN) -> int:
    """Write the analyses, the codebook's themes and the redacted answer texts; returns how many were stored.

    An answer deleted since it was read is skipped. Staff corrections are left as they are."""
    ids = [comment.answer_id for comment in pending]
    present = set(connection.scalars(select(Answer.id).where(Answer.id.in_(ids))))
    now = utcnow()
    rows, themes, redacted = [], [], []
    for comment, analysis in zip(pending, analyses):
        if comment.answer_id not in present:
            continue
        rows.append(_analysis_row(comment, analysis, keep_original=keep_original, now=now) |
                    {"codebook_version": codebook_version})
        themes += _theme_rows(comment.answer_id, analysis.tags)
        if analysis.text != comment.stored_text:
            redacted.append({"answer": comment.answer_id, "redacted": analysis.text})
    if not rows:
        return 0
    _upsert_analyses(connection, rows)
    _replace_codebook_themes(connection, present, themes)
    if redacted:
        connection.execute(_REDACT_ANSWER, redacted)
    return len(rows)


def _theme_rows(answer_id: int, tags) -> list[dict]:
    """The comment_themes rows of the codebook's tags on one comment."""
    return [{"answer_id": answer_id, "theme": tag.theme, "source": "codebook",
             "matches": [list(match) for match in tag.matches], "removed": False} for tag in tags]


def _replace_codebook_themes(connection: Connection, answer_ids, themes: list[dict]) -> None:
    connection.execute(delete(CommentTheme).where(CommentTheme.answer_id.in_(answer_ids),
                                                  CommentTheme.source == "codebook"))
    if themes:
        connection.execute(insert(CommentTheme), themes)


def retag_outdated(db: Database, *, after_id: int = 0, limit: int = RETAG_BATCH_SIZE) -> tuple[int, int]:
    """Tag one batch of comments (ids above after_id) that an older codebook version tagged with the one in use;
    returns how many were found and the highest id among them, where the next batch starts.

    Only the codebook runs again, on the stored redacted text its matches point into: redaction, language and
    sentiment do not depend on the codebook. Staff corrections are left as they are."""
    with db.read_connection() as connection:
        codebook = current_codebook(connection)
        outdated = connection.execute(
            select(CommentAnalysis.answer_id, CommentAnalysis.text, CommentAnalysis.analysed_at)
            .where(CommentAnalysis.codebook_version < codebook.version, CommentAnalysis.answer_id > after_id)
            .order_by(CommentAnalysis.answer_id).limit(limit)).all()
    if not outdated:
        return 0, after_id
    read_at = {answer_id: analysed_at for answer_id, _, analysed_at in outdated}
    tagged = {answer_id: _theme_rows(answer_id, tag_comment(codebook.codebook, text)) for answer_id, text, _ in outdated}
    with db.write_connection() as connection:
        # Rows locked in id order (PostgreSQL; SQLite has one writer), and kept only if still outdated and not
        # analysed again since they were read: a new analysis may have changed the text the matches point into.
        still = [answer_id for answer_id, analysed_at in connection.execute(
            select(CommentAnalysis.answer_id, CommentAnalysis.analysed_at)
            .where(CommentAnalysis.answer_id.in_(list(read_at)), CommentAnalysis.codebook_version < codebook.version)
            .order_by(CommentAnalysis.answer_id).with_for_update())
            if analysed_at == read_at[answer_id]]
        _replace_codebook_themes(connection, still, [theme for answer_id in still for theme in tagged[answer_id]])
        connection.execute(update(CommentAnalysis).where(CommentAnalysis.answer_id.in_(still))
                           .values(codebook_version=codebook.version))
    return len(outdated), outdated[-1].answer_id


def count_retag(connection: Connection, version: int | None = None) -> int:
    """How many analysed comments wait to be tagged by the codebook version in use (`version`, when known)."""
    version = current_codebook(connection).version if version is None else version
    return connection.scalar(select(func.count()).select_from(CommentAnalysis)
                             .where(CommentAnalysis.codebook_version < version))


_REDACT_ANSWER = (update(Answer.__table__).where(Answer.__table__.c.id == bindparam("answer"))
                  .values(text=bindparam("redacted")))


def _analysis_row(comment: PendingComment, analysis: Analysis, *, keep_original: bool, now) -> dict:
    sentiment = analysis.sentiment
    # An original equal to the redacted text says nothing more, so it is not stored twice.
    original = comment.original if keep_original and comment.original != analysis.text else None
    return {
        "answer_id": comment.answer_id,
        "text": analysis.text,
        "original": original,
        "personal_data": sorted({item.kind for item in analysis.personal_data} | set(comment.earlier_kinds)),
        "language": analysis.language.code,
        "language_reason": analysis.language.reason,
        "sentiment_score": sentiment.score if sentiment else None,
        "sentiment_label": sentiment.label if sentiment else None,
        "no_sentiment_reason": analysis.no_sentiment_reason,
        "sentences": [{"start": part.start, "end": part.end, "score": part.score, "label": part.label}
                      for part in sentiment.sentences] if sentiment else [],
        "analysed_at": now,
        "pipeline_version": PIPELINE_VERSION,
    }


def _upsert_analyses(connection: Connection, rows: list[dict]) -> None:
    """Insert or replace: the web server's worker and `voxpop text backfill` may analyse the same comment at once."""
    statement = conflict_insert(connection.dialect.name, CommentAnalysis.__table__)
    columns = [name for name in rows[0] if name != "answer_id"]
    connection.execute(
        statement.on_conflict_do_update(index_elements=["answer_id"],
                                        set_={name: statement.excluded[name] for name in columns}),
        rows,
    )


def mark_all_outdated(db: Database) -> int:
    """Have every stored analysis redone (`voxpop text backfill --reprocess`); returns how many there are."""
    with db.write_connection() as connection:
        return connection.execute(update(CommentAnalysis).values(pipeline_version=0)).rowcount


def forget_originals(db: Database) -> int:
    """Delete the kept originals, once the workspace no longer keeps them; returns how many were deleted."""
    with db.read_connection() as connection:
        if connection.scalar(select(CommentAnalysis.answer_id).where(CommentAnalysis.original.is_not(None)).limit(1)) is None:
            return 0  # checked first, so a worker start takes no write lock for nothing
    with db.write_connection() as connection:
        return connection.execute(
            update(CommentAnalysis).where(CommentAnalysis.original.is_not(None)).values(original=None)).rowcount


def correct_theme(*, db_session: Session, answer_id: int, theme: str, present: bool, user_id: int | None) -> None:
    """Record a person's word on one theme of one comment: it is there (added) or it is not (removed)."""
    correction = db_session.get(CommentTheme, (answer_id, theme, "correction"))
    if correction is None:
        correction = CommentTheme(answer_id=answer_id, theme=theme, source="correction", matches=[])
        db_session.add(correction)
    correction.removed = not present
    correction.corrected_by = user_id
    correction.corrected_at = utcnow()
