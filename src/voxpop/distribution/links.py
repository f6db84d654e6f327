"""The links an invitation e-mail carries: the survey with its personal token, one per embedded score, and the
one-click unsubscribe (RFC 8058). The endpoints behind the unsubscribe link live in distribution.public_views."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

from itsdangerous import URLSafeSerializer

from voxpop.settings import Settings

UNSUBSCRIBE_SALT = "unsubscribe"


def unsubscribe_token(settings: Settings, invitation_id: int) -> str:
    """A signed, unguessable stand-in for the invitation id: nobody can unsubscribe someone else by counting."""
    return URLSafeSerializer(settings.signing_key, salt=UNSUBSCRIBE_SALT).dumps(invitation_id)


def unsubscribe_url(settings: Settings, invitation_id: int) -> str:
    return f"{settings.public_url}/u/{unsubscribe_token(settings, invitation_id)}"


def survey_url(settings: Settings, survey_key: str, token: str, language: str) -> str:
    return f"{settings.public_url}/s/{survey_key}?{urlencode({'t': token, 'lang': language})}"


def score_url(settings: Settings, survey_key: str, token: str, language: str, question_key: str, score: int) -> str:
    """The survey link that opens with `score` already chosen for `question_key` (a click in the e-mail)."""
    return f"{survey_url(settings, survey_key, token, language)}&{urlencode({'q': question_key, 'score': score})}"


def unsubscribe_headers(settings: Settings, invitation_id: int) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: mail clients show an Unsubscribe button that POSTs to the link."""
    return {"List-Unsubscribe": f"<{unsubscribe_url(settings, invitation_id)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def invitation_token(settings: Settings, *, send_id: int, customer_id: int, occasion: str) -> str:
    """The invitation's token, derived with the secret key from what makes the invitation unique.

    The store keeps only the token's hash (a leaked database lets nobody answer in a customer's name); deriving it
    lets each reminder carry the same personal link as the first e-mail without keeping the token anywhere."""
    message = f"invitation:{send_id}:{customer_id}:{occasion}".encode()
    digest = hmac.new(settings.signing_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")
