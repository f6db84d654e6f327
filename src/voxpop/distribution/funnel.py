"""The response funnel of e-mail invitations: invited -> delivered -> started -> completed, overall and by a
customer attribute or language, each stage's share with a Wilson interval, and the time from invitation to
response.

The counts are derived from the store, not from the send log, so they are right even before the send worker has
logged the latest outcomes:

- invited: every invitation a send (or a trigger using it) made; skipped customers were never invited;
- delivered: at least one of the invitation's e-mails was accepted by the SMTP server, and no bounce came back;
- started: the invitation's survey link was opened (a page view, never a tracking pixel), or it was answered;
- completed: a response carries the invitation.

E-mail opens are not counted: voxpop sends no tracking pixel.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, cast, exists, literal, select
from sqlalchemy.orm import Session

from voxpop.collection.models import Invitation, Response
from voxpop.core.estimates import Estimate, proportion
from voxpop.customers.models import Customer
from voxpop.distribution.models import SendInvitation
from voxpop.notify.models import OutgoingMail

STAGES = ("invited", "delivered", "started", "completed")
STAGE_LABELS = {"invited": "Invited", "delivered": "Delivered", "started": "Started", "completed": "Completed"}
LANGUAGE = "language"  # the grouping by the invitation's language, beside the customers' attributes
MIN_BASE = 1  # a share of invitations is exact counting, not a sample estimate: shown from the first one


@dataclass(frozen=True)
class Invited:
    """One invitation, reduced to what the funnel needs."""

    language: str
    attributes: dict
    delivered: bool
    started: bool
    completed: bool
    invited_at: datetime
    completed_at: datetime | None
    clicked_score: int | None = None  # the score clicked in the e-mail, if any


@dataclass(frozen=True)
class Stage:
    name: str
    label: str
    count: int
    of_invited: Estimate | None  # None for "invited" itself
    of_previous: Estimate | None  # the step's conversion from the stage before


@dataclass(frozen=True)
class Duration:
    """Hours from invitation to response: median and quartiles (type-7 quantiles, as spreadsheets and numpy)."""

    n: int
    median: float | None
    q1: float | None
    q3: float | None


@dataclass(frozen=True)
class Funnel:
    label: str  # "All invitations" or the group's value
    stages: tuple[Stage, ...]
    time_to_complete: Duration
    clicked: int = 0  # clicked a score in the e-mail
    clicked_not_completed: int = 0  # of those, never submitted: their clicked score is all voxpop has


@dataclass(frozen=True)
class FunnelReport:
    overall: Funnel
    by: str  # LANGUAGE or an attribute key; "" for none
    groups: tuple[Funnel, ...]
    group_options: tuple[str, ...]  # what the funnel can be split by


def invitations(db_session: Session, *, send_ids: list[int]) -> list[Invited]:
    """The invitations of these sends with their stage flags, in one query."""
    if not send_ids:
        return []
    related = literal("invitation:") + cast(Invitation.id, String)
    delivered = exists().where(OutgoingMail.related == related, OutgoingMail.status == "sent")
    rows = db_session.execute(
        select(SendInvitation.language, SendInvitation.status, Customer.attributes, delivered.label("delivered"),
               Invitation.created_at, Invitation.opened_at, Invitation.clicked_score, Response.submitted_at)
        .join(Invitation, Invitation.id == SendInvitation.invitation_id)
        .join(Customer, Customer.id == SendInvitation.customer_id)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(SendInvitation.send_id.in_(send_ids))).all()
    return [Invited(language=row.language, attributes=row.attributes or {},
                    delivered=bool(row.delivered) and row.status != "bounced",
                    started=row.opened_at is not None or row.submitted_at is not None,
                    completed=row.submitted_at is not None, invited_at=row.created_at, completed_at=row.submitted_at,
                    clicked_score=row.clicked_score)
            for row in rows]


def _share(successes: int, n: int) -> Estimate | None:
    return proportion(successes=successes, n=n, min_base=MIN_BASE) if n else None


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """First quartile, median and third quartile (type 7: linear between order statistics)."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def duration(invited: list[Invited]) -> Duration:
    hours = sorted((row.completed_at - row.invited_at).total_seconds() / 3600 for row in invited
                   if row.completed_at is not None)
    if not hours:
        return Duration(n=0, median=None, q1=None, q3=None)
    q1, median, q3 = quartiles(hours)
    return Duration(n=len(hours), median=median, q1=q1, q3=q3)


def funnel(invited: list[Invited], label: str) -> Funnel:
    counts = {"invited": len(invited), "delivered": sum(row.delivered for row in invited),
              "started": sum(row.started for row in invited), "completed": sum(row.completed for row in invited)}
    stages = []
    for index, name in enumerate(STAGES):
        previous = counts[STAGES[index - 1]] if index else 0
        # started and completed can happen without a recorded delivery (a forwarded link, a bounce after the
        # answer): the step's share is then capped, never over 100%
        stages.append(Stage(name=name, label=STAGE_LABELS[name], count=counts[name],
                            of_invited=_share(counts[name], counts["invited"]) if index else None,
                            of_previous=_share(min(counts[name], previous), previous) if index else None))
    clicked = [row for row in invited if row.clicked_score is not None]
    return Funnel(label=label, stages=tuple(stages), time_to_complete=duration(invited), clicked=len(clicked),
                  clicked_not_completed=sum(not row.completed for row in clicked))


def group_options(invited: list[Invited]) -> tuple[str, ...]:
    keys = sorted({key for row in invited for key, value in row.attributes.items()
                   if isinstance(value, str | int | bool)})
    return (LANGUAGE, *keys)


def report(invited: list[Invited], *, by: str = "") -> FunnelReport:
    """The funnel overall and, when `by` names the language or an attribute, per value of it (largest first;
    customers without the attribute as "(none)")."""
    options = group_options(invited)
    if by not in options:
        by = "segment" if "segment" in options else ""
    groups: dict[str, list[Invited]] = {}
    if by:
        for row in invited:
            value = row.language if by == LANGUAGE else row.attributes.get(by)
            groups.setdefault("(none)" if value in (None, "") else str(value), []).append(row)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return FunnelReport(overall=funnel(invited, "All invitations"), by=by,
                        groups=tuple(funnel(rows, value) for value, rows in ordered), group_options=options)
