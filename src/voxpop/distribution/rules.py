"""Contact-frequency rules: how often one customer may be asked, as small pure functions of their invitation history.

Rules count the invitations of every send, triggered or not, and of `voxpop survey invite` too (all of them are
collection invitations); a per-survey rule counts only that survey's. Qualtrics advises asking a customer no more
than once every 30 to 60 days; the rules page says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.collection.models import Invitation
from voxpop.distribution.models import ContactRule

CHUNK = 900  # ids per IN list: under SQLite's old limit of 999 bound parameters


@dataclass(frozen=True)
class Limits:
    """One rule's numbers; survey_id None: counted over every survey."""

    max_invitations: int | None
    per_days: int | None
    min_gap_days: int | None
    survey_id: int | None = None

    @property
    def window_days(self) -> int:
        """How far back the rule looks."""
        return max(self.per_days or 0, self.min_gap_days or 0)


@dataclass(frozen=True)
class Invited:
    at: datetime
    survey_id: int


def _times(times: int) -> str:
    return "once" if times == 1 else "twice" if times == 2 else f"{times} times"


def _days(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"


def rule_problem(limits: Limits, history: Iterable[Invited], now: datetime) -> str | None:
    """Why `limits` forbid inviting a customer with this history now, in words; None when they allow it."""
    scope = "" if limits.survey_id is None else " to this survey"
    relevant = sorted((item.at for item in history if limits.survey_id in (None, item.survey_id)), reverse=True)
    if limits.max_invitations is not None and limits.per_days:
        recent = [at for at in relevant if at > now - timedelta(days=limits.per_days)]
        if len(recent) >= limits.max_invitations:
            return (f"invited {_times(len(recent))}{scope} in the last {_days(limits.per_days)} "
                    f"(limit {limits.max_invitations})")
    if limits.min_gap_days and relevant and relevant[0] > now - timedelta(days=limits.min_gap_days):
        ago = (now - relevant[0]).days
        when = "today" if ago == 0 else f"{_days(ago)} ago"
        return f"last invited{scope} {when} (rules need {limits.min_gap_days})"
    return None


def first_problem(rules: list[Limits], history: list[Invited], now: datetime) -> str | None:
    """The first rule a new invitation would break, in words."""
    for limits in rules:
        problem = rule_problem(limits, history, now)
        if problem:
            return problem
    return None


def active_limits(db_session: Session, *, survey_id: int) -> list[Limits]:
    """The active rules for an invitation to this survey: the global ones, then the survey's own."""
    found = db_session.scalars(select(ContactRule).where(
        ContactRule.active.is_(True), (ContactRule.survey_id.is_(None)) | (ContactRule.survey_id == survey_id))
        .order_by(ContactRule.survey_id.is_not(None), ContactRule.id)).all()
    return [Limits(rule.max_invitations, rule.per_days, rule.min_gap_days, rule.survey_id) for rule in found]


def invitation_history(db_session: Session, customer_ids: Iterable[int], *, since: datetime,
                       ) -> dict[int, list[Invited]]:
    """Each customer's invitations created after `since` (to any survey), newest first."""
    history: dict[int, list[Invited]] = defaultdict(list)
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), CHUNK):
        rows = db_session.execute(select(Invitation.customer_id, Invitation.created_at, Invitation.survey_id).where(
            Invitation.customer_id.in_(ids[start:start + CHUNK]), Invitation.created_at > since))
        for customer_id, created_at, survey_id in rows:
            history[customer_id].append(Invited(created_at, survey_id))
    return history
