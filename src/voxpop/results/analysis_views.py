"""Comparing, cross-tabulating and finding the key drivers of a survey's results, on pages and as JSON."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter(tags=["staff"])
