"""The results' API shapes. The results page and GET /api/v1/surveys/{key}/results are filled from one ResultsPublic,
and the one-response page and GET /api/v1/responses/{public_id} from one ResponseDetailPublic, so what a person sees
is what a script fetches. Estimates are core's own dataclass (value, n, interval, low base), not a copy of it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from voxpop.core.estimates import Estimate
from voxpop.text.schemas import CommentPublic


class ScoreCountPublic(BaseModel):
    score: int
    count: int = Field(description="Answers with this score.")
    group: Literal["detractors", "passives", "promoters"] | None = Field(
        None, description="The score's NPS group (standard cut points); null for other kinds.")


class HeadlinePublic(BaseModel):
    """A question's headline figure, as `voxpop metrics` computes it from the same answers."""

    metric: str = Field(description="nps, csat, ces1.0, ces2.0, ces2.0_agree or mean, as `voxpop metrics` names it.")
    label: str = Field(description="What people read, e.g. 'CSAT, % top two boxes'.")
    unit: str = Field("", description="'%' for shares, else empty.")
    note: str = Field("", description="The scale in words, e.g. '−100 to 100' or '1–7, higher is easier'.")
    estimate: Estimate


class OptionPublic(BaseModel):
    """One choice: how many of those who answered the question chose it (Wilson interval)."""

    value: str = Field(description="The value stored in the answers; 'other' or the typed text for Other.")
    label: str
    count: int = Field(description="Respondents (of those who answered) who chose it.")
    share: Estimate = Field(description="Percentage of those who answered the question.")
    listed: bool = Field(description="False for the Other row: answers that are not one of the options.")


class OtherTextPublic(BaseModel):
    text: str = Field(description="What respondents typed or chose outside the options, personal data redacted.")
    count: int


class ThemeSharePublic(BaseModel):
    theme: str = Field(description="Codebook theme key.")
    label: str
    comments: int
    share: Estimate = Field(description="Percentage of this question's analysed comments (Wilson interval).")


class QuestionCommentPublic(CommentPublic):
    response: str = Field(description="The public id of the response it is part of (GET /api/v1/responses/{id}).")


class QuestionResultsPublic(BaseModel):
    """One question's results, drawn for its kind. A question asked on several scales across versions is one section
    per scale: answers on unlike scales are never pooled."""

    key: str
    kind: str
    text: str = Field(description="The question's text in the survey's default language (its newest wording).")
    scale_min: int | None
    scale_max: int | None
    ces_version: str | None
    versions: list[int] = Field(description="The survey versions that asked it on this kind and scale.")
    retired: bool = Field(description="The survey's current version no longer asks it.")
    answered: int = Field(description="Responses, of those the filter keeps, that answered it.")
    distribution: list[ScoreCountPublic] = Field(description="Scored kinds: every point of the scale, in order.")
    headlines: list[HeadlinePublic]
    command: str | None = Field(description="The `voxpop metrics` command that prints the headline figures from the "
                                            "store; null when the command cannot name this question alone.")
    ordered: bool = Field(description="Choices: the options form a scale and keep their order.")
    options: list[OptionPublic] = Field(description="Choices: each option, then Other; shares of `answered` (for "
                                                    "multiple choice they sum over 100%).")
    other_texts: list[OtherTextPublic] = Field(description="Choices: the texts answered outside the options, "
                                                           "most frequent first.")
    comments: list[QuestionCommentPublic] = Field(description="Free text: the newest analysed comments, redacted.")
    analysed: int = Field(description="Free text: analysed comments among the answers.")
    themes: list[ThemeSharePublic] = Field(description="Free text: each theme's share of the analysed comments.")


class ResultsPublic(BaseModel):
    survey: str = Field(description="Survey key.")
    title: str
    status: str
    filter: list[str] = Field(description="The filter in words, one part each; empty when every response counts.")
    since: date | None = Field(description="First day the filter keeps, in the workspace's time zone.")
    until: date | None = Field(description="Last day (included).")
    partial: bool = Field(description="The filter's period runs to today, so it has not ended.")
    responses: int = Field(description="Responses the filter keeps.")
    questions: list[QuestionResultsPublic]


class ResponseAnswerPublic(BaseModel):
    question: str = Field(description="Question key.")
    kind: str
    text: str = Field(description="The question as worded in the version the response was given on, in the "
                                  "survey's default language.")
    answer: str = Field(description="The answer as people read it: an option's label, a score with its scale.")
    score: int | None
    choices: list[str] = Field(description="The chosen values of a choice question.")
    comment: CommentPublic | None = Field(description="Free text: the comment analysis (redacted text, sentiment, "
                                                      "themes); null until analysed.")
    pending: bool = Field(description="Free text not yet analysed: it is not shown until it is redacted.")


class CustomerResponsePublic(BaseModel):
    public_id: str
    survey: str
    survey_title: str
    submitted_at: datetime


class PurchasePublic(BaseModel):
    day: date
    amount: float
    kind: str
    product: str | None


class CustomerPublic(BaseModel):
    external_id: str
    other_responses: list[CustomerResponsePublic]
    purchases: list[PurchasePublic] = Field(description="The newest purchases, at most 20.")
    purchase_count: int
    purchase_total: float


class ResponseDetailPublic(BaseModel):
    public_id: str
    survey: str
    survey_title: str
    version: int = Field(description="The survey version it was given on.")
    submitted_at: datetime
    language: str
    channel: str
    attributes: dict[str, str]
    answers: list[ResponseAnswerPublic]
    customer: CustomerPublic | None
