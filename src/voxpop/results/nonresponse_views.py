"""Who did not answer and whether it matters: respondents against the invited audience, and weighted results."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter()
