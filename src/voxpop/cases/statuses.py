"""A case's statuses and the moves between them. Every change of status goes through `check_move`, so no
illegal transition is ever stored (a hypothesis state machine drives random sequences to prove it).

    new → in_progress → waiting → resolved → closed
    a new case, or one in progress or waiting, can be resolved (a new one when the customer asked not to be
    contacted and the team fixed what it could); one waiting goes back to in progress when the customer replies;
    a resolved or closed case can be reopened (back to in progress).

RUNNING are the statuses whose deadlines run (the queue's overdue, the case worker's warnings and escalations);
OPEN are those not closed (the one open case per customer and rule, the owner's load).
"""

from __future__ import annotations

STATUSES = ("new", "in_progress", "waiting", "resolved", "closed")
LABELS = {"new": "New", "in_progress": "In progress", "waiting": "Waiting on customer", "resolved": "Resolved",
          "closed": "Closed"}
MOVES: dict[str, tuple[str, ...]] = {
    "new": ("in_progress", "resolved"),
    "in_progress": ("waiting", "resolved"),
    "waiting": ("in_progress", "resolved"),
    "resolved": ("closed", "in_progress"),
    "closed": ("in_progress",),
}
OPEN = tuple(status for status in STATUSES if status != "closed")
RUNNING = ("new", "in_progress", "waiting")  # a resolved case has met its deadlines, whenever it did
PRIORITIES = ("urgent", "high", "normal", "low")


class IllegalMove(ValueError):
    """A status change the workflow does not allow, said so the user can see what is allowed."""


def check_move(current: str, target: str) -> None:
    """Raise IllegalMove unless a case may go from `current` to `target`."""
    if current not in MOVES:
        raise IllegalMove(f"unknown status {current!r}")
    if target not in MOVES[current]:
        allowed = " or ".join(LABELS[status] for status in MOVES[current])
        raise IllegalMove(f"a case that is {LABELS[current].lower()} cannot become {LABELS.get(target, target).lower()}; "
                          f"it can become {allowed.lower()}")


def is_reopen(current: str, target: str) -> bool:
    return current in ("resolved", "closed") and target == "in_progress"
