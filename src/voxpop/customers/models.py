"""Customers: the people whose voice voxpop records, keyed by the organisation's own id."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from voxpop.store.base import Base, UTCDateTime, utcnow


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
