"""A survey's results: one section per question, filtered, compared and exported."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter(tags=["staff"])
