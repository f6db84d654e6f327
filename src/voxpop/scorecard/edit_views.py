"""Editing a scorecard on the pages: perspectives (rename, reorder), objectives, measures, targets and thresholds,
links and initiatives. Each save is a new version, as an applied file is."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter(tags=["staff"])  # mounted under /api/v1 by the app
