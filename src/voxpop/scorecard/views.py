"""Scorecard pages: the list, a scorecard's tree with scores, status, trend and interval, and a measure's page.
JSON twins under /api/v1/scorecards."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter(tags=["staff"])  # mounted under /api/v1 by the app
