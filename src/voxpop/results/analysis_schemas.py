"""The API shapes of a survey's compare, crosstab and drivers pages. Each page and its JSON twin are filled from one
of these models, so what a person sees is what a script fetches."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from voxpop.core.estimates import Estimate


class EstimatePublic(BaseModel):
    """A figure with its base and interval, as `voxpop metrics` prints a row."""

    value: float | None = Field(description="NPS −100..100, a share in %, or a mean on the question's scale; null "
                                            "with no answers.")
    n: int
    low_base: bool = Field(description="n is below the workspace's minimum base: shown, never tested or marked.")
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float | None = None

    @classmethod
    def of(cls, estimate: Estimate) -> EstimatePublic:
        return cls(value=estimate.value, n=estimate.n, low_base=estimate.low_base, se=estimate.se,
                   ci_low=estimate.ci_low, ci_high=estimate.ci_high, confidence=estimate.confidence)


class DaysPublic(BaseModel):
    since: date = Field(description="First day, in the workspace's time zone.")
    until: date = Field(description="Last day, included.")


class ComparedPublic(BaseModel):
    """One figure on two sides (this period and the previous one, or a segment and the rest) and their difference."""

    segment: str | None = Field(None, description="The attribute's value (segment mode); null in period mode, and "
                                                  "for responses without the attribute.")
    a: EstimatePublic = Field(description="This period, or the segment.")
    b: EstimatePublic = Field(description="The previous period, or every other response.")
    difference: float | None = Field(None, description="a − b on the figure's scale (NPS points, percentage points "
                                                       "or scale points); null when a side is a low base.")
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = Field(None, description="Two-sided p-value of the test, before adjustment.")
    p_holm: float | None = Field(None, description="Holm-adjusted across the family (see the docs).")
    significant: bool = Field(False, description="p_holm below 1 − confidence: the only differences marked.")
    test: str | None = Field(None, description="nps-z, two-proportion-z or welch-t.")
    sentence: str | None = Field(None, description="The difference in words, for a significant one.")


class MeasurePublic(BaseModel):
    metric: str = Field(description="nps, csat, ces1.0, ces2.0, ces2.0_agree, mean, or share (a choice option).")
    label: str
    option: str | None = Field(None, description="The option's value, for a share.")
    unit: str = Field("", description="'%' for shares, else empty.")
    digits: int = Field(0, description="Decimals the figure is read to.")
    rows: list[ComparedPublic]


class QuestionComparisonPublic(BaseModel):
    question: str
    text: str
    kind: str
    measures: list[MeasurePublic]
    commands: list[str] = Field(description="The `voxpop metrics` commands that print a scored question's figures: "
                                            "one per period, or its segments with --compare.")


class ComparisonPublic(BaseModel):
    """Every scored question's headline and every choice option's share, compared."""

    survey: str
    title: str
    mode: Literal["period", "segment"]
    confidence: float
    min_base: int
    filter: list[str] = Field(description="The response filter in words.")
    current: DaysPublic | None = Field(None, description="Period mode: the days compared.")
    previous: DaysPublic | None = Field(None, description="Period mode: the days they are compared with.")
    segment_by: str | None = Field(None, description="Segment mode: the attribute whose values are compared.")
    questions: list[QuestionComparisonPublic]
    findings: list[str] = Field(description="A sentence per difference that survives Holm's adjustment.")


class CrosstabCellPublic(BaseModel):
    count: int = Field(description="Responses in the column giving the row's answer.")
    percent: float | None = Field(description="Column proportion in %; null for an empty column.")
    ci_low: float | None = Field(None, description="Wilson interval, in %.")
    ci_high: float | None = None
    p_value: float | None = Field(None, description="The column against the rest of the row (two-proportion z).")
    p_holm: float | None = Field(None, description="Holm-adjusted across the table's tested cells.")
    mark: Literal["higher", "lower"] | None = Field(None, description="Set only where p_holm is below 1 − confidence.")


class CrosstabColumnPublic(BaseModel):
    value: str | None = Field(description="The attribute's value or the option's value; null: no value.")
    label: str
    base: int = Field(description="Responses in the column that answered the row question.")
    low_base: bool = Field(description="Below the minimum base: shown, never tested or marked.")


class CrosstabRowPublic(BaseModel):
    value: str
    label: str
    cells: list[CrosstabCellPublic] = Field(description="One per column, in the columns' order.")
    total: CrosstabCellPublic = Field(description="Every column together.")


class ChiSquarePublic(BaseModel):
    statistic: float
    dof: int
    p_value: float
    smallest_expected: float
    cells_expected_below_5: int = Field(description="Cells whose expected count is below 5.")
    caveat: str | None = Field(None, description="Said when expected counts are small (Cochran's rule).")


class CrosstabPublic(BaseModel):
    survey: str
    title: str
    row: str = Field(description="The row question's key.")
    row_text: str
    row_by: Literal["choice", "score", "group"]
    column: str = Field(description="The column attribute's name or choice question's key.")
    column_kind: Literal["attribute", "question"]
    column_label: str
    confidence: float
    min_base: int
    filter: list[str]
    columns: list[CrosstabColumnPublic]
    rows: list[CrosstabRowPublic]
    base: int = Field(description="Responses in the table (answered the row question and have a column value).")
    tested: int = Field(description="Cells tested against the rest of their row: the family Holm adjusts over.")
    overlapping: bool = Field(description="A multiple-choice row or column: a response counts more than once, so "
                                          "nothing is tested.")
    chi_square: ChiSquarePublic | None = Field(description="The test of independence; null when it does not apply.")
    notes: list[str]


class DriverPublic(BaseModel):
    driver: str = Field(description="The driver question's key.")
    text: str
    raw_weight: float = Field(description="Share of the outcome's variance it explains; the weights sum to R².")
    rescaled: float = Field(description="% of R².")
    ci_low: float | None = Field(description="Bootstrap percentile interval of rescaled.")
    ci_high: float | None
    raw_ci_low: float | None
    raw_ci_high: float | None
    performance: float = Field(description="The driver's mean over the complete rows.")
    quadrant: Literal["fix first", "keep up", "secondary", "possible overkill"]


class DriversPublic(BaseModel):
    """Johnson's relative weights and the importance × performance quadrants, as `voxpop drivers` computes them."""

    survey: str
    title: str
    outcome: str
    outcome_text: str
    drivers: list[str] = Field(description="The driver questions asked for, in order.")
    filter: list[str]
    n: int = Field(description="Complete responses: the outcome and every driver answered.")
    r_squared: float
    confidence: float | None
    resamples: int = Field(description="Bootstrap resamples used.")
    seed: int | None
    rows: list[DriverPublic] = Field(description="Most important first.")
    mean_importance: float
    mean_performance: float
    command: str | None = Field(description="The `voxpop drivers` command giving the same figures; null when a "
                                            "filter narrows the responses, which the command does not take.")
    notes: list[str] = Field(description="What to bear in mind, e.g. drivers on unlike scales.")
