"""The strategy map page: objectives by perspective, the cause-and-effect links and each link's test on the data.
JSON twin under /api/v1/scorecards/{key}/map."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter(tags=["staff"])  # mounted under /api/v1 by the app
