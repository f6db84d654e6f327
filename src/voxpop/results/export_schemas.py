"""The API shapes of a response export: what it will hold, and where to download it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ExportColumnPublic(BaseModel):
    key: str = Field(description="The column's name in the file (CSV header, Parquet field, XLSX header).")
    label: str = Field(description="The question's text, or what the column holds.")
    type: str = Field(description="text, integer, flag (0/1, one per option of a multiple-choice question) or "
                                  "timestamp (ISO 8601 in the workspace's time zone).")
    value_labels: dict[str, str] = Field(description="Labels of values: a scale's end points, a choice's options.")


class ExportPublic(BaseModel):
    survey: str
    responses: int = Field(description="Responses the filter keeps: the export's rows.")
    filter: list[str] = Field(description="The filter in words; empty when every response is exported.")
    columns: list[ExportColumnPublic]
    downloads: dict[str, str] = Field(description="Format (csv, xlsx, parquet, sav) → the URL of the file, with "
                                                  "the same filter; under /api/v1 its errors are problem+json.")
    sav_limit: int = Field(description="Most responses a .sav export holds (it is built in memory).")
