"""The text domain's API shapes: comments, theme metrics, the codebook and its proposals.

Each page and its JSON twin are filled from one of these, so what a person sees is what a script fetches.
Estimates are core's own dataclass (value, n, interval, low base), not a copy of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from voxpop.core.estimates import Estimate
from voxpop.text.codebook import MAX_CODEBOOK_CHARS
from voxpop.text.evaluation import ThemeEvaluation

# A backstop for the definition (FastAPI answers 422 above it); the codebook's own, lower limit gives the sentence.
DEFINITION_LIMIT = 2 * MAX_CODEBOOK_CHARS


class SentimentPublic(BaseModel):
    score: float = Field(description="VADER compound score, −1 (negative) to 1 (positive).")
    label: Literal["positive", "neutral", "negative"]


class ThemeTagPublic(BaseModel):
    theme: str = Field(description="Codebook theme key.")
    label: str = Field(description="The theme's label, as pages show it.")
    matches: list[tuple[str, int, int]] = Field(description="The words that matched, with [start, end) offsets "
                                                            "in the redacted text.")
    source: Literal["codebook", "correction"] = Field(description="correction: added by a person.")


class CommentPublic(BaseModel):
    """An analysed comment, redacted."""

    answer_id: int
    survey: str = Field(description="Survey key.")
    survey_title: str
    question: str = Field(description="Question key.")
    submitted_at: datetime
    text: str = Field(description="The comment with personal data replaced by [email], [phone], [card], ...")
    language: str | None
    sentiment: SentimentPublic | None
    no_sentiment_reason: str | None
    personal_data_redacted: list[str] = Field(description="Kinds of personal data taken out of the text.")
    has_original: bool = Field(description="An original before redaction is kept (admins read it).")
    nps: int | None = Field(description="The NPS answer (0–10) of the same response.")
    themes: list[ThemeTagPublic]


class CommentListPublic(BaseModel):
    comments: list[CommentPublic]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")


class CommentOriginalPublic(BaseModel):
    answer_id: int
    text: str = Field(description="The redacted text, as staff see it.")
    original: str = Field(description="The text as the customer wrote it.")


class ThemeCorrectionCreate(BaseModel):
    theme: str = Field(max_length=200, description="Codebook theme key.")
    present: bool = Field(description="true: the comment has the theme; false: it has not.")


class ThemeCorrectionPublic(BaseModel):
    answer_id: int
    theme: str
    label: str
    present: bool


class DifferencePublic(BaseModel):
    """core.comparisons.Difference as JSON, which has no infinity: a z with no variance on either side is null."""

    difference: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float | None = Field(description="z; null when infinite (neither group varies).")
    p_value: float
    confidence: float
    significant: bool
    test: str


class ThemeMetricPublic(BaseModel):
    """One theme: how often it comes up, how people feel about it, and the NPS of those who raise it."""

    theme: str = Field(description="Codebook theme key.")
    label: str = Field(description="The theme's label, as pages show it.")
    comments: int
    negative_comments: int
    share: Estimate = Field(description="Percentage of analysed comments (Wilson interval).")
    sentiment: Estimate = Field(description="Mean sentiment score (t interval).")
    nps_mentioning: Estimate
    nps_not_mentioning: Estimate
    nps_difference: DifferencePublic | None = Field(description="Mentioning minus the rest; null below the minimum "
                                                          "base or when one side is empty.")
    monthly_share: list[float] = Field(description="Percentage of each month's comments, one per month in months.")


class ParetoRowPublic(BaseModel):
    theme: str
    label: str
    negative_comments: int
    cumulative_share: float = Field(description="Percentage of the negative comments of this and the larger themes.")


class EmergingSignalPublic(BaseModel):
    rule: str = Field(description="nelson-1 .. nelson-8.")
    description: str
    periods: list[str]


class EmergingThemePublic(BaseModel):
    """A theme whose monthly share rose beyond its control limits in the last ended months (p-chart, Nelson
    rules). The month that has not ended follows as a partial point: in neither the limits nor the signals."""

    theme: str
    label: str
    chart: str = Field(description="p or laney-p.")
    periods: list[str] = Field(description="Months (UTC), oldest first; one that has not ended comes last.")
    shares: list[float] = Field(description="Percentage of each month's comments that mention the theme (so far, "
                                            "for a partial month).")
    n: list[int] = Field(description="Analysed comments of each month.")
    partial: list[bool] = Field(description="true for a month that has not ended.")
    centre: float = Field(description="The usual share (%), from the ended months.")
    upper: list[float | None] = Field(description="Upper control limit (%) of each month; null for a partial one.")
    signals: list[EmergingSignalPublic] = Field(description="Upward signals ending in the last ended months.")


class ThemeMetricsPublic(BaseModel):
    survey: str | None
    analysed_comments: int
    months: list[str]
    themes: list[ThemeMetricPublic]
    pareto: list[ParetoRowPublic]
    emerging: list[EmergingThemePublic]
    codebook_accuracy: list[ThemeEvaluation]
    note: str


class CodebookThemePublic(BaseModel):
    key: str
    label: str = Field(description="As written in the codebook.")
    description: str
    depth: int = Field(description="0 for a top-level theme, 1 for its sub-themes, ...")


class CodebookVersionPublic(BaseModel):
    version: int
    note: str
    saved_by: str | None = Field(description="E-mail of who saved it; null from the command line.")
    saved_at: datetime


class CodebookPublic(BaseModel):
    """The codebook in use, its saved versions, and how many comments wait to be re-tagged with it."""

    version: int = Field(description="The version in use; 0 is the built-in codebook.")
    definition: str = Field(description="Its YAML.")
    note: str
    newest_version: int = Field(description="The version an edit starts from (base_version of PUT).")
    newest_definition: str
    problem: str | None = Field(description="Why the newest version is not in use, if it is not.")
    saved_by: str | None
    saved_at: datetime | None
    history: list[CodebookVersionPublic]
    retag_pending: int
    themes: list[CodebookThemePublic]


class CodebookVersionCreate(BaseModel):
    definition: str = Field(max_length=DEFINITION_LIMIT, description="The codebook as YAML.")
    base_version: int = Field(ge=0, description="The version this edit started from: newest_version from GET; if a "
                                                "newer one was saved since, 409.")
    note: str = Field("", max_length=500, description="What changed and why.")


class CodebookSavedPublic(BaseModel):
    version: int


class ThemeProposalPublic(BaseModel):
    terms: list[str]
    size: int = Field(description="Comments it describes best.")
    examples: list[str]
    suggested_key: str


class ThemeProposalsPublic(BaseModel):
    searched_comments: int
    proposals: list[ThemeProposalPublic]
