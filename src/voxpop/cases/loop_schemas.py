"""The improvement pages' API shapes: each page and its JSON twin under /api/v1/improvement are filled from one
of these, so what a person sees is what a script fetches."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from voxpop.core.comparisons import Difference
from voxpop.core.power import Median
from voxpop.dashboard.schemas import TrendPublic
from voxpop.results.analysis_schemas import EstimatePublic


class MedianPublic(BaseModel):
    """A median in business hours with its order-statistic (distribution-free) interval; bounds null below 6."""

    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    confidence: float

    @classmethod
    def of(cls, median: Median) -> MedianPublic:
        return cls(value=median.value, n=median.n, ci_low=median.ci_low, ci_high=median.ci_high,
                   confidence=median.confidence)


class DifferencePublic(BaseModel):
    difference: float = Field(description="A − B, in the metric's units (points for shares).")
    ci_low: float
    ci_high: float
    p_value: float
    significant: bool
    test: str

    @classmethod
    def of(cls, difference: Difference | None) -> DifferencePublic | None:
        if difference is None:
            return None
        return cls(difference=difference.difference, ci_low=difference.ci_low, ci_high=difference.ci_high,
                   p_value=difference.p_value, significant=difference.significant, test=difference.test)


class ContrastPublic(BaseModel):
    a: EstimatePublic = Field(description="Contacted detractors (or, for the holdout, cases opened).")
    b: EstimatePublic = Field(description="Not contacted detractors (or, for the holdout, held out at random).")
    difference: DifferencePublic | None = Field(description="A − B in points; null while a group is empty.")


class LoopRowPublic(BaseModel):
    department_id: int | None
    department: str
    period: str = Field(description="2026-11 for a month, 2026-Q4 for a quarter, in the workspace's time zone.")
    cases: int = Field(description="Cases opened in the period.")
    first_contact_in_target: EstimatePublic
    hours_to_first_contact: MedianPublic
    hours_to_resolution: MedianPublic
    resolved_at_first_contact: EstimatePublic
    reopened: EstimatePublic
    recovery: EstimatePublic
    retention: ContrastPublic = Field(description="Confounded: who gets contacted is not random.")
    repeat_purchase: ContrastPublic = Field(description="Confounded: who gets contacted is not random.")


class HoldoutPublic(BaseModel):
    retention: ContrastPublic = Field(description="Cases opened (a) against held out at random (b): causal.")
    days: int
    per_arm_needed: int = Field(description="Customers each arm needs to detect detect_points at 80% power, "
                                            "α = 0.05 two-sided.")
    detect_points: float
    base_retention: float


class ParetoRowPublic(BaseModel):
    key: str
    label: str
    cases: int
    share: float
    cumulative_share: float


class LoopPublic(BaseModel):
    by: Literal["month", "quarter"]
    since: date | None
    until: date | None
    department_id: int | None
    rows: list[LoopRowPublic] = Field(description="Per department and period, newest period first.")
    totals: list[LoopRowPublic] = Field(description="Per period, every department together (department_id −1); "
                                                    "empty when one department is asked for.")
    holdout: HoldoutPublic
    root_causes: list[ParetoRowPublic]
    themes: list[ParetoRowPublic]
    min_base: int
    retention_days: int
    repeat_days: int


class TargetPublic(BaseModel):
    survey: str
    metric: str
    question: str
    filter: str = Field(description="The response filter as a query, e.g. attribute=channel%3Dapp.")
    words: str


class InitiativePublic(BaseModel):
    id: int
    title: str
    problem: str
    owner_id: int | None
    owner: str | None
    department_id: int | None
    department: str | None
    root_causes: list[str]
    themes: list[str]
    target: TargetPublic | None
    stage: Literal["plan", "do", "check", "act", "closed"]
    start_date: date | None
    change_date: date | None
    end_date: date | None
    draft: bool
    updated_at: datetime
    verdict: Literal["improvement", "worse", "no-change", "too-few"] | None = Field(
        None, description="The Check's verdict today; null without a target and a change date.")


class InitiativesPublic(BaseModel):
    initiatives: list[InitiativePublic]


class PhasePublic(BaseModel):
    name: Literal["before", "after"]
    periods: list[str]
    n: list[int]
    values: list[float | None] = Field(description="Each month's metric (NPS −100..100, CSAT %, or a mean).")
    centre: list[float] | None = Field(description="The phase's own centre line; null with too few months.")
    lower: list[float] | None
    upper: list[float] | None
    signals: list[str] = Field(description="Nelson rules' signals in the phase, e.g. nelson-1 at 2026-09-01.")


class CheckPublic(BaseModel):
    change_date: date
    before_days: tuple[date, date]
    after_days: tuple[date, date]
    before: EstimatePublic
    after: EstimatePublic
    difference: DifferencePublic | None = Field(description="After − before, with the core's comparison.")
    verdict: Literal["improvement", "worse", "no-change", "too-few"]
    sentence: str
    phases: list[PhasePublic]
    running_month: str | None = Field(None, description="The month not ended yet (its first day), drawn apart "
                                                        "from the phases and outside their limits.")
    running: EstimatePublic | None = Field(None, description="That month's metric so far.")


class InitiativeDetailPublic(BaseModel):
    initiative: InitiativePublic
    check: CheckPublic | None = Field(description="Null until the initiative has a target and a change date.")
    next_stages: list[str]


class AlertSignalPublic(BaseModel):
    period: str = Field(description="The first month of the signal's run.")
    rule: str
    message: str
    found_at: datetime
    initiative_id: int | None


class AlertPublic(BaseModel):
    id: int
    name: str
    owner_id: int | None
    owner: str | None
    target: TargetPublic | None
    active: bool
    signals: int


class AlertsPublic(BaseModel):
    alerts: list[AlertPublic]


class AlertDetailPublic(BaseModel):
    alert: AlertPublic
    signals: list[AlertSignalPublic]
    trend: TrendPublic | None = Field(description="The monthly control chart the alert watches, as the dashboard's.")
