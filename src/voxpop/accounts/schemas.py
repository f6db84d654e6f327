"""API shapes of the accounts domain."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class MePublic(BaseModel):
    """The logged-in staff user, and the session's CSRF token that every staff POST must send."""

    id: int
    email: str
    name: str | None
    role: str
    csrf_token: str


class UserPublic(BaseModel):
    """A staff user as admins see them (never their password hash)."""

    id: int
    email: str
    name: str
    role: str = Field(description="admin, manager, analyst, agent or viewer.")
    department_id: int | None
    department: str | None = Field(description="The department's name, or null when the user has none.")
    is_active: bool = Field(description="False once deactivated: the user can no longer log in.")
    has_password: bool = Field(description="False until the user sets a password with their reset link.")
    last_login_at: datetime | None
    created_at: datetime


class UsersPublic(BaseModel):
    """The staff users that match the filters, by name."""

    users: list[UserPublic]


class DepartmentPublic(BaseModel):
    """A department, and how many users (active or not) belong to it."""

    id: int
    name: str
    users: int


class DepartmentsPublic(BaseModel):
    """Every department, by name."""

    departments: list[DepartmentPublic]


class SessionPublic(BaseModel):
    """An open staff session: where and when it was started, and when it was last seen (to within minutes)."""

    id: int
    client: str = Field(description="The client address it was started from.")
    user_agent: str = Field(description="The browser it was started in, as the browser names itself (truncated).")
    created_at: datetime
    last_seen_at: datetime = Field(description="Updated at most every 5 minutes.")
    current: bool = Field(description="True for the session this request was made in.")


class SessionsPublic(BaseModel):
    """A user's open sessions, the most recently seen first."""

    sessions: list[SessionPublic]


class TwoFactorPublic(BaseModel):
    """Whether a user signs in with a code from an authenticator app."""

    enabled: bool
    pending: bool = Field(description="True while a new secret waits to be confirmed with a code.")
    required: bool = Field(description="True when the user's role must sign in with a code (set by an admin).")
    recovery_codes_left: int


class RoleTwoFactorPublic(BaseModel):
    """One role: whether it must sign in with a code, and how many of its active users have set one up."""

    role: str
    required: bool
    users: int
    with_two_factor: int


class SecurityPublic(BaseModel):
    """The roles that must sign in with a second factor."""

    required_roles: list[str]
    roles: list[RoleTwoFactorPublic]


class AccountPublic(BaseModel):
    """The logged-in user's own account, and their open sessions."""

    id: int
    email: str
    name: str
    role: str
    last_login_at: datetime | None
    two_factor: TwoFactorPublic
    sessions: list[SessionPublic]
