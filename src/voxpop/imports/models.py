"""Option merges: a choice question's misspelt option counted as the option it means, when results are read.

The answers keep the file's text, so a merge is undone by deleting its row; the audit log records who made
or undid it, and when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voxpop.store.base import Base, UTCDateTime, utcnow


class OptionMerge(Base):
    """Answers of `question` that chose `from_option` are counted as `to_option`."""

    __tablename__ = "option_merges"
    __table_args__ = (UniqueConstraint("survey_id", "question", "from_option"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(String(64))  # the question's key, the same in every version
    from_option: Mapped[str] = mapped_column(String(200))
    to_option: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportRun(Base):
    """One import's writing phase: its responses carry its id (responses.import_run_id) until it is done, so a run
    that failed, or whose process was killed, can be taken back whole (imports.runs)."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None once a survey it created is taken back with it (the run stays, to say what happened)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"), index=True)
    survey_created: Mapped[bool] = mapped_column(Boolean, default=False)  # the run made the survey: undone with it
    status: Mapped[str] = mapped_column(String(16), index=True)  # running, done or failed
    file: Mapped[str] = mapped_column(String(300))
    zone: Mapped[str] = mapped_column(String(64))  # the rollups' time zone, to take its counts back in
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # each batch's commit
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new: Mapped[int] = mapped_column(Integer, default=0)
    present: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)  # why it failed, or that a stale run was found
