"""The balanced scorecard's tables: scorecards (cascaded by department), perspectives, objectives, measures with
targets that change by period, values people enter, cause-and-effect links, and the monthly review (locked
periods, owners' commentary, action items), and the scorecard PDF's delivery schedule.

A scorecard is defined by a document (`voxpop scorecard apply FILE`, or the edit pages); each applied document is
kept as a version, and the rows below are the live structure, keyed by the document's keys so a new version
updates them in place and never loses the values, commentary or reviews attached to them.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voxpop.store.base import Base, UTCDateTime, utcnow


class Scorecard(Base):
    """The organisation's scorecard, or a department's cascaded from its parent."""

    __tablename__ = "scorecards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("scorecards.id", ondelete="SET NULL"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1)  # the latest applied ScorecardVersion
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScorecardVersion(Base):
    """Each applied definition, as the normalised document, so an earlier version can be read and compared."""

    __tablename__ = "scorecard_versions"

    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[dict] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(300), default="")  # the file name, or "edited on the pages"
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Perspective(Base):
    """Financial, customer, internal process, learning and growth by default; renamable and reorderable."""

    __tablename__ = "scorecard_perspectives"
    __table_args__ = (UniqueConstraint("scorecard_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Objective(Base):
    """A strategic objective in one perspective; a department's objective may roll up into its parent's."""

    __tablename__ = "scorecard_objectives"
    __table_args__ = (UniqueConstraint("scorecard_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"), index=True)
    perspective_id: Mapped[int] = mapped_column(ForeignKey("scorecard_perspectives.id", ondelete="CASCADE"),
                                                index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The parent scorecard's objective this one contributes to (cascading); its score joins that roll-up.
    rolls_up_to_id: Mapped[int | None] = mapped_column(ForeignKey("scorecard_objectives.id", ondelete="SET NULL"),
                                                       index=True)


class Measure(Base):
    """A KPI: where its value comes from (`source`), how it is scored, and for which period."""

    __tablename__ = "scorecard_measures"
    __table_args__ = (UniqueConstraint("scorecard_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"), index=True)
    objective_id: Mapped[int] = mapped_column(ForeignKey("scorecard_objectives.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    unit: Mapped[str] = mapped_column(String(40), default="")
    direction: Mapped[str] = mapped_column(String(10), default="up")  # up | down | middle
    period: Mapped[str] = mapped_column(String(10), default="month")  # month | quarter
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    # linear | progress | goal_red_flag | status_rules | stabilise | yes_no
    scoring: Mapped[str] = mapped_column(String(20), default="linear")
    # {"kind": "survey", "survey": ..., "metric": "nps", "question": ..., "filter": [["attribute", "segment=b2b"]]},
    # {"kind": "outcome", "outcome": "retention"}, {"kind": "theme", "theme": ...}, {"kind": "loop", "metric": ...},
    # {"kind": "formula", "formula": "a / b * 100"}, {"kind": "manual"}: scorecard.sources reads each.
    source: Mapped[dict] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)


class MeasureTarget(Base):
    """A measure's target and thresholds from one period on, until the next row's period."""

    __tablename__ = "scorecard_targets"
    __table_args__ = (UniqueConstraint("measure_id", "from_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("scorecard_measures.id", ondelete="CASCADE"), index=True)
    from_period: Mapped[str] = mapped_column(String(10))  # "2026-01" or "2026-Q1"
    target: Mapped[float | None] = mapped_column(Float)
    baseline: Mapped[float | None] = mapped_column(Float)  # progress scoring
    minimum: Mapped[float | None] = mapped_column(Float)  # linear scoring
    maximum: Mapped[float | None] = mapped_column(Float)
    goal: Mapped[float | None] = mapped_column(Float)  # goal / red flag scoring
    red_flag: Mapped[float | None] = mapped_column(Float)
    low: Mapped[float | None] = mapped_column(Float)  # stabilise: the band that is best
    high: Mapped[float | None] = mapped_column(Float)
    # status rules, in order: [{"when": "actual >= target", "status": "above target"}, ...]
    rules: Mapped[list] = mapped_column(JSON, default=list)


class MeasureValue(Base):
    """A value a person entered (or a CSV brought), with a comment; it counts once the measure's owner approved it."""

    __tablename__ = "scorecard_values"
    __table_args__ = (UniqueConstraint("measure_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("scorecard_measures.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(10))
    value: Mapped[float] = mapped_column(Float)
    n: Mapped[int | None] = mapped_column(Integer)  # when the value is a count or share of something counted
    comment: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(10), default="manual")  # manual | csv
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Link(Base):
    """A cause-and-effect arrow of the strategy map, between two objectives, tested on two of their measures."""

    __tablename__ = "scorecard_links"
    __table_args__ = (UniqueConstraint("cause_id", "effect_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"), index=True)
    cause_id: Mapped[int] = mapped_column(ForeignKey("scorecard_objectives.id", ondelete="CASCADE"))
    effect_id: Mapped[int] = mapped_column(ForeignKey("scorecard_objectives.id", ondelete="CASCADE"))
    # the measures whose series test the arrow; None: each objective's first measure
    cause_measure_id: Mapped[int | None] = mapped_column(ForeignKey("scorecard_measures.id", ondelete="SET NULL"))
    effect_measure_id: Mapped[int | None] = mapped_column(ForeignKey("scorecard_measures.id", ondelete="SET NULL"))
    polarity: Mapped[int] = mapped_column(Integer, default=1)  # +1: more cause, more effect; -1: less
    lag: Mapped[int] = mapped_column(Integer, default=0)  # in the measures' periods
    strength: Mapped[str] = mapped_column(String(10), default="moderate")  # weak | moderate | strong (declared)
    # the attribute whose values are the units of a pooled test across units (segment, store, department)
    unit_attribute: Mapped[str | None] = mapped_column(String(64))


class ObjectiveInitiative(Base):
    """An improvement initiative (cases.models.Initiative, the PDCA object) serving an objective."""

    __tablename__ = "scorecard_objective_initiatives"

    objective_id: Mapped[int] = mapped_column(ForeignKey("scorecard_objectives.id", ondelete="CASCADE"),
                                              primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True)


class Review(Base):
    """A scorecard's period under review; once locked, its scores are the snapshot taken at the lock."""

    __tablename__ = "scorecard_reviews"
    __table_args__ = (UniqueConstraint("scorecard_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(10))
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    snapshot: Mapped[dict | None] = mapped_column(JSON)  # the evaluated scorecard at the lock


class Commentary(Base):
    """A measure owner's analysis and recommendation for one period."""

    __tablename__ = "scorecard_commentary"
    __table_args__ = (UniqueConstraint("measure_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("scorecard_measures.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(10))
    analysis: Mapped[str] = mapped_column(Text, default="")
    recommendation: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActionItem(Base):
    """An action agreed in a review, with its owner and due date."""

    __tablename__ = "scorecard_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(10))
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("scorecard_measures.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    due: Mapped[date | None] = mapped_column(Date)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportSchedule(Base):
    """The scorecard PDF e-mailed to chosen staff every week or month; each send is an outgoing_mail row."""

    __tablename__ = "scorecard_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"), index=True)
    frequency: Mapped[str] = mapped_column(String(10), default="monthly")  # weekly | monthly
    recipients: Mapped[list] = mapped_column(JSON, default=list)  # user ids
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
