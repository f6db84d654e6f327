"""The dashboard's API shapes. The page and GET /api/v1/dashboard are filled from one DashboardPublic, so what a
person sees is what a script fetches."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from voxpop.core.estimates import Estimate


class MetricPublic(BaseModel):
    """A survey metric over every response, with its interval and base (as `voxpop metrics` prints a row)."""

    metric: str = Field(description="nps, csat, ces, ces_agree or mean (a rating question); a trend's points carry "
                                           "the charted metric, e.g. ces2.0_agree.")
    label: str = Field(description="What people read: 'NPS', or a rating question's text.")
    note: str = Field("", description="The scale in words, e.g. '−100 to 100' or 'top-two-box'.")
    unit: str = Field("", description="'%' for shares, else empty.")
    value: float | None
    n: int
    low_base: bool = Field(description="n is below the workspace's minimum base: pages say 'not enough responses'.")
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float | None = None
    ces_version: str | None = Field(None, description="'1.0' or '2.0' for ces; null otherwise.")

    @classmethod
    def of(cls, metric: str, estimate: Estimate, *, label: str, unit: str = "", note: str = "",
           ces_version: str | None = None) -> MetricPublic:
        return cls(metric=metric, label=label, note=note, unit=unit, value=estimate.value, n=estimate.n,
                   low_base=estimate.low_base, se=estimate.se, ci_low=estimate.ci_low, ci_high=estimate.ci_high,
                   confidence=estimate.confidence, ces_version=ces_version)


class TrendPointPublic(BaseModel):
    period: str = Field(description="The month's first day (ISO), in the workspace's time zone.")
    n: int
    value: float = Field(description="On the chart's scale: NPS −100..100, a share 0..1, or a mean.")
    centre: float | None = Field(description="The usual level; null for a partial period.")
    lower: float | None = Field(description="Lower control limit; null for a partial period.")
    upper: float | None = Field(description="Upper control limit; null for a partial period.")
    partial: bool = Field(False, description="The month has not ended: drawn hollow, and left out of the control "
                                             "limits and the run rules until it ends.")
    estimate: MetricPublic | None = Field(None, description="The month's own estimate, with its interval.")


class TrendSignalPublic(BaseModel):
    rule: str = Field(description="nelson-1 .. nelson-8.")
    description: str = Field(description="The rule as Minitab states it.")
    direction: Literal["up", "down"] | None
    periods: list[str] = Field(description="The months of the run, oldest first.")
    sentence: str = Field(description="The signal in plain words, with the rule beside it.")


class TrendPublic(BaseModel):
    metric: str = Field(description="The charted metric as monthly_trends chooses it: nps, csat, ces2.0_agree or ces1.0.")
    question: str = Field(description="Key of the charted question.")
    label: str = Field(description="The charted figure, e.g. 'NPS' or 'CSAT top-two-box'.")
    chart: str = Field(description="Control chart kind: nps, p, laney-p or individuals.")
    points: list[TrendPointPublic]
    signals: list[TrendSignalPublic] = Field(description="Nelson signals among the ended months.")


class SurveySummaryPublic(BaseModel):
    key: str
    title: str
    status: Literal["draft", "live", "closed"]
    responses: int
    last_response_at: datetime | None
    metrics: dict[str, MetricPublic] = Field(description="By name: nps, csat, ces, ces_agree, and mean:<question key> "
                                                         "for each rating question.")
    trend: TrendPublic | None = Field(description="The headline metric by month on its control chart; null below "
                                                  "three ended months.")


class LatestCommentPublic(BaseModel):
    survey: str = Field(description="Survey key.")
    survey_title: str
    question: str = Field(description="Question key.")
    question_text: str
    text: str = Field(description="Redacted comment text (escape it before showing it).")
    submitted_at: datetime


class DashboardPublic(BaseModel):
    surveys: list[SurveySummaryPublic] = Field(description="Live surveys first, then drafts, then closed ones.")
    latest_comments: list[LatestCommentPublic]
    min_base: int
    current_period: str = Field(description="The month that has not ended yet (ISO first day, workspace time zone).")
    filter: list[str] = Field(default=[], description="The response filter in words; every count, metric, trend and "
                                                     "comment is of the responses it keeps. Empty: all responses.")
