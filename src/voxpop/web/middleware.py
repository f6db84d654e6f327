"""ASGI middleware: body size limit, public rate limit, and security headers on every response."""

from __future__ import annotations

import json
import re
from html import escape

from voxpop.web.problems import PROBLEM_JSON, TITLES, problem_body
from voxpop.web.ratelimit import RateLimiter


class BodyTooLarge(Exception):
    pass


def _plain(status: int, detail: str, path: str, headers: list[tuple[bytes, bytes]] | None = None):
    """A minimal response for middleware refusals: problem+json for the API, a short page otherwise."""
    if path.startswith("/api/"):
        body = json.dumps(problem_body(status, detail, instance=path)).encode()
        content_type = PROBLEM_JSON.encode()
    else:
        body = (
            f'<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            f'<link rel="stylesheet" href="/static/voxpop.css"><title>{TITLES.get(status, status)}</title>'
            f'<main class="narrow"><h1>{TITLES.get(status, status)}</h1><p>{escape(detail)}</p></main></html>'
        ).encode()
        content_type = b"text/html; charset=utf-8"
    raw_headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())] + (headers or [])

    async def send_response(send):
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})

    return send_response


# Staff uploads of files (export files, contact lists, transcripts): their own, larger limit.
UPLOAD_PATHS = ("/imports", "/api/v1/imports/", "/contacts/import", "/api/v1/contacts/import", "/sources",
                "/api/v1/sources")


class BodyLimitMiddleware:
    """Refuse bodies over `max_bytes` (`max_upload_bytes` for imports) with 413 before they are read into memory."""

    def __init__(self, app, max_bytes: int, max_upload_bytes: int):
        self.app, self.max_bytes, self.max_upload_bytes = app, max_bytes, max_upload_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        upload = scope["path"].startswith(UPLOAD_PATHS)
        limit = self.max_upload_bytes if upload else self.max_bytes
        detail = (f"The file is larger than {limit:,} bytes (VOXPOP_MAX_UPLOAD_BYTES); import it from the command "
                  "line on the server (voxpop import, voxpop contacts import, voxpop sources import)" if upload else
                  f"The request body is larger than {limit:,} bytes; send less (e.g. shorter comments)")
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                return await _plain(413, detail, scope["path"])(send)
        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge()
            return message

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _plain(413, detail, scope["path"])(send)


# /u/: the unsubscribe link, public and answered with a store write (a flood must not pass unchecked)
PUBLIC_PREFIXES = ("/s/", "/u/", "/api/v1/surveys/")


class RateLimitMiddleware:
    """Limit the public survey pages, the collection API, login attempts and password resets per client address."""

    def __init__(self, app, limiter: RateLimiter, client_of, respondent_message):
        # respondent_message(accept_language): the refusal a customer reads on /s/..., in their
        # language; the collection domain words it, so this plumbing imports no domain package.
        self.app, self.limiter, self.client_of = app, limiter, client_of
        self.respondent_message = respondent_message

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope["path"]
            secret_form = path == "/login" or path.startswith("/reset/")  # a password is checked or hashed
            if path.startswith(PUBLIC_PREFIXES) or (secret_form and scope["method"] == "POST"):
                allowed, wait = self.limiter.allow(self.client_of(scope))
                if not allowed:
                    seconds = max(1, round(wait))
                    detail = f"Too many requests from your address. Wait {seconds} s and try again."
                    if path.startswith("/s/"):
                        accept = next((value.decode("latin-1") for name, value in scope["headers"]
                                       if name == b"accept-language"), None)
                        detail = self.respondent_message(accept)
                    return await _plain(429, detail, path, [(b"retry-after", str(seconds).encode())])(send)
        await self.app(scope, receive, send)


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # Invitation tokens are in survey URLs: never send them on in a Referer.
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
]


# The staff preview of a survey (/surveys/preview, /surveys/{key}/preview) is shown in the builder's frames: it may
# be framed by this site's own pages, and nothing else may be.
FRAMED_BY_SELF = re.compile(r"^/surveys/(?:[^/]+/)?preview$")
SELF_FRAMING_HEADERS = [
    (name, {b"x-frame-options": b"SAMEORIGIN"}.get(name, value.replace(b"frame-ancestors 'none'", b"frame-ancestors 'self'")))
    for name, value in SECURITY_HEADERS
]


class SecurityHeadersMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = SELF_FRAMING_HEADERS if FRAMED_BY_SELF.match(scope["path"]) else SECURITY_HEADERS

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + headers
            await send(message)

        await self.app(scope, receive, with_headers)
