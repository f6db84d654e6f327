"""The send pages: create an invitation run, its dry run, its reminders, rules and triggers."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter()
