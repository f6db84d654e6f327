"""API shapes of the imports domain: what an import of responses or transactions reports."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ColumnReadPublic(BaseModel):
    """How one column of the file was read: what it maps to and on what scale, options or time format."""

    column: int = Field(description="The column's position in the file, from 1.")
    header: str
    role: str = Field(description="What the column is: a question kind (nps, csat, ces, rating, choice, text, ...), "
                                  "an id, a time, an attribute, a customer field, or ignored.")
    key: str | None = None
    label: str | None = None
    scale: str | None = None
    nps_cuts: str | None = None
    ces_version: str | None = None
    options: list[str] = []
    ordered: bool = Field(False, description="The options form a scale (an agreement scale), listed in its order.")
    missing: list[str] = []
    time_format: str | None = None
    time_zone: str | None = None
    detail: str = Field("", description="The line a person reads in the dry run.")


class ResponseSamplePublic(BaseModel):
    """One of the first rows as it will be stored."""

    row: int
    source_id: str
    submitted_at: str = Field(description="ISO 8601, UTC.")
    answers: dict[str, Any]
    attributes: dict[str, str]
    customer: dict[str, str] = {}


class RejectedRowPublic(BaseModel):
    row: str
    column: str
    value: str
    reason: str


class ResponsesImportPublic(BaseModel):
    """What an import of survey responses did, or would do in a dry run."""

    file: str
    format: str = Field(description="The tool whose layout was recognised (qualtrics, surveymonkey, ..., csv).")
    layout: str = Field(description="How the file was read, in words, e.g. \"a Google Forms export (XLSX)\".")
    survey: str = Field(description="The key of the survey the responses go into.")
    title: str = Field(description="The survey's title: as given or suggested for a new survey, else its own.")
    survey_created: bool
    dry_run: bool
    rows: int
    new: int
    present: int = Field(description="Rows already imported before (by the source's response id): not added again.")
    rejected: int
    summary: str = Field(description="The outcome in one sentence.")
    warnings: list[str]
    mapping: list[ColumnReadPublic]
    samples: list[ResponseSamplePublic]
    rejects: list[RejectedRowPublic] = Field(description="The first rejected rows (all are counted in rejected).")


class TransactionsImportPublic(BaseModel):
    """What an import of purchase lines did."""

    file: str
    format: str = Field(description="cdnow, online-retail or csv.")
    summary: str
    rows: int
    new: int
    present: int
    without_customer: int
    new_customers: int
    by_kind: dict[str, int] = Field(description="Lines per kind (sale, return, ...).")


class OptionMergeCreate(BaseModel):
    """Count a single-choice question's answers of one option (a misspelling) as another option."""

    survey: str = Field(max_length=64, description="The survey's key.")
    question: str = Field(max_length=64, description="The question's key.")
    from_option: str = Field(max_length=2000, description="The option as the answers have it, e.g. \"Disgree\".")
    to_option: str = Field(max_length=2000, description="The option its answers are counted as, e.g. \"Disagree\".")


class OptionMergeUndo(BaseModel):
    """Count a merged option's answers as themselves again."""

    survey: str = Field(max_length=64)
    question: str = Field(max_length=64)
    from_option: str = Field(max_length=2000)


class OptionMergePublic(BaseModel):
    survey: str
    question: str
    from_option: str
    to_option: str


class MergeableQuestionPublic(BaseModel):
    """A single-choice question whose options can be merged."""

    key: str
    text: str
    options: list[str] = Field(description="The question's options, in order.")
    ordered: bool = Field(description="The options form a scale, in their order.")
    unlisted: list[str] = Field(description="Texts the answers chose that are not among the options.")
    merges: dict[str, str] = Field(description="Option as the answers have it -> option it is counted as.")
    suggested: dict[str, str] = Field(description="Options that look like a misspelling of another, not merged yet.")


class SurveyMergesPublic(BaseModel):
    """A survey's single-choice questions and their option merges."""

    survey: str
    questions: list[MergeableQuestionPublic]
