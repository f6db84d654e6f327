"""The staff navigation: which pages a role sees, and which one is open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

ALL_STAFF = ("admin", "manager", "analyst", "agent", "viewer")


class StaffMember(Protocol):
    role: str


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    current: bool


# (address, label, roles that see it). The server enforces each page's roles again; hiding a link is a courtesy.
PAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/dashboard", "Dashboard", ALL_STAFF),
    ("/cases", "Cases", ALL_STAFF),
    ("/surveys", "Surveys", ALL_STAFF),
    ("/customers", "Customers", ALL_STAFF),
    ("/contacts", "Contacts", ALL_STAFF),
    ("/sends", "Sends", ALL_STAFF),
    ("/comments", "Comments", ALL_STAFF),
    ("/themes", "Themes", ALL_STAFF),
    ("/codebook", "Codebook", ALL_STAFF),
    ("/sources", "Sources", ALL_STAFF),
    ("/improvement", "Improvement", ALL_STAFF),
    ("/scorecards", "Scorecard", ALL_STAFF),
    ("/imports", "Import", ("admin", "manager")),
    ("/users", "Users", ("admin",)),
    ("/admin/mail", "Sending", ("admin",)),
    ("/privacy", "Privacy", ("admin",)),
    ("/admin/audit", "Audit log", ("admin",)),
    ("/account", "Account", ALL_STAFF),
    ("/api-reference", "API", ALL_STAFF),
)


# Pages reached from a menu entry but living at another address, so the entry stays marked on them.
ALSO_UNDER = {"/users": ("/departments", "/admin/security"), "/admin/mail": ("/admin/webhooks",)}


def navigation(user: StaffMember | None, path: str) -> tuple[NavItem, ...]:
    """The pages this user may open, the one under `path` marked current."""
    if user is None:
        return ()
    return tuple(NavItem(href, label, any(path == prefix or path.startswith(prefix + "/")
                                          for prefix in (href, *ALSO_UNDER.get(href, ()))))
                 for href, label, roles in PAGES if user.role in roles)
