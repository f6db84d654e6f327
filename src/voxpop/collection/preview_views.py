"""Staff preview of a survey as the customer sees it, before or after it is saved."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
