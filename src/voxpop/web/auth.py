"""Who is asking: the staff session, role checks on the server, CSRF tokens, and the client's address."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Protocol

from fastapi import Depends, Request

from voxpop.settings import Settings
from voxpop.store.database import Database


class User(Protocol):
    """What the plumbing needs of a staff member (voxpop.accounts.models.User has it)."""

    id: int
    email: str
    name: str
    role: str
    session_version: int


class LoginRequired(Exception):
    """No staff session; pages redirect to the login, the API answers 401."""


class RoleForbidden(Exception):
    """Logged in, but the role may not do this."""

    def __init__(self, role: str, allowed: tuple[str, ...]):
        super().__init__(f"Your role ({role}) may not do this; it needs one of: {', '.join(allowed)}.")


class CsrfFailed(Exception):
    """A state-changing form without the token of this session."""


async def get_db(request: Request) -> Database:
    # async: a plain def would cost a threadpool hop per request for a dictionary lookup
    return request.app.state.db


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def client_from_scope(scope, *, trust_proxy_headers: bool) -> str:
    """The client's IP. Behind the admin's own proxy, the right-most X-Forwarded-For entry is the address
    that proxy saw; entries further left were written by the client and prove nothing."""
    if trust_proxy_headers:
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-for":
                hops = [hop.strip() for hop in value.decode("latin-1").split(",") if hop.strip()]
                if hops:
                    return hops[-1][:64]
    client = scope.get("client")
    return client[0] if client else "unknown"


def client_address(request: Request, settings: Settings) -> str:
    """The client's IP, for the audit log."""
    return client_from_scope(request.scope, trust_proxy_headers=settings.trust_proxy_headers)


def current_user(request: Request, db: DbDep) -> User | None:
    user_id = request.session.get("uid")
    if not isinstance(user_id, int):
        return None
    # The accounts domain tells who a session belongs to and whether it is still open; the app factory hands
    # its lookup over, so this plumbing never imports a domain package.
    user = request.app.state.find_staff(db, user_id, request.session.get("sid"))
    if user is None or request.session.get("sv") != user.session_version:
        # Deactivated, deleted, logged out, this session ended by its user or an admin, or the password or role
        # changed since this session began.
        request.session.clear()
        return None
    return user


def require_user(request: Request, user: Annotated[User | None, Depends(current_user)]) -> User:
    if user is None:
        raise LoginRequired()
    request.state.user = user  # for render(): every page shows who is logged in and their navigation
    return user


CurrentUser = Annotated[User, Depends(require_user)]


def require_role(*roles: str):
    """A dependency that lets only these roles through."""

    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise RoleForbidden(user.role, roles)
        return user

    check.roles = roles  # read by the role x route matrix test, which walks every route's dependencies
    return check


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def verify_csrf(request: Request) -> None:
    """Refuse a form post whose csrf_token does not match the session's."""
    # Scripts using the staff API send the token (from /api/v1/me) in a header instead of a form field.
    sent = request.headers.get("x-csrf-token") or (await request.form()).get("csrf_token")
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        raise CsrfFailed()


def start_session(request: Request, user: User, session_key: str) -> None:
    """Log the user in with a fresh session (a new CSRF token too, against session fixation); `session_key` names
    the session's record in the store."""
    request.session.clear()
    request.session["uid"] = user.id
    request.session["sv"] = user.session_version
    request.session["sid"] = session_key
    csrf_token(request)


def session_key(request: Request) -> str | None:
    """The key of this request's staff session record."""
    key = request.session.get("sid")
    return key if isinstance(key, str) else None


def same_site_path(target: str | None, default: str) -> str:
    """`target` if it is a path on this site, else `default`: a redirect to wherever a form or link says would let a
    crafted link (a phishing login, a forged form) send staff to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
