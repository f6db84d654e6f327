"""The survey list (GET /surveys) with its JSON twin and CSV, and a survey's definition as JSON."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal, NamedTuple
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request

from voxpop.results import survey_list
from voxpop.surveys import service
from voxpop.surveys.models import SURVEY_STATUSES
from voxpop.surveys.public import SurveyDetailPublic, SurveyListPublic, SurveyVersionPublic
from voxpop.surveys.views import SURVEY_EDITORS
from voxpop.web import charts
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep
from voxpop.web.problems import problem, problem_responses
from voxpop.web.tables import csv_response
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])
PAGE_SIZE = 50


class SurveyQuery(NamedTuple):
    q: str | None
    status: str | None
    owner: str | None


def survey_query(
    q: Annotated[str | None, Query(max_length=200, description="Words of the title or key (case-insensitive).")] = None,
    status: Annotated[str | None, Query(max_length=16, description="draft, live or closed.")] = None,
    owner: Annotated[str | None, Query(max_length=254, description="The owner's e-mail.")] = None,
) -> SurveyQuery:
    return SurveyQuery(q.strip() if q else None, status or None, owner.strip() if owner else None)


Filters = Annotated[SurveyQuery, Depends(survey_query)]


def _status_error(filters: SurveyQuery) -> str | None:
    if filters.status is not None and filters.status not in SURVEY_STATUSES:
        return f"There is no status {filters.status!r}: choose draft, live or closed, or leave status out."
    return None


def _listing(db: DbDep, filters: SurveyQuery, *, offset: int = 0, limit: int | None = None) -> SurveyListPublic:
    with db.read() as db_session:
        return survey_list.list_surveys(db_session=db_session, now=datetime.now(timezone.utc), search=filters.q,
                                    status=filters.status, owner=filters.owner, offset=offset, limit=limit)


def _trend(survey, months: list[str]) -> tuple[str, str]:
    """A survey's sparkline points and its values in words."""
    counts = survey.monthly_responses
    words = (f"Responses per month: {counts[0]:,} in {charts.month_label(months[0] + '-01')}, {counts[-1]:,} in "
             f"{charts.month_label(months[-1] + '-01')} so far, highest {max(counts):,}")
    return charts.sparkline([float(count) for count in counts]), words


@router.get("/surveys", include_in_schema=False)
def survey_list_page(
    request: Request,
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
    filters: Filters,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    format: Annotated[Literal["html", "csv"], Query()] = "html",
):
    error = _status_error(filters)
    if error is None and format == "csv":
        return csv_response("surveys", *survey_list.survey_table(_listing(db, filters)))
    listing = None if error else _listing(db, filters, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    with db.read() as db_session:
        owners = service.survey_owners(db_session=db_session)
    query = {name: value for name, value in filters._asdict().items() if value}

    def href(**changes) -> str:
        return "/surveys?" + urlencode(query | changes) if query or changes else "/surveys"

    pages = None
    if listing and listing.total > PAGE_SIZE:
        last = (listing.total - 1) // PAGE_SIZE + 1
        pages = (href(page=page - 1) if page > 1 else None, href(page=page + 1) if page < last else None,
                 f"Page {page} of {last}")
    months = listing.months if listing else []
    return render(request, "results/survey_list.html", {
        "listing": listing, "filters": filters, "error": error, "owners": owners,
        "trends": {survey.key: _trend(survey, months) for survey in listing.surveys} if listing else {},
        "months": f"{charts.month_label(months[0] + '-01')} to {charts.month_label(months[-1] + '-01')} so far"
                  if months else "",
        "csv_href": href(format="csv"), "json_href": "/api/v1/surveys" + ("?" + urlencode(query) if query else ""),
        "pages": pages, "back": href(page=page) if page > 1 else href(),
        "timezone": settings.timezone, "can_edit": user.role in SURVEY_EDITORS, "statuses": [(status, status.capitalize()) for status in SURVEY_STATUSES],
    }, status_code=422 if error else 200)


@api.get("/surveys", response_model=SurveyListPublic, responses=problem_responses(422))
def survey_list_json(
    request: Request,
    user: CurrentUser,
    db: DbDep,
    filters: Filters,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = PAGE_SIZE,
):
    """The survey list: status, responses, the last response, responses per month over the last 12 months,
    owner and current version; the same filters as the page (q, status, owner)."""
    error = _status_error(filters)
    if error:
        return problem(422, error, code="invalid-status", instance=request.url.path,
                       errors=[{"field": "status", "message": error}])
    return _listing(db, filters, offset=offset, limit=limit)


@api.get("/surveys/{key}", response_model=SurveyDetailPublic, responses=problem_responses(404))
def survey_detail_json(request: Request, key: str, user: CurrentUser, db: DbDep):
    """One survey: its list entry, the current definition as a survey file holds it, and every version."""
    with db.read() as db_session:
        survey = service.get_by_key(db_session=db_session, key=key)
        if survey is None or survey.current_version is None:
            return problem(404, f"There is no survey with key {key!r}; GET /api/v1/surveys lists the keys.",
                           code="unknown-survey", instance=request.url.path)
        definition = service.definition_of(survey.current_version, status=survey.status)
        versions = [SurveyVersionPublic(number=version.number, created_at=version.created_at,
                                        fingerprint=version.fingerprint,
                                        questions=[question.key for question in version.questions])
                    for version in survey.versions]
        [listed] = survey_list.list_surveys(db_session=db_session, now=datetime.now(timezone.utc), key=key).surveys
    return SurveyDetailPublic(survey=listed, definition=definition.model_dump(mode="json", by_alias=True,
                                                                              exclude_none=True),
                              versions=versions)


