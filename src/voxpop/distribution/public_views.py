"""What a customer reaches from an invitation e-mail without logging in: one-click unsubscribe (RFC 8058) and a score clicked in the e-mail."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter()
