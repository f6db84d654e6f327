"""Surveys, their immutable versions and questions, and the workspace's declared response attributes.

The newest version of a survey is the one respondents see. Answers reference a question row of the version they were given
on, so editing a live survey creates a new version and never changes what earlier answers meant.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voxpop.store.base import Base, UTCDateTime, utcnow

SURVEY_STATUSES = ("draft", "live", "closed")


class AttributeDefinition(Base):
    """A response attribute the workspace slices on (segment, channel, touchpoint, ...)."""

    __tablename__ = "attribute_definitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")


class Survey(Base):
    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    default_language: Mapped[str] = mapped_column(String(16), default="en")
    languages: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The staff member who answers for the survey (no ON DELETE: see migration 0010; users are only deactivated).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    versions: Mapped[list[SurveyVersion]] = relationship(order_by="SurveyVersion.number")

    @property
    def current_version(self) -> SurveyVersion | None:
        """The newest version is the one respondents see."""
        return self.versions[-1] if self.versions else None


class SurveyVersion(Base):
    __tablename__ = "survey_versions"
    __table_args__ = (UniqueConstraint("survey_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    questions: Mapped[list[Question]] = relationship(order_by="Question.position")


class Question(Base):
    """One question of one version. kind, scale and CES version are columns so SQL can count by them."""

    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("version_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("survey_versions.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    scale_min: Mapped[int | None] = mapped_column(Integer)
    scale_max: Mapped[int | None] = mapped_column(Integer)
    ces_version: Mapped[str | None] = mapped_column(String(8))
    spec: Mapped[dict] = mapped_column(JSON)


class UnlistedLinkValue(Base):
    """Responses whose public link gave an attribute a value outside the survey's list: they were stored without it
    (the customer is never turned away for a misprinted link), and staff see how many, and the latest value, to
    fix the link."""

    __tablename__ = "unlisted_link_values"

    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    responses: Mapped[int] = mapped_column(Integer, default=0)
    last_value: Mapped[str] = mapped_column(String(200))
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
