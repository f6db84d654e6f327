"""Daily rollups: the sufficient statistics of every scored question per local day and attribute value.

Kept in the same transaction as each response, so dashboards read thousands of small rows instead of
scanning millions of answers (docs/architecture.md: 16 s for a full scan of 10M rows on SQLite, 0.06 s on a
rollup). attribute = "" holds the day's totals over all responses.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from voxpop.core.counts import ALL  # noqa: F401 (the attribute name and value of a day's totals)
from voxpop.store.base import Base


class ScoreRollup(Base):
    __tablename__ = "score_rollups"

    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # in the workspace time zone
    attribute: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)
    total_squares: Mapped[float] = mapped_column(Float)
    promoters: Mapped[int] = mapped_column(Integer)  # ≥ 9: meaningful for NPS questions
    detractors: Mapped[int] = mapped_column(Integer)  # ≤ 6
    top_two: Mapped[int] = mapped_column(Integer)  # ≥ scale maximum − 1: CSAT's top two boxes
    agree: Mapped[int] = mapped_column(Integer)  # ≥ 5: CES 2.0's "agree" answers
