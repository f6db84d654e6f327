"""Customers: the people whose voice voxpop records, keyed by the organisation's own id."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voxpop.store.base import Base, UTCDateTime, utcnow


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    language: Mapped[str | None] = mapped_column(String(16))  # "de", "en", "de-CH": what invitations are written in
    # "yes" | "no" | "unknown": whether the customer agreed to be asked for feedback (docs/contacts.md).
    consent: Mapped[str] = mapped_column(String(8), default="unknown", server_default="unknown")
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the consent last changed
    consent_source: Mapped[str | None] = mapped_column(String(200))  # "import:contacts.csv", "unsubscribe"
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set by an erasure: the row holds nothing personal


class Transaction(Base):
    """One purchase line as the source recorded it. Cancellations are kept as their own negative lines and
    net against sales; lines that are not products (postage, bank charges) are kept apart from revenue."""

    __tablename__ = "transactions"
    __table_args__ = (Index("ix_transactions_customer_day", "customer_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    # The source's identity of the line (or a hash of it), so importing a file again adds nothing.
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    day: Mapped[date] = mapped_column(Date)  # the purchase's date as the source gives it
    amount: Mapped[float] = mapped_column(Float)  # revenue of the line; negative for a cancellation
    quantity: Mapped[float | None] = mapped_column(Float)
    cost: Mapped[float | None] = mapped_column(Float)  # cost to serve, when known
    kind: Mapped[str] = mapped_column(String(16), default="sale")  # sale | cancellation | non_product
    invoice: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Suppression(Base):
    """An e-mail address no invitation or reminder may go to, whoever the customer is (docs/contacts.md)."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # normalised: stripped, lower-cased
    reason: Mapped[str] = mapped_column(String(16))  # unsubscribed | bounced | complaint | manual
    source: Mapped[str] = mapped_column(String(200))  # "unsubscribe link", "smtp", "admin:ana@example.com"
    detail: Mapped[str] = mapped_column(Text, default="")  # the SMTP reply of a bounce, an admin's note
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Sample(Base):
    """A recorded draw from the reachable contacts: how it was drawn (so it can be drawn again) and whom it drew."""

    __tablename__ = "samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    method: Mapped[str] = mapped_column(String(16))  # random | stratified
    stratify_by: Mapped[str | None] = mapped_column(String(100))  # the attribute of the strata
    size_asked: Mapped[int] = mapped_column(Integer)
    size_drawn: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    audience: Mapped[dict] = mapped_column(JSON, default=dict)  # the attribute filter: {"segment": ["SMB"]}
    audience_size: Mapped[int] = mapped_column(Integer)  # reachable contacts matching the filter when drawn
    strata: Mapped[list] = mapped_column(JSON, default=list)  # [{"stratum", "audience", "drawn"}] when drawn
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SampleMember(Base):
    __tablename__ = "sample_members"
    __table_args__ = (UniqueConstraint("sample_id", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    stratum: Mapped[str | None] = mapped_column(String(200))  # the stratify_by value; None when not given
