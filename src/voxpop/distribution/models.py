"""Sends: e-mail invitation waves, the invitations they made, the send log, contact-frequency rules and triggers.

An invitation's token lives only in the e-mail (the collection table keeps its hash), so the mail is built in the
same transaction that creates the invitation. Re-running a send never invites a customer twice: the database
refuses a second (send, customer, occasion) row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voxpop.store.base import Base, UTCDateTime, utcnow

SEND_STATUSES = ("draft", "scheduled", "sending", "done", "cancelled")
INVITATION_STATUSES = ("queued", "sent", "failed", "bounced", "started", "completed", "unsubscribed", "expired",
                       "skipped")
EVENT_KINDS = ("queued", "skipped", "sent", "failed", "bounced", "reminded", "started", "completed", "unsubscribed",
               "expired")


class Send(Base):
    """One e-mail wave to an audience (a sample or a filter over contacts), or the templates a trigger uses."""

    __tablename__ = "sends"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | scheduled | sending | done | cancelled
    # {"sample_id": 3} | {"filter": {"segment": ["Enterprise", "SMB"]}} | {"trigger": true}: who is asked
    audience: Mapped[dict] = mapped_column(JSON, default=dict)
    templates: Mapped[dict] = mapped_column(JSON, default=dict)  # {language: {"subject": ..., "body": ...}}
    default_language: Mapped[str] = mapped_column(String(16), default="en")
    embed_question: Mapped[str | None] = mapped_column(String(64))  # key of an nps/csat question shown as scores
    max_reminders: Mapped[int] = mapped_column(Integer, default=1)  # 0-3
    reminder_gap_days: Mapped[int] = mapped_column(Integer, default=3)  # >= 1
    expires_after_days: Mapped[int] = mapped_column(Integer, default=14)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SendInvitation(Base):
    """One customer invited by a send: its language, where it stands, and its reminders."""

    __tablename__ = "send_invitations"
    __table_args__ = (
        # a wave's occasion is "": one invitation per customer; a triggered one is "event:<id>", one per event
        UniqueConstraint("send_id", "customer_id", "occasion"),
        Index("ix_send_invitations_reminder", "status", "next_reminder_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"), unique=True)
    send_id: Mapped[int] = mapped_column(ForeignKey("sends.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    occasion: Mapped[str] = mapped_column(String(64), default="")
    language: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    next_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_mail_id: Mapped[int | None] = mapped_column(ForeignKey("outgoing_mail.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InvitationEvent(Base):
    """The send log: one row per thing that happened to an invitation (or to a customer a send skipped)."""

    __tablename__ = "invitation_events"
    __table_args__ = (Index("ix_invitation_events_send_kind", "send_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    send_id: Mapped[int] = mapped_column(ForeignKey("sends.id", ondelete="CASCADE"))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))  # see EVENT_KINDS
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    detail: Mapped[str | None] = mapped_column(Text)  # the skip reason, the SMTP reply
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("outgoing_mail.id", ondelete="SET NULL"))


class ContactRule(Base):
    """How often a customer may be asked: at most `max_invitations` per `per_days`, and `min_gap_days` apart.
    Global when survey_id is None; counted over invitations to every survey (global) or to that survey."""

    __tablename__ = "contact_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    max_invitations: Mapped[int | None] = mapped_column(Integer)  # with per_days; None: no count limit
    per_days: Mapped[int | None] = mapped_column(Integer)
    min_gap_days: Mapped[int | None] = mapped_column(Integer)  # None: no gap required
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Trigger(Base):
    """Invite a customer `delay_days` after an event named `event_name`, with the templates of send `send_id`."""

    __tablename__ = "triggers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    event_name: Mapped[str] = mapped_column(String(100))  # "purchase" (a sale in the transactions) or any posted name
    delay_days: Mapped[int] = mapped_column(Integer, default=0)
    send_id: Mapped[int] = mapped_column(ForeignKey("sends.id", ondelete="CASCADE"))  # templates, reminders, expiry
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TriggerEvent(Base):
    """Something that happened to a customer (posted to the API, or a purchase), kept once per (name, dedupe key)."""

    __tablename__ = "trigger_events"
    __table_args__ = (
        UniqueConstraint("name", "dedupe_key"),
        Index("ix_trigger_events_pending", "processed_at", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(200))  # the customer's id as the poster gave it
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16), default="api")  # api | purchase
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # what each trigger did with it, by trigger key: "invited (invitation 12)", "skipped: unsubscribed"
    result: Mapped[dict] = mapped_column(JSON, default=dict)
