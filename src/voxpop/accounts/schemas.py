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
