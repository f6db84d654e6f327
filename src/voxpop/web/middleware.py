"""ASGI middleware: body size limit, NUL bytes and form encoding refused, rate limits, and security headers."""

from __future__ import annotations

import json
import re
from html import escape
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.exceptions import HTTPException

from voxpop.web.problems import PROBLEM_JSON, TITLES, problem_body
from voxpop.web.ratelimit import RateLimiter


class BodyTooLarge(HTTPException):
    """A body that grew past the limit while it was read (sent chunked, without a Content-Length).

    An HTTPException, so that FastAPI's body parsing passes it on as it is instead of turning it into a
    bare 400 "There was an error parsing the body"; the app's handler answers it as a 413."""

    def __init__(self, detail: str):
        super().__init__(413, detail)


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
                raise BodyTooLarge(detail)
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


def nul_byte_problem(path: str, query_string: bytes) -> tuple[int, str] | None:
    """The answer to a NUL byte in the path (404: no address holds one) or in a query parameter (400, naming
    it); None when there is none."""
    if "\x00" in path:
        return 404, "There is nothing at this address. Check the link, or start from the menu."
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            shown = name.replace("\x00", "%00")
            return 400, (f"The query parameter {shown!r} holds a NUL byte (%00), which no text in voxpop can hold; "
                         "remove it.")
    return None


class NulByteMiddleware:
    """Refuse a NUL byte in the path or in any query parameter before a route reads it.

    PostgreSQL's text cannot hold one (a filter compared with it fails in the driver) and SQLite's can, so
    refusing it here, once, gives every route on both stores the same clear answer."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and (refusal := nul_byte_problem(scope["path"], scope.get("query_string", b""))):
            return await _plain(*refusal, scope["path"])(send)
        await self.app(scope, receive, send)


URL_ENCODED_FORM = b"application/x-www-form-urlencoded"


def unreadable_form_field(body: bytes) -> str | None:
    """The name of the first field of an URL-encoded form that is not UTF-8 text, or None when all are.

    A browser percent-encodes every byte outside ASCII, in UTF-8; Starlette would read percent-encoded bytes
    that are not UTF-8 as replacement characters and raw bytes as Latin-1, and store the garbled text."""
    for part in body.split(b"&"):
        name, _, value = part.partition(b"=")
        for raw in (name, value):
            try:
                raw.decode("ascii")
                unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                return unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8", "replace")
    return None


class FormEncodingMiddleware:
    """Refuse an URL-encoded form that is not UTF-8 text with 400 naming the field (the survey page's in the
    respondent's language), instead of storing garbled text; the API's JSON is refused alike by its parser."""

    def __init__(self, app, respondent_message):
        # respondent_message(code, accept_language): the refusal as a customer reads it on /s/... (see below).
        self.app, self.respondent_message = app, respondent_message

    async def __call__(self, scope, receive, send):
        content_type = next((value for name, value in scope.get("headers", []) if name == b"content-type"), b"")
        if scope["type"] != "http" or not content_type.lower().startswith(URL_ENCODED_FORM):
            return await self.app(scope, receive, send)
        body = bytearray()
        while True:  # bounded: BodyLimitMiddleware, outside this one, stops a body over the limit
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending the whole form
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if (field := unreadable_form_field(bytes(body))) is not None:
            path = scope["path"]
            detail = (f"The form field {field!r} is not UTF-8 text; send the form from its page in a browser, or "
                      "percent-encode the text as UTF-8.")
            if path.startswith("/s/"):
                detail = self.respondent_message("form_encoding_body", _accept_language(scope))
            return await _plain(400, detail, path)(send)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


def _accept_language(scope) -> str | None:
    return next((value.decode("latin-1") for name, value in scope["headers"] if name == b"accept-language"), None)


# /u/: the unsubscribe link, public and answered with a store write (a flood must not pass unchecked)
PUBLIC_PREFIXES = ("/s/", "/u/", "/api/v1/surveys/")


class RateLimitMiddleware:
    """Limit per client address the public survey pages and collection API (`limiter`), and, on a budget of
    their own (`login_limiter`), login attempts and password resets: raising one limit never weakens the other."""

    def __init__(self, app, limiter: RateLimiter, login_limiter: RateLimiter, client_of, respondent_message):
        # respondent_message(code, accept_language): the refusal a customer reads on /s/..., in their
        # language; the collection domain words it, so this plumbing imports no domain package.
        self.app, self.limiter, self.login_limiter, self.client_of = app, limiter, login_limiter, client_of
        self.respondent_message = respondent_message

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope["path"]
            # a password or a second-factor code is checked, or a password hashed
            secret_form = path == "/login" or path.startswith(("/login/", "/reset/"))
            limiter = (self.login_limiter if secret_form and scope["method"] == "POST" else
                       self.limiter if path.startswith(PUBLIC_PREFIXES) else None)
            if limiter is not None:
                allowed, wait = limiter.allow(self.client_of(scope))
                if not allowed:
                    seconds = max(1, round(wait))
                    detail = f"Too many requests from your address. Wait {seconds} s and try again."
                    if path.startswith("/s/"):
                        detail = self.respondent_message("too_many_body", _accept_language(scope))
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
    # No page of voxpop uses these; a script injected despite the CSP gets none of them either.
    (
        b"permissions-policy",
        b"camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), hid=(), "
        b"midi=(), magnetometer=(), gyroscope=(), accelerometer=(), display-capture=(), browsing-topics=()",
    ),
]
# Sent only when the session cookie is Secure (VOXPOP_SECURE_COOKIES), i.e. the site is served over HTTPS.
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
# Pages and JSON hold customers' answers, staff data and invitation tokens: no browser or shared cache keeps them,
# unless a route says otherwise (the widget's script, the QR codes, the favicon). The vendored assets may be cached.
NO_STORE = (b"cache-control", b"no-store")
CACHEABLE_PREFIXES = ("/static/",)


# The staff preview of a survey (/surveys/preview, /surveys/{key}/preview) is shown in the builder's frames: it may
# be framed by this site's own pages, and nothing else may be.
FRAMED_BY_SELF = re.compile(r"^/surveys/(?:[^/]+/)?preview$")
SELF_FRAMING_HEADERS = [
    (name, {b"x-frame-options": b"SAMEORIGIN"}.get(name, value.replace(b"frame-ancestors 'none'", b"frame-ancestors 'self'")))
    for name, value in SECURITY_HEADERS
]


class SecurityHeadersMiddleware:
    """The security headers on every response, HSTS when served over HTTPS, and no-store unless a route chose."""

    def __init__(self, app, hsts: bool = False):
        self.app, self.hsts = app, hsts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        headers = (SELF_FRAMING_HEADERS if FRAMED_BY_SELF.match(path) else SECURITY_HEADERS) + \
            ([HSTS] if self.hsts else [])
        cacheable = path.startswith(CACHEABLE_PREFIXES)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                sent = list(message.get("headers", []))
                chosen = cacheable or any(name.lower() == b"cache-control" for name, _ in sent)
                message["headers"] = sent + headers + ([] if chosen else [NO_STORE])
            await send(message)

        await self.app(scope, receive, with_headers)
