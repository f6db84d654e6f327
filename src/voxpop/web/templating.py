"""One Jinja2 environment for every domain's templates; autoescaping is on for all of them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [PACKAGE / "web" / "templates"] + sorted(
    path for path in PACKAGE.glob("*/templates") if path.parent.name != "web"
)


def _number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _localtime(value: datetime | None, timezone: str) -> str:
    """A UTC timestamp shown in the workspace's time zone."""
    if value is None:
        return "–"
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def build_templates() -> Jinja2Templates:
    environment = Environment(
        loader=FileSystemLoader([str(path) for path in TEMPLATE_DIRS]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["number"] = _number
    environment.filters["localtime"] = _localtime
    return Jinja2Templates(env=environment)


templates = build_templates()
