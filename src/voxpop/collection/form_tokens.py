"""Signed tokens in the respondent's form: they prove the form came from this server, tie the answers to
the survey version the respondent saw, and carry a nonce that is the filled-in form's idempotency key.
No cookie is needed, so the survey works with cookies and JavaScript off."""

from __future__ import annotations

import secrets
from typing import NamedTuple

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

MAX_AGE = 24 * 3600


class FormToken(NamedTuple):
    nonce: str
    version_id: int


def _signer(signing_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_key, salt="voxpop.survey-form")


def issue(signing_key: str, *, survey_key: str, version_id: int, nonce: str | None = None) -> str:
    """A token for one survey's form; the nonce is kept across the form's pages."""
    return _signer(signing_key).dumps({"s": survey_key, "v": version_id, "n": nonce or secrets.token_urlsafe(16)})


def read(signing_key: str, *, survey_key: str, token: str) -> FormToken | None:
    """The token's contents, or None when it is forged, expired or for another survey."""
    try:
        payload = _signer(signing_key).loads(token, max_age=MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(payload, dict) or payload.get("s") != survey_key:
        return None
    nonce, version_id = payload.get("n"), payload.get("v")
    if not isinstance(nonce, str) or not isinstance(version_id, int):
        return None
    return FormToken(nonce, version_id)
