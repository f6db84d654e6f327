"""Invitations, responses, their answers and attributes.

Uniqueness is enforced by the database, not only by code: one response per invitation, and one per
(survey, idempotency key), so a retry or a double submit can never create a second response.

A response's attributes (segment, channel, store, ...) are stored once per distinct combination, an attribute
set, that responses point to (a "junk dimension" in Kimball's terms). Most responses share one of a few dozen
combinations, so a response costs one column instead of one indexed row per attribute: a million-row import with
four attributes writes 4.7 million rows instead of 8.7 million. The view `response_attributes` (migration 0008)
still shows them one row per response and attribute, for the engine and for analysts' SQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voxpop.store.base import Base, UTCDateTime, utcnow


class Invitation(Base):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    # Only a hash is stored: a database leak must not let anyone answer in a customer's name.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the customer first opened the invitation's link (a page view, never a tracking pixel: opens of the
    # e-mail itself are not counted), and the score they chose in the e-mail, if they clicked one.
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clicked_question: Mapped[str | None] = mapped_column(String(64))
    clicked_score: Mapped[int | None] = mapped_column(Integer)
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Response(Base):
    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("survey_id", "idempotency_key"),
        Index("ix_responses_survey_submitted", "survey_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("survey_versions.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id", ondelete="SET NULL"), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attribute_set_id: Mapped[int | None] = mapped_column(ForeignKey("attribute_sets.id"))  # None: no attributes
    # The import run that wrote it (imports.models.ImportRun; no foreign key, as that table belongs to the imports
    # package above this one): a failed run's responses are found by it and taken back. None: a live submission.
    import_run_id: Mapped[int | None] = mapped_column(Integer, index=True)

    answers: Mapped[list[Answer]] = relationship(cascade="all, delete-orphan")
    attributes: Mapped[list[AttributeSetValue]] = relationship(  # its set's values, for reading
        primaryjoin="foreign(AttributeSetValue.set_id) == Response.attribute_set_id", viewonly=True)


class Answer(Base):
    """One answer. A multiple-choice answer is one row per chosen option, so SQL can count choices."""

    __tablename__ = "answers"
    __table_args__ = (Index("ix_answers_question_score", "question_id", "score"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    score: Mapped[int | None] = mapped_column(Integer)
    choice: Mapped[str | None] = mapped_column(Text)  # imported "Other" answers can be long free text
    text: Mapped[str | None] = mapped_column(Text)


class AttributeSet(Base):
    """One distinct combination of attribute values, shared by every response that has exactly these values."""

    __tablename__ = "attribute_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the sorted (name, value) pairs


class AttributeSetValue(Base):
    __tablename__ = "attribute_set_values"
    __table_args__ = (Index("ix_attribute_set_values_name_value", "name", "value"),)

    set_id: Mapped[int] = mapped_column(ForeignKey("attribute_sets.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


# The view of migration 0008, one row per response and attribute, for reading (its own metadata: Alembic and the
# model check must not take it for a table).
response_attributes = Table("response_attributes", MetaData(), Column("response_id", Integer), Column("name", String(64)),
                            Column("value", String(200)))
