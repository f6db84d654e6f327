"""Every route of an app with its full path, through included routers and their prefixes."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from re import Pattern

from starlette.routing import compile_path


def flatten(routes, prefix: str = "") -> Iterator[tuple[str, object]]:
    """(full path, route) for each route; FastAPI ≥ 0.165 keeps an included router whole, its prefix in the
    include context."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is None:
            yield prefix + getattr(route, "path", ""), route
        else:
            yield from flatten(included.routes, prefix + route.include_context.prefix)


@cache
def _pattern(path: str) -> Pattern:
    return compile_path(path)[0]


def allowed_methods(routes, path: str) -> list[str]:
    """Every method some route answers at `path`. Starlette's 405 names only the first route that matched the
    path, so a GET and a PUT on one address declared apart would each deny the other (RFC 9110 wants all)."""
    methods: set[str] = set()
    for full_path, route in flatten(routes):
        if getattr(route, "methods", None) and _pattern(full_path).match(path):
            methods |= set(route.methods)
    return sorted(methods)
