"""The send log and the response funnel of a send."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter()
