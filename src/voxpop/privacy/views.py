"""Staff pages for a customer's data on request: export and erasure."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter()  # mounted under /api/v1 by the app
