"""`voxpop survey qr`: a QR code for a survey link with its attributes."""

from __future__ import annotations
