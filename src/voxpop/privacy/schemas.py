"""The privacy API shapes: a customer found, what is held about them, an erasure and the retention setting."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class CustomerMatchPublic(BaseModel):
    id: int = Field(description="voxpop's number for the customer, as the other privacy routes take it.")
    external_id: str
    email: str | None
    erased_at: datetime | None = Field(description="When the customer's data was erased; null if it was not.")


class RetentionPublic(BaseModel):
    months: int | None = Field(description="VOXPOP_RETENTION_MONTHS; null: responses are kept.")
    cutoff: datetime | None = Field(description="Responses submitted before this are anonymised.")
    last_run_at: datetime | None = Field(description="When a run last anonymised responses (the audit log's latest "
                                                     "privacy.retention entry).")
    due: int | None = Field(description="Responses the next run would anonymise (the dry run); null unless asked "
                                        "for with dry_run=true, since it reads every old response.")
    text_answers: int | None = Field(description="Free-text answers the next run would delete (with dry_run).")
    customer_links: int | None = Field(description="Links to a customer the next run would cut (with dry_run).")


class PrivacySearchPublic(BaseModel):
    q: str
    customers: list[CustomerMatchPublic] = Field(description="At most 20, exact matches first.")
    retention: RetentionPublic


class CustomerPrivacyPublic(CustomerMatchPublic):
    held: dict[str, int] = Field(description="How many items of each kind the export holds: responses, "
                                             "transactions, invitations, sends, send_log, trigger_events, samples, "
                                             "suppressions, mails, cases, focus_groups.")


class ErasureCreate(BaseModel):
    confirm: str = Field(max_length=200, description="The customer's external id, typed again to confirm.")


class ErasurePublic(BaseModel):
    customer_id: int
    counts: dict[str, int] = Field(description="Rows changed or deleted, by what was done to them.")
    message: str
