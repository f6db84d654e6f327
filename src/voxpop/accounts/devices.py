"""The known-device cookie (OWASP's device-cookie pattern): set at a successful log-in, signed with the secret key,
naming a random id for the browser and the users who logged in with it. A log-in attempt that carries it for its
account is throttled on that device alone (accounts/throttle.py), so a stranger cannot lock the owner out."""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "voxpop_device"
MAX_AGE = 180 * 24 * 3600  # seconds: a browser unused for half a year is a stranger again
MAX_USERS = 5  # a shared computer keeps the last few staff who logged in on it


def _serializer(signing_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_key, salt="voxpop-known-device")


def read(cookie: str | None, signing_key: str) -> tuple[str, list[int]] | None:
    """The device id and its users from a genuine, unexpired cookie; None for anything else."""
    if not cookie or len(cookie) > 500:
        return None
    try:
        content = _serializer(signing_key).loads(cookie, max_age=MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(content, dict) or not isinstance(content.get("id"), str):
        return None
    users = [user for user in content.get("users", []) if isinstance(user, int)]
    return content["id"], users


def known_device(cookie: str | None, signing_key: str, user_id: int | None) -> str | None:
    """The device id when this browser has logged in to the user's account before, else None."""
    device = read(cookie, signing_key)
    if device is None or user_id is None or user_id not in device[1]:
        return None
    return device[0]


def remember(cookie: str | None, signing_key: str, user_id: int) -> str:
    """The cookie's new value once the user has logged in with this browser (a new id for a new browser)."""
    device_id, users = read(cookie, signing_key) or (secrets.token_urlsafe(16), [])
    users = [*(user for user in users if user != user_id), user_id][-MAX_USERS:]
    return _serializer(signing_key).dumps({"id": device_id, "users": users})
