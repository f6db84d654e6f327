"""The contacts API shapes: the contact list with its reach counts, the import's report, the suppression list and
samples."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ContactPublic(BaseModel):
    id: int = Field(description="voxpop's customer id, as samples and sends name the contact.")
    external_id: str = Field(description="Your customer id.")
    email: str | None
    language: str | None
    consent: Literal["yes", "no", "unknown"]
    consent_at: datetime | None
    consent_source: str | None
    attributes: dict[str, Any]
    not_reachable: str | None = Field(description="Why no e-mail invitation may go to the contact; null when one may.")


class ContactListPublic(BaseModel):
    total: int = Field(description="Contacts matching the filter.")
    page: int
    pages: int
    counts: dict[str, int] = Field(description='The matching contacts by whether an invitation may reach them: '
                                               '"reachable", "no e-mail address", "suppressed", "no consent".')
    contacts: list[ContactPublic]


class ContactsImportPublic(BaseModel):
    file: str
    rows: int
    created: int
    updated: int
    attributes: list[str] = Field(description="The columns read as attributes.")
    suppressed: int = Field(description="Rows whose address is on the suppression list: it stays there.")
    summary: str


class SuppressionCreate(BaseModel):
    email: str = Field(max_length=254)
    reason: Literal["unsubscribed", "bounced", "complaint", "manual"] = "manual"
    detail: str = Field("", max_length=2000)


class SuppressionPublic(BaseModel):
    email: str
    reason: str
    source: str
    detail: str
    created_at: datetime


class SuppressionListPublic(BaseModel):
    total: int
    page: int
    pages: int
    suppressions: list[SuppressionPublic]


class SampleCreate(BaseModel):
    name: str = Field(max_length=200)
    size: int = Field(description="How many contacts to draw.")
    method: Literal["random", "stratified"] = "random"
    stratify_by: str | None = Field(None, max_length=100, description="The attribute of the strata (stratified).")
    where: dict[str, list[str]] = Field(default_factory=dict,
                                        description='Attribute -> allowed values, e.g. {"segment": ["SMB"]}.')
    seed: int = Field(ge=0, le=2**31 - 1)
    dry_run: bool = Field(False, description="Answer the strata the draw would take; record nothing.")


class StratumPublic(BaseModel):
    stratum: str = Field(description='The stratify_by value; "" for contacts without it.')
    audience: int = Field(description="Reachable contacts of the stratum when drawn.")
    drawn: int


class SamplePlanPublic(BaseModel):
    dry_run: Literal[True] = True
    audience: int
    unreachable: int = Field(description="Contacts matching the filter whom no invitation may reach.")
    strata: list[StratumPublic]


class SamplePublic(BaseModel):
    id: int
    name: str
    method: str
    stratify_by: str | None
    size_asked: int
    size_drawn: int
    seed: int
    where: dict[str, list[str]]
    audience_size: int
    strata: list[StratumPublic]
    created_at: datetime


class SampleDetailPublic(SamplePublic):
    customer_ids: list[int] = Field(description="The members' customer ids (voxpop's), in id order.")
