"""The API shape of a survey's non-response page: the invited audience against its respondents per attribute, the
raking weights' summary, the weighted and unweighted figures side by side, and what changes when weighted."""

from __future__ import annotations

from pydantic import BaseModel, Field

from voxpop.results.analysis_schemas import EstimatePublic


class CategoryPublic(BaseModel):
    value: str = Field(description="The attribute's value; '(not recorded)' for customers without one.")
    invited: int
    responded: int
    rate: EstimatePublic = Field(description="Response rate in % with its Wilson interval (n = invited).")
    audience_share: float = Field(description="% of the invited audience in this category.")
    respondent_share: float = Field(description="% of the respondents in this category.")


class GroupMeansPublic(BaseModel):
    respondents: float | None
    non_respondents: float | None
    respondents_n: int
    non_respondents_n: int


class AttributeTestPublic(BaseModel):
    """One known attribute: respondents against non-respondents, its test and what it means."""

    name: str
    kind: str = Field(description="categorical (chi-square or Fisher) or numeric (Welch's t).")
    test: str = Field(description="chi-square, fisher-exact, welch-t, or none when it cannot be tested.")
    statistic: float | None = None
    dof: float | None = None
    p_value: float | None = None
    p_holm: float | None = Field(None, description="Holm-adjusted across the page's attributes.")
    differs: bool = Field(False, description="p_holm below 1 − confidence: respondents differ on this attribute.")
    categories: list[CategoryPublic] = Field(default_factory=list)
    means: GroupMeansPublic | None = None
    standardized_difference: float | None = Field(
        None, description="(mean of respondents − non-respondents) / pooled SD; above 0.1 in size is an imbalance "
                          "worth noting (Austin 2009).")
    note: str | None = Field(None, description="Small expected counts, a fallback test, or why it was not tested.")
    verdict: str = Field(description="The finding in a sentence.")


class MetricPublic(BaseModel):
    question: str
    text: str
    metric: str = Field(description="nps, csat (top-two-box %) or mean.")
    unweighted: EstimatePublic
    weighted: EstimatePublic
    effective_n: float
    changes: bool = Field(description="The weighted estimate lies outside the unweighted interval.")


class ComparisonFlagPublic(BaseModel):
    question: str
    metric: str
    attribute: str
    segment: str
    unweighted_difference: float
    weighted_difference: float
    unweighted_p_holm: float
    weighted_p_holm: float
    finding: str


class WeightingPublic(BaseModel):
    by: list[str] = Field(description="The attributes raked on (tenure: in bands under 90 days, to 1 year, to 2 "
                                      "years, more): their audience margins are the targets.")
    chosen_by: str = Field(description="'asked' (the weight parameters) or 'tests' (the attributes that differ).")
    error: str | None = Field(None, description="Why the respondents could not be weighted to these margins.")
    respondents: int = 0
    effective_n: float | None = None
    design_effect: float | None = None
    largest_weight: float | None = None
    smallest_weight: float | None = None
    iterations: int | None = None
    metrics: list[MetricPublic] = Field(default_factory=list)
    comparisons: list[ComparisonFlagPublic] = Field(
        default_factory=list, description="Segment differences whose conclusion changes when weighted.")
    findings: list[str] = Field(default_factory=list, description="Every change in a sentence; empty when none.")


class NonresponsePublic(BaseModel):
    survey: str
    title: str
    send: str | None = Field(None, description="The send whose invitations make the audience; null for all.")
    sends: list[str] = Field(default_factory=list, description="The survey's sends (keys), newest first.")
    confidence: float
    invited: int = Field(description="Invitations in the audience.")
    responded: int = Field(description="Of them, answered.")
    customers: int = Field(0, description="Distinct invited customers: the attribute tables count each once.")
    response_rate: EstimatePublic | None = None
    unlinked: int = Field(0, description="Invitations without a customer: counted in the rate, not described.")
    attributes: list[AttributeTestPublic] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list, description="Attributes not tested, each with why.")
    weightable: list[str] = Field(default_factory=list, description="What the answers can be raked on: the "
                                                                    "categorical attributes, and tenure in bands.")
    weighting: WeightingPublic | None = None
    summary: str = Field(description="What the page finds, in a sentence or two.")
