"""The cases' API shapes. The queue page and GET /api/v1/cases are filled from one CaseListPublic, the case page and
GET /api/v1/cases/{id} from one CaseDetailPublic, so what an agent sees is what a script fetches."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from voxpop.results.schemas import PurchasePublic, ResponseDetailPublic

Status = Literal["new", "in_progress", "waiting", "resolved", "closed"]
Priority = Literal["urgent", "high", "normal", "low"]
CaseNumber = Annotated[int, Field(ge=1, le=2**31 - 1)]


class CasePublic(BaseModel):
    """A case as the queue lists it."""

    id: int
    title: str
    status: Status
    status_label: str = Field(description="The status as people read it, e.g. 'Waiting on customer'.")
    priority: Priority
    rule: str | None = Field(description="The key of the rule that opened it; null when opened by hand.")
    department_id: int | None
    department: str | None
    owner_id: int | None
    owner: str | None = Field(description="The owner's name, or e-mail when they have no name.")
    customer: str | None = Field(description="The customer's external id.")
    opened_at: datetime
    first_contact_due: datetime | None
    resolve_due: datetime | None
    first_contact_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    next_due: datetime | None = Field(description="First contact due while there has been none, else resolve due; "
                                                  "null once resolved.")
    overdue: bool = Field(description="An open case past its first-contact or resolve deadline.")


class CaseListPublic(BaseModel):
    cases: list[CasePublic]
    total: int = Field(description="Cases the filters keep (all pages).")
    offset: int
    limit: int
    counts: dict[str, int] = Field(description="Cases per status in the chosen queue and filters, whatever the "
                                               "status filter says (the page's tabs).")


class DeadlinePublic(BaseModel):
    name: Literal["first_contact", "resolve"]
    due: datetime | None
    met_at: datetime | None = Field(description="When first contact was made, or the case resolved.")
    business_hours: float | None = Field(description="Business hours left (negative: overdue), or taken when met.")
    words: str = Field(description="e.g. 'first contact overdue by 3 business hours'.")
    overdue: bool


class EarlierResponsePublic(BaseModel):
    public_id: str
    survey: str
    survey_title: str
    submitted_at: datetime
    nps: int | None = Field(description="The 0–10 score of its NPS question, if it asked one.")
    csat: int | None = Field(description="The score of its CSAT question, if it asked one.")
    csat_scale: str | None = Field(description="The CSAT question's scale, e.g. '1–5'.")


class CaseCustomerPublic(BaseModel):
    external_id: str
    email: str | None
    attributes: dict[str, str]
    may_contact: bool | None = Field(description="The customer's answer to the rule's consent question; null when "
                                                 "it was not asked.")
    earlier_responses: list[EarlierResponsePublic] = Field(description="Newest first, at most 20.")
    purchase_count: int
    revenue: float = Field(description="The sum of the customer's purchase lines (cancellations net against sales).")
    last_purchase: date | None
    purchases: list[PurchasePublic] = Field(description="The newest purchases, at most 20.")


class CaseEventPublic(BaseModel):
    id: int
    at: datetime
    kind: str = Field(description="opened, status, reopened, assigned, reassigned, note, email, call, meeting, "
                                  "warned, escalated ...")
    words: str = Field(description="What happened, as the timeline says it.")
    actor: str | None = Field(description="Who did it; null for voxpop itself.")
    from_status: str | None
    to_status: str | None
    note: str | None


class OptionPublic(BaseModel):
    value: str
    label: str


class CaseDetailPublic(BaseModel):
    case: CasePublic
    rule_name: str | None
    deadlines: list[DeadlinePublic]
    customer: CaseCustomerPublic | None
    response: ResponseDetailPublic | None = Field(description="The response that opened the case, answer by answer.")
    root_cause: str | None = Field(description="The root cause's name, once closed.")
    action_taken: str | None
    issue_resolved: bool | None
    reopened: int = Field(description="How many times the case was reopened.")
    moves: list[OptionPublic] = Field(description="The statuses this case may move to now.")
    events: list[CaseEventPublic] = Field(description="The timeline, oldest first.")


class CaseUpdate(BaseModel):
    """A change of status: closing needs root_cause_id, action_taken and issue_resolved."""

    status: Status
    note: str | None = Field(None, max_length=5000)
    root_cause_id: int | None = Field(None, ge=1, le=2**31 - 1)
    action_taken: str | None = Field(None, max_length=5000)
    issue_resolved: bool | None = None


class CaseAssignment(BaseModel):
    """Who owns the case, or which department; taking it from its owner needs a reason."""

    owner_id: int | None = Field(None, ge=1, le=2**31 - 1)
    department_id: int | None = Field(None, ge=1, le=2**31 - 1)
    reason: str | None = Field(None, max_length=1000)


class BulkAssignment(CaseAssignment):
    case_ids: list[CaseNumber] = Field(min_length=1, max_length=500)


class BulkAssignmentPublic(BaseModel):
    assigned: int


class CaseContactCreate(BaseModel):
    """A call or meeting logged by hand, or a note (kind note)."""

    kind: Literal["call", "meeting", "note"]
    note: str = Field(min_length=1, max_length=5000)


class CaseEmailCreate(BaseModel):
    """An e-mail to the customer, as the agent wrote or edited it."""

    subject: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=20000)


class RootCausePublic(BaseModel):
    id: int
    key: str
    name: str
    theme: str | None
    active: bool
    cases: int = Field(description="Closed cases with this root cause.")


class RootCausesPublic(BaseModel):
    root_causes: list[RootCausePublic]
