"""API shapes of the accounts domain."""

from __future__ import annotations

from pydantic import BaseModel


class MePublic(BaseModel):
    """The logged-in staff user, and the session's CSRF token that every staff POST must send."""

    id: int
    email: str
    name: str | None
    role: str
    csrf_token: str
