"""voxpop audit verbs."""

from __future__ import annotations

from voxpop.cli import app  # noqa: F401
