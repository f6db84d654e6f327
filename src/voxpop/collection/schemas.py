"""API shapes of the collection endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class ResponseCreate(BaseModel):
    """One response to a survey. `answers` maps question keys to a score, an option value, a list of option
    values, or text; the words typed under an "Other" option go under the question key plus ".other"
    ({"bought": "other", "bought.other": "Socks"}). A response is tied to a customer only through an invitation token: a public endpoint
    cannot let anyone speak in a customer's name."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "answers": {"nps": 9, "reason": "Fast delivery"},
                    "language": "en",
                    "attributes": {"channel": "app"},
                }
            ]
        },
    )

    answers: dict[str, Any] = Field(max_length=200)
    language: Annotated[str, StringConstraints(max_length=16)] | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=50)
    invitation_token: Annotated[str, StringConstraints(max_length=200)] | None = None


class ResponsePublic(BaseModel):
    id: str
    survey: str
    version: int
    submitted_at: datetime
