"""Errors as application/problem+json (RFC 9457) for every API path."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

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


class FieldErrorPublic(BaseModel):
    field: str
    message: str


class ProblemPublic(BaseModel):
    """An error, as RFC 9457 describes it; `type` is stable and machine-readable (urn:voxpop:problem:...)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldErrorPublic] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The problem+json answers a route documents in the OpenAPI description, with their schema
    (which `add_problem_schemas` puts into the document's components)."""
    return {status: {"description": TITLES[status],
                     "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemPublic"}}}}
            for status in statuses}


def add_problem_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """Put ProblemPublic (and the models it uses) into an OpenAPI document's components, and describe the
    validation errors as they are sent: problem+json with `errors`, not FastAPI's default JSON shape."""
    schema = ProblemPublic.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(schema.pop("$defs", {}))
    schemas["ProblemPublic"] = schema
    invalid = problem_responses(422)[422]
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = invalid
            # What every route of its kind can answer, whatever the route: a NUL byte in a query parameter or a body
            # that cannot be parsed at all (400), nothing at an address its path parameters make (404: one with a NUL
            # byte, an unknown key), a body too large (413); for staff routes, no session (401) or a role or CSRF
            # token that does not fit (403).
            parameters = operation.get("parameters") or []
            extra = ((400,) if "requestBody" in operation or parameters else ()) + \
                ((404,) if any(parameter.get("in") == "path" for parameter in parameters) else ()) + \
                ((413,) if "requestBody" in operation else ()) + \
                ((401, 403) if "staff" in operation.get("tags", ()) else ())
            for status, response in problem_responses(*extra).items():
                responses.setdefault(str(status), response)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


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


# FastAPI's words when a body cannot be read at all, whatever the reason (app.py's handler names the reason).
UNPARSABLE_BODY = "There was an error parsing the body"


def unparsable_body(cause: BaseException | None) -> str:
    """Why a body could not be read, as a sentence that says what to send instead."""
    if isinstance(cause, UnicodeDecodeError):
        return (f"The body is not valid UTF-8: byte {cause.object[cause.start]:#04x} at position {cause.start:,} "
                "cannot be read; send JSON encoded as UTF-8.")
    if isinstance(cause, RecursionError):
        return ("The JSON is nested deeper than Python's JSON parser reads (about 1,000 levels of arrays or "
                "objects); send it with fewer levels.")
    if isinstance(cause, ValueError) and "integer string conversion" in str(cause):
        return ("The JSON holds an integer with more than 4,300 digits, more than Python reads (its int limit); "
                "send a shorter number.")
    reason = f" ({type(cause).__name__}: {str(cause)[:200]})" if cause is not None else ""
    return f"The body could not be read{reason}; send well-formed JSON, or a form as a browser sends it."
