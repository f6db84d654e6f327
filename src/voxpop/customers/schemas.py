"""The customer-outcomes API shapes. The page and GET /api/v1/customers/outcomes are filled from one
OutcomesPublic. Estimates, differences and whale-curve points are core's own dataclasses, not copies."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from voxpop.core.clv.holdout import FrequencyBucket
from voxpop.core.comparisons import Difference
from voxpop.core.estimates import Estimate
from voxpop.core.outcomes import WhalePoint

LoyaltyGroup = Literal["promoters", "passives", "detractors"]


class RetentionMonthPublic(BaseModel):
    """A month's retention, (E − N) / S, with its interval and the customer flows behind it."""

    period: str = Field(description="The month's first day (ISO).")
    metric: Literal["retention"] = "retention"
    value: float | None = Field(description="Percent of the customers active at the month's start still active at "
                                            "its end.")
    n: int
    low_base: bool
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float | None = None
    start: int = Field(description="S: customers active at the start.")
    end: int = Field(description="E: customers active at the end.")
    new: int = Field(description="N: first-time customers during the month.")
    won_back: int
    retained: int
    definition: str = Field(description="When a customer stops counting as active.")
    full_window: bool = Field(description="The window before the month lies inside the data, so S misses no one.")
    full_period: bool = Field(description="The data reach the month's last day; false: the month is left out of the "
                                                 "retention chart (its value so far is low by construction).")


class CohortPublic(BaseModel):
    cohort: str = Field(description="The first-purchase month (ISO first day).")
    size: int = Field(description="Customers whose first purchase fell in it.")
    shares: list[float | None] = Field(description="Percent still buying 0, 1, 2, … months later; null where the "
                                                   "data end before.")


class ClvBinPublic(BaseModel):
    low: float
    high: float
    customers: int


class ClvPublic(BaseModel):
    """Per-customer lifetime value from BG/NBD (purchases) and Gamma-Gamma (spend), discounted monthly."""

    customers: int
    total: float
    mean: float
    quantiles: dict[str, float] = Field(description="By quantile ('0.1' … '0.99').")
    histogram: list[ClvBinPublic] = Field(description="20 bins up to the 99th percentile; the last holds the top 1%.")
    months: int = Field(description="The horizon.")
    monthly_discount_rate: float
    r: float
    alpha: float
    a: float
    b: float
    p: float
    q: float
    gamma: float


class HoldoutPublic(BaseModel):
    """The purchase model fitted on the first two thirds of the time span, checked on the rest."""

    calibration_end: date
    actual: float
    predicted: float
    total_error: float = Field(description="(predicted − actual) / actual.")
    buckets: list[FrequencyBucket]


class LoyaltyPublic(BaseModel):
    """Promoters, passives and detractors (by their latest NPS answer) compared on what they did."""

    customers: int
    definitions: dict[str, str] = Field(description="Measure name → what it counts, in words.")
    groups: dict[LoyaltyGroup, dict[str, Estimate]]
    promoters_minus_detractors: dict[str, Difference | None] = Field(
        description="Per measure; null where a group is below the minimum base.")


class ProfitabilityPublic(BaseModel):
    cost_to_serve: bool = Field(description="Costs were imported: profit; otherwise net revenue.")
    customers: int
    total_profit: float
    mean: Estimate = Field(description="Profit (or net revenue) per customer.")
    unprofitable: Estimate = Field(description="Percent of customers who lose money.")
    peak: WhalePoint
    points: list[WhalePoint] = Field(description="The whale curve, most profitable customers first.")


class OutcomesPublic(BaseModel):
    first_day: date | None = Field(None, description="The first sale; null before any transactions are imported.")
    last_day: date | None = None
    retention: list[RetentionMonthPublic]
    cohorts: list[CohortPublic]
    clv: ClvPublic | None = None
    clv_unavailable: str | None = Field(None, description="Why lifetime value could not be modelled.")
    holdout: HoldoutPublic | None = None
    loyalty: LoyaltyPublic | None
    profitability: ProfitabilityPublic | None = None
