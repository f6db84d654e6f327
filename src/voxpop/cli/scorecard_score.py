"""`voxpop scorecard ...` verbs (see voxpop.cli.scorecard)."""

from __future__ import annotations

from voxpop.cli.scorecard import scorecard_app  # noqa: F401
