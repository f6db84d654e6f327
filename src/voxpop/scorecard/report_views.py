"""The scorecard as a PDF and a CSV, and its scheduled delivery by e-mail (send log, run now, pause)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter(tags=["staff"])  # mounted under /api/v1 by the app
