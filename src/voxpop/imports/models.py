"""Option merges: a choice question's misspelt option counted as the option it means, when results are read.

The answers keep the file's text, so a merge is undone by deleting its row; the audit log records who made
or undid it, and when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
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
