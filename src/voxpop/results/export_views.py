"""Exporting a survey's responses, filtered, as CSV, XLSX, Parquet or SPSS .sav, streamed."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
api = APIRouter(tags=["staff"])
