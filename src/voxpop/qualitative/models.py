"""Focus groups and interviews as sources: the session, who took part, and what each of them said, turn by turn.

A turn is stored as a comment's analysis is (text/models.py): only the redacted text, the personal data found,
language, sentiment with its sentences, and the codebook's themes beside people's corrections, with the pipeline
and codebook versions that made them. The transcript file itself is not kept, so no original text survives.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from voxpop.store.base import Base, UTCDateTime, utcnow

KINDS = ("focus_group", "interview")
ROLES = ("moderator", "participant")
FORMATS = ("txt", "vtt", "srt", "docx")


class QualitativeSource(Base):
    """One focus group or interview, imported from its transcript."""

    __tablename__ = "qualitative_sources"
    __table_args__ = (CheckConstraint("kind IN ('focus_group', 'interview')", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date, index=True)
    moderator: Mapped[str | None] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))  # txt | vtt | srt | docx
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notes: Mapped[str] = mapped_column(Text, default="")


class Participant(Base):
    """Someone who speaks in a session, by the label the transcript gives them, linked to a customer or a segment
    when known."""

    __tablename__ = "qualitative_participants"
    __table_args__ = (
        UniqueConstraint("source_id", "label"),
        CheckConstraint("role IN ('moderator', 'participant')", name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("qualitative_sources.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="participant")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    segment: Mapped[str | None] = mapped_column(String(200))


class Turn(Base):
    """One speaker turn (consecutive cues of one speaker merged), redacted and analysed like a comment."""

    __tablename__ = "qualitative_turns"
    __table_args__ = (UniqueConstraint("source_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("qualitative_sources.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("qualitative_participants.id", ondelete="CASCADE"),
                                                index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, ... in the order spoken
    start_seconds: Mapped[float | None] = mapped_column(Float)
    end_seconds: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)  # redacted
    personal_data: Mapped[list] = mapped_column(JSON, default=list)  # the kinds redacted, e.g. ["email", "phone"]
    language: Mapped[str | None] = mapped_column(String(8))
    language_reason: Mapped[str | None] = mapped_column(String(200))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    sentiment_label: Mapped[str | None] = mapped_column(String(10))
    no_sentiment_reason: Mapped[str | None] = mapped_column(String(200))
    sentences: Mapped[list] = mapped_column(JSON, default=list)  # [{start, end, score, label}], offsets into text
    analysed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    pipeline_version: Mapped[int] = mapped_column(Integer)
    codebook_version: Mapped[int] = mapped_column(Integer, index=True, default=0, server_default="0")


class TurnTheme(Base):
    """A theme of a turn: tagged by the codebook, or added or removed by a person (as comment_themes is)."""

    __tablename__ = "qualitative_turn_themes"
    __table_args__ = (
        Index("ix_qualitative_turn_themes_theme_turn", "theme", "turn_id"),
        CheckConstraint("source IN ('codebook', 'correction')", name="source"),
    )

    turn_id: Mapped[int] = mapped_column(ForeignKey("qualitative_turns.id", ondelete="CASCADE"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(10), primary_key=True)
    matches: Mapped[list] = mapped_column(JSON, default=list)  # [[word, start, end]] in the redacted text
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    corrected_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
