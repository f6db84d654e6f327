"""The qualitative sources' API shapes; each page is filled from the same object its JSON twin returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from voxpop.text.schemas import CommentPublic

Kind = Literal["focus_group", "interview"]


class SourcePublic(BaseModel):
    key: str
    kind: Kind
    title: str
    held_on: date
    moderator: str | None
    participants: int = Field(description="Speakers who are not moderators.")
    turns: int
    file_name: str
    file_format: Literal["txt", "vtt", "srt", "docx"]
    imported_at: datetime
    imported_by: str | None = Field(description="The e-mail of the staff member who imported it.")


class SourceListPublic(BaseModel):
    sources: list[SourcePublic]


class SourceImportPublic(BaseModel):
    key: str
    title: str
    kind: Kind
    file_format: str
    participants: int
    turns: int
    redacted_turns: int = Field(description="Turns from which personal data (e-mail addresses, phone numbers, ...) "
                                            "was removed.")
    themed_turns: int


class TurnThemePublic(BaseModel):
    theme: str
    label: str
    matches: list[tuple[str, int, int]] = Field(description="[word, start, end] in the redacted text.")
    source: Literal["codebook", "correction"]


class TurnPublic(BaseModel):
    id: int
    position: int
    speaker: str
    role: Literal["moderator", "participant"]
    start_seconds: float | None
    end_seconds: float | None
    text: str = Field(description="Redacted.")
    language: str | None
    sentiment_score: float | None
    sentiment_label: str | None
    no_sentiment_reason: str | None
    personal_data_redacted: list[str]
    themes: list[TurnThemePublic]


class ParticipantPublic(BaseModel):
    label: str = Field(description="The name the transcript gives them.")
    role: Literal["moderator", "participant"]
    customer: str | None = Field(description="The linked customer's external id.")
    segment: str | None
    turns: int


class SessionThemePublic(BaseModel):
    theme: str
    label: str
    turns: int


class SessionPublic(BaseModel):
    source: SourcePublic
    notes: str
    participants: list[ParticipantPublic]
    themes: list[SessionThemePublic] = Field(description="Turns per theme in the whole session, most first.")
    total_turns: int
    outdated_turns: int = Field(description="Turns an older codebook or pipeline analysed; `voxpop sources "
                                            "reanalyse` analyses them again.")
    turns: list[TurnPublic] = Field(description="The turns the theme and speaker filters keep, in the order spoken.")


class TurnCorrectionCreate(BaseModel):
    theme: str = Field(max_length=200, description="Codebook theme key.")
    present: bool = Field(description="true: the turn has the theme; false: it has not.")


class TurnCorrectionPublic(BaseModel):
    turn_id: int
    theme: str
    label: str
    present: bool


class EstimatePublic(BaseModel):
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    low_base: bool = Field(description="n is below the workspace's minimum base: not shown as a figure.")
    confidence: float | None


class SurveyVoicesPublic(BaseModel):
    analysed_comments: int
    comments: int = Field(description="Analysed comments with the theme (or a sub-theme).")
    share: EstimatePublic = Field(description="comments / analysed_comments in %, with a 95% Wilson interval.")
    sentiment: dict[str, int] = Field(description="Comments with the theme per sentiment label ('unscored' when "
                                                  "not scored).")
    examples: list[CommentPublic] = Field(description="The latest comments with the theme, redacted.")


class QuotePublic(BaseModel):
    turn_id: int
    text: str = Field(description="Redacted.")
    speaker: str
    customer: str | None
    segment: str | None
    sentiment_label: str | None
    start_seconds: float | None
    source: str = Field(description="The source's key.")
    source_title: str
    kind: Kind
    held_on: date
    position: int
    themes: list[str] = Field(description="The theme's keys on this turn (itself or its sub-themes).")


class SessionVoicesPublic(BaseModel):
    sessions: int = Field(description="Sessions in which a participant raised the theme.")
    all_sessions: int
    participants: int = Field(description="Participants who raised it.")
    all_participants: int
    turns: int
    sentiment: dict[str, int]
    quotes: list[QuotePublic] = Field(description="Participants' turns on the theme, latest session first.")


class ThemeVoicesPublic(BaseModel):
    theme: str
    label: str
    surveys: SurveyVoicesPublic
    sessions: SessionVoicesPublic


class ThemeAcrossPublic(BaseModel):
    theme: str
    label: str
    comments: int
    share: EstimatePublic
    turns: int
    participants: int
    sessions: int
    heard_in: Literal["both", "sessions", "surveys"]


class ThemesAcrossPublic(BaseModel):
    analysed_comments: int
    all_sessions: int
    all_participants: int
    themes: list[ThemeAcrossPublic]
