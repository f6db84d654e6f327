"""The shapes of the rules pages' JSON twins (/api/v1/cases/rules...) and of `voxpop cases rules list --format json`."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class RulePublic(BaseModel):
    key: str
    name: str
    survey: str | None = Field(description="The survey's key; none: every survey with the question.")
    conditions: dict = Field(description="As the rules file writes them: answer, attribute, theme, sentiment.")
    conditions_in_words: list[str]
    priority: str
    department: str | None
    paused: bool
    holdout: float = Field(description="Share of the cases the rule would open that are held out at random.")
    consent_question: str | None
    active_from: datetime = Field(description="Responses submitted before this are history: only a backfill "
                                              "looks at them.")
    cases_last_30_days: int


class RoutePublic(BaseModel):
    attribute: str
    value: str
    department: str


class RulesRootCausePublic(BaseModel):
    key: str
    name: str
    theme: str | None
    active: bool


class PolicyPublic(BaseModel):
    first_contact_hours: dict[str, float]
    resolve_hours: dict[str, float]
    workday: str
    workdays: list[str]
    warn_before_hours: float
    assignment: str
    default_department: str | None
    followup_survey: str | None
    followup_days: int


class RulesPublic(BaseModel):
    rules: list[RulePublic]
    routes: list[RoutePublic]
    root_causes: list[RulesRootCausePublic]
    policy: PolicyPublic


class WeekPublic(BaseModel):
    week: date = Field(description="The week's Monday.")
    cases: int


class MonthPublic(BaseModel):
    month: date = Field(description="The month's first day; the window may cover only part of the month.")
    cases: int


class PreviewPublic(BaseModel):
    since: date
    until: date
    matching: int = Field(description="Responses that meet the rule's conditions.")
    cases: int = Field(description="Cases it would have opened: a customer's further matches within open_days of "
                                   "a case join it (an approximation of how long cases stay open).")
    held_out: int = Field(description="Of those, how many its holdout would have held out (expected).")
    per_week: float
    last_month: date | None = Field(description="The first day of the last full month of the window, if any.")
    last_month_cases: int | None
    open_days: int
    weeks: list[WeekPublic]
    months: list[MonthPublic]
    sentence: str


class RuleDetailPublic(BaseModel):
    rule: RulePublic
    preview: PreviewPublic
