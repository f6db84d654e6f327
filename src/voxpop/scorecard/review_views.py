"""The review meeting: a period's commentary and recommendations per measure, action items, locking the period;
and people's values: entering, approving and importing them."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter(tags=["staff"])  # mounted under /api/v1 by the app
