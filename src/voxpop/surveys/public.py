"""The survey list and a survey's definition as the JSON API sends them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class SurveyPublic(BaseModel):
    key: str
    title: str
    status: str = Field(description="draft, live or closed.")
    languages: list[str]
    responses: int = Field(description="Responses ever received, on every version.")
    last_response_at: datetime | None
    owner: str | None = Field(description="The owner's e-mail; none when nobody owns the survey.")
    owner_name: str | None = Field(description="The owner's display name, or their e-mail when they have none.")
    version: int | None = Field(description="The current version's number, the one respondents see.")
    monthly_responses: list[int] = Field(description="Responses in each month of `months` (calendar months in UTC).")


class SurveyListPublic(BaseModel):
    months: list[str] = Field(description="The last 12 months, oldest first, as YYYY-MM; the last has not ended.")
    total: int = Field(description="Surveys that match the filters, on every page.")
    offset: int
    limit: int | None = Field(description="Surveys a page holds; none when the list is whole (the CLI and CSV).")
    surveys: list[SurveyPublic]


class SurveyVersionPublic(BaseModel):
    number: int
    created_at: datetime
    fingerprint: str = Field(description="A hash of what the questions mean: equal fingerprints, equal meaning.")
    questions: list[str] = Field(description="The version's question keys, in order.")


class SurveyDetailPublic(BaseModel):
    survey: SurveyPublic
    definition: dict[str, Any] = Field(description="The current version as a survey file holds it, with the "
                                                   "survey's current status; `voxpop survey apply` reads it back.")
    versions: list[SurveyVersionPublic] = Field(description="Every version, oldest first.")
