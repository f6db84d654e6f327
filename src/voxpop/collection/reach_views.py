"""Other ways to reach customers: a QR code for a survey link, and the embeddable one-question widget."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter()
