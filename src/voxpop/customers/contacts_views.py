"""Contacts: the people voxpop may invite, their consent and language, the suppression list and samples."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter()
