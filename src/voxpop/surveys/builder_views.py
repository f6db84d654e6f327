"""The survey builder: create and edit survey definitions in the browser."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
