"""What the text pipeline found in each free-text answer, and the themes staff corrected.

Once a comment is analysed, answers.text holds the redacted text as well, so no page, export or metric can show
personal data by reading the answer. The original survives only in comment_analyses.original, and only when the
workspace keeps originals (VOXPOP_KEEP_ORIGINAL_COMMENTS); only admins may read it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from voxpop.store.base import Base, UTCDateTime, utcnow


class CommentAnalysis(Base):
    """One analysed free-text answer: redacted text, personal data found, language, sentiment."""

    __tablename__ = "comment_analyses"

    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    original: Mapped[str | None] = mapped_column(Text)
    personal_data: Mapped[list] = mapped_column(JSON, default=list)  # the kinds redacted, e.g. ["card", "email"]
    language: Mapped[str | None] = mapped_column(String(8))
    language_reason: Mapped[str | None] = mapped_column(String(200))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    sentiment_label: Mapped[str | None] = mapped_column(String(10))
    no_sentiment_reason: Mapped[str | None] = mapped_column(String(200))
    sentences: Mapped[list] = mapped_column(JSON, default=list)  # [{start, end, score, label}], offsets into text
    analysed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Analyses older than the running pipeline are redone by the worker and by `voxpop text backfill`.
    pipeline_version: Mapped[int] = mapped_column(Integer, index=True)
    # The codebook version that tagged the themes (0: the built-in one); older ones are re-tagged.
    codebook_version: Mapped[int] = mapped_column(Integer, index=True, default=0, server_default="0")


class CommentTheme(Base):
    """A theme of a comment: tagged by the codebook, or added or removed by a person.

    The codebook's rows are replaced whenever the comment is analysed again; corrections never are, so the
    codebook's tags against the corrected ones give its precision and recall."""

    __tablename__ = "comment_themes"
    __table_args__ = (
        Index("ix_comment_themes_theme_answer", "theme", "answer_id"),
        CheckConstraint("source IN ('codebook', 'correction')", name="source"),
    )

    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(10), primary_key=True)
    matches: Mapped[list] = mapped_column(JSON, default=list)  # [[word, start, end]] in the redacted text
    removed: Mapped[bool] = mapped_column(Boolean, default=False)  # a correction saying the theme is not there
    corrected_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CodebookVersion(Base):
    """One saved version of the workspace's codebook, as the YAML people wrote; the highest version is in use.

    Versions are never edited or deleted, so every tag can be traced to the definition that made it and an
    earlier codebook can be brought back by saving it again. With no version saved the built-in codebook
    (version 0) is in use."""

    __tablename__ = "codebook_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    definition: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(500), default="")
    saved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
