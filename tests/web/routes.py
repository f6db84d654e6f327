"""Every route of an app with its full path, through included routers and their prefixes."""

from __future__ import annotations


def flatten(routes, prefix: str = ""):
    """(full path, route) for each route; FastAPI ≥ 0.165 keeps an included router whole, its prefix in the
    include context."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is None:
            yield prefix + route.path, route
        else:
            yield from flatten(included.routes, prefix + route.include_context.prefix)
