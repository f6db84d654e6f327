"""API shapes of the collection endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class CustomerRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    email: Annotated[str, StringConstraints(max_length=254)] | None = None


class ResponseCreate(BaseModel):
    """One response to a survey. `answers` maps question keys to a score, an option value, a list of option
    values, or text."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "answers": {"nps": 9, "reason": "Fast delivery", "channel": "web"},
                    "language": "en",
                    "attributes": {"segment": "smb"},
                    "customer": {"external_id": "C-1042"},
                }
            ]
        },
    )

    answers: dict[str, Any] = Field(max_length=200)
    language: Annotated[str, StringConstraints(max_length=16)] | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=50)
    customer: CustomerRef | None = None
    invitation_token: Annotated[str, StringConstraints(max_length=200)] | None = None


class ResponsePublic(BaseModel):
    id: str
    survey: str
    version: int
    submitted_at: datetime
