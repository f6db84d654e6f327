"""Qualitative sources' pages: a focus group or interview, its turns, and each theme across surveys and sessions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter()
