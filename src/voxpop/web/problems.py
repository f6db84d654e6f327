"""Errors as application/problem+json (RFC 9457) for every API path."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Login required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal error",
}


def problem_body(status: int, detail: str, *, code: str | None = None, instance: str | None = None,
                 errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The problem document itself: the one place its fields are decided (routes and middleware use it)."""
    body: dict[str, Any] = {
        "type": f"urn:voxpop:problem:{code or TITLES.get(status, 'error').lower().replace(' ', '-')}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return body


def problem(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response; `code` becomes the stable, machine-readable `type`."""
    return JSONResponse(problem_body(status, detail, code=code, instance=instance, errors=errors),
                        status_code=status, media_type=PROBLEM_JSON, headers=headers)


def is_api(path: str) -> bool:
    return path.startswith("/api/")
