"""The audit log as admins read it: a page with filters and a CSV export, and its JSON twin."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter()  # mounted under /api/v1 by the app
