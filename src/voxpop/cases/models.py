"""The closed loop's tables: rules that open cases, cases and their timeline, root causes, the workspace's case
policy (routing, deadlines, business hours), improvement initiatives and alert rules on control charts.

A case is open until it is closed: "at most one open case per customer and rule" is a partial unique index, so
two workers, or a worker and a backfill, can never open a second one. Every response a rule looked at and kept
is recorded once in `case_triggers` (opened a case, joined the customer's open case, or held out), which is
what makes a backfill repeatable and the random holdout an honest record.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voxpop.store.base import Base, UTCDateTime, utcnow

OPEN_CASE = text("status <> 'closed'")


class CaseRule(Base):
    """A rule that opens a case for a response that meets its conditions (see cases.rules for the file format)."""

    __tablename__ = "case_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    # {"answer": ["nps:0-6"], "attribute": ["channel=app"], "theme": "late-delivery", "sentiment": "negative"}
    conditions: Mapped[dict] = mapped_column(JSON, default=dict)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    holdout_share: Mapped[float] = mapped_column(Float, default=0.0)  # 0.05: one case in twenty held out at random
    consent_question: Mapped[str | None] = mapped_column(String(64))  # the answer that says "you may contact me"
    # Responses submitted before this were history when the rule was made: only a backfill looks at them.
    active_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseRoute(Base):
    """Routing by attribute: a case whose response has `attribute` = `value` goes to `department_id`; the
    first route that matches, by position, wins."""

    __tablename__ = "case_routes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    attribute: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))


class CasePolicy(Base):
    """The workspace's one case policy: deadlines per priority in business hours, the business week, how cases
    are shared out within a department, and the follow-up survey after closing."""

    __tablename__ = "case_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # {"urgent": 4, "high": 24, "normal": 24, "low": 48}: business hours to first contact, per priority
    first_contact_hours: Mapped[dict] = mapped_column(JSON, default=dict)
    resolve_hours: Mapped[dict] = mapped_column(JSON, default=dict)
    workday_start: Mapped[str] = mapped_column(String(5), default="09:00")
    workday_end: Mapped[str] = mapped_column(String(5), default="17:00")
    workdays: Mapped[list] = mapped_column(JSON, default=list)  # ISO weekdays, 1 = Monday
    warn_before_hours: Mapped[float] = mapped_column(Float, default=4.0)
    assignment: Mapped[str] = mapped_column(String(20), default="least-open")  # or round-robin
    default_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    followup_survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"))
    followup_days: Mapped[int] = mapped_column(Integer, default=14)


class RootCause(Base):
    """A cause a case can be closed with; the workspace keeps the list, and a cause may point to a codebook theme."""

    __tablename__ = "root_causes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    theme: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("uq_cases_open_per_customer_rule", "customer_id", "rule_id", unique=True,
              sqlite_where=OPEN_CASE, postgresql_where=OPEN_CASE),
        Index("ix_cases_department_status", "department_id", "status"),
        Index("ix_cases_owner_status", "owner_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("case_rules.id", ondelete="SET NULL"))
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id", ondelete="SET NULL"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="new")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_contact_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Each deadline warns its owner once before and escalates once after; these say it was done.
    first_contact_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_contact_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    root_cause_id: Mapped[int | None] = mapped_column(ForeignKey("root_causes.id", ondelete="SET NULL"))
    action_taken: Mapped[str | None] = mapped_column(Text)
    issue_resolved: Mapped[bool | None] = mapped_column(Boolean)  # the customer's issue, as the closer judged it
    resolved_at_first_contact: Mapped[bool | None] = mapped_column(Boolean)
    contact_consent: Mapped[bool | None] = mapped_column(Boolean)  # None: not asked
    followup_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    followup_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    followup_invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id", ondelete="SET NULL"))
    reopened: Mapped[int] = mapped_column(Integer, default=0)

    events: Mapped[list[CaseEvent]] = relationship(order_by="CaseEvent.id", cascade="all, delete-orphan")


class CaseEvent(Base):
    """One entry of a case's timeline: opened, a status change, an assignment, a note, an e-mail, a call or
    meeting, a warning or escalation, the customer answering again."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class CaseTrigger(Base):
    """A response a rule kept: it opened a case, joined the customer's open case, or was held out at random."""

    __tablename__ = "case_triggers"

    rule_id: Mapped[int] = mapped_column(ForeignKey("case_rules.id", ondelete="CASCADE"), primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(10))  # opened | joined | held_out
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    backfill: Mapped[bool] = mapped_column(Boolean, default=False)


class Initiative(Base):
    """An improvement initiative (Plan-Do-Check-Act) against a recurring cause, with the metric that tells
    whether it worked."""

    __tablename__ = "initiatives"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    root_causes: Mapped[list] = mapped_column(JSON, default=list)  # root cause keys
    themes: Mapped[list] = mapped_column(JSON, default=list)  # codebook theme keys
    # {"survey": "relationship-nps", "metric": "nps", "question": "nps", "filter": [["attribute", "channel=app"]]}
    target: Mapped[dict] = mapped_column(JSON, default=dict)
    stage: Mapped[str] = mapped_column(String(10), default="plan")  # plan | do | check | act | closed
    start_date: Mapped[date | None] = mapped_column(Date)
    change_date: Mapped[date | None] = mapped_column(Date)  # the day the change went live: before/after split
    end_date: Mapped[date | None] = mapped_column(Date)
    budget: Mapped[float | None] = mapped_column(Float)
    draft: Mapped[bool] = mapped_column(Boolean, default=False)  # opened from an alert, not yet taken up
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Milestone(Base):
    """A dated step of an initiative; done when its date of completion is set."""

    __tablename__ = "initiative_milestones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    due: Mapped[date | None] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    position: Mapped[int] = mapped_column(Integer, default=0)


class AlertRule(Base):
    """Watch a metric's control chart (of a survey, with a filter) and tell the owner once per signal."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    target: Mapped[dict] = mapped_column(JSON, default=dict)  # as Initiative.target
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertSignal(Base):
    """A signal an alert rule found and told its owner about: unique, so each is told once."""

    __tablename__ = "alert_signals"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(String(20), primary_key=True)  # "2026-11"
    rule: Mapped[str] = mapped_column(String(40), primary_key=True)  # "nelson-1"
    message: Mapped[str] = mapped_column(Text)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    initiative_id: Mapped[int | None] = mapped_column(ForeignKey("initiatives.id", ondelete="SET NULL"))
