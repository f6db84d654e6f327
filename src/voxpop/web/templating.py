"""One Jinja2 environment for every domain's templates, and the one helper that renders a page.

Templates are namespaced by domain: `dashboard/dashboard.html` is `dashboard/templates/dashboard.html`,
so two domains' `index.html` cannot collide. Layouts and the shared components live in `web/templates`
and are named without a prefix (`staff_base.html`, `components.html`). Autoescaping is on everywhere.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape

from voxpop.web.auth import csrf_token
from voxpop.web.navigation import navigation

PACKAGE = Path(__file__).resolve().parent.parent
SHARED_TEMPLATES = PACKAGE / "web" / "templates"
DOMAIN_TEMPLATES = {path.parent.name: path for path in sorted(PACKAGE.glob("*/templates")) if path.parent.name != "web"}


def _number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _localtime(value: datetime | None, timezone: str) -> str:
    """A UTC timestamp shown in the workspace's time zone."""
    if value is None:
        return "–"
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def build_templates() -> Jinja2Templates:
    loader = ChoiceLoader([
        FileSystemLoader(str(SHARED_TEMPLATES)),
        PrefixLoader({domain: FileSystemLoader(str(path)) for domain, path in DOMAIN_TEMPLATES.items()}),
    ])
    environment = Environment(
        loader=loader,
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["number"] = _number
    environment.filters["localtime"] = _localtime
    return Jinja2Templates(env=environment)


templates = build_templates()


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200,
           headers: dict[str, str] | None = None):
    """A page with what every page needs: the logged-in user, this session's CSRF token and the navigation.

    The user is the one `require_user` put on the request; pages that need no login (the login page, the
    public survey) render with `user` None and no staff navigation.
    """
    user = getattr(request.state, "user", None)
    page = {
        "user": user,
        # Only staff get a token here: a public page must not start a session (the login page asks for one).
        "csrf_token": csrf_token(request) if user is not None else "",
        "nav": navigation(user, request.url.path),
    }
    return templates.TemplateResponse(request, name, page | (context or {}), status_code=status_code,
                                      headers=headers)
