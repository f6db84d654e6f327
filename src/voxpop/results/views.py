"""A survey's results, question by question, filtered, and one response with everything about it: pages and their JSON
twins, each pair filled by one data function (results.service.survey_results, results.responses.response_detail)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy import select

from voxpop.collection.filter_params import FilterDep, FilterQuery, error_field, filter_form
from voxpop.collection.filters import FilterError, unknown_questions
from voxpop.core.counts import NPS_GROUP_LABELS
from voxpop.results.responses import UnknownResponse, response_detail
from voxpop.results.schemas import QuestionResultsPublic, ResponseDetailPublic, ResultsPublic
from voxpop.results.service import UnknownSurvey, survey_results
from voxpop.surveys.models import Survey
from voxpop.text.labels import SENTIMENT_WORDS, as_sentence
from voxpop.text.pipeline import LANGUAGE_NAMES
from voxpop.web import charts
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep
from voxpop.web.problems import problem, problem_responses
from voxpop.web.tables import csv_response
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])
DIGITS = {"nps": 0, "csat": 1, "ces2.0_agree": 1, "ces1.0": 2, "ces2.0": 2, "mean": 2}  # decimals per headline
KIND_WORDS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "rating": "Rating", "single_choice": "Single choice",
              "multiple_choice": "Multiple choice", "text": "Free text"}
GROUP_KINDS = {"detractors": "bar-detractors", "passives": "bar-passives", "promoters": "bar-promoters"}


def results_of(db, *, key: str, query: FilterQuery, min_base: int) -> ResultsPublic:
    """The survey's results for the query's filter; raises FilterError (a filter that cannot be read, or an answer
    test on a question the survey does not have) or UnknownSurvey."""
    response_filter = query.parse()
    today = datetime.now(ZoneInfo(query.zone)).date()
    with db.read_connection() as connection:
        survey_id = connection.execute(select(Survey.id).where(Survey.key == key)).scalar()
        if survey_id is not None and (unknown := unknown_questions(response_filter, survey_id=survey_id,
                                                                    db_session=connection)):
            raise FilterError(f"this survey has no question {', '.join(map(repr, unknown))}; name one of its "
                                "question keys in the answer test, e.g. nps:detractors", parameter="answer")
        return survey_results(connection, survey=key, response_filter=response_filter, zone=query.zone,
                              min_base=min_base, today=today)


@router.get("/surveys/{key}/results", include_in_schema=False)
def results_page(request: Request, key: str, user: CurrentUser, db: DbDep, settings: SettingsDep, query: FilterDep,
                 format: Annotated[Literal["html", "csv"], Query(description="csv for the page's tables as CSV.")] = "html"):
    failed, data = None, None
    try:
        data = results_of(db, key=key, query=query, min_base=settings.min_base)
    except UnknownSurvey:
        raise HTTPException(404) from None
    except FilterError as exc:
        failed = exc
    with db.read() as db_session:
        title = db_session.scalar(select(Survey.title).where(Survey.key == key))
        if title is None:
            raise HTTPException(404)
        form = filter_form(query, db_session, survey=key)
    error = (error_field(failed, form), as_sentence(str(failed))) if failed else None
    if data is not None and format == "csv":
        return csv_response(f"{key}-results", *results_table(data))
    kept = urlencode(_query_pairs(query))
    return render(request, "results/results.html", {
        "key": key, "title": title, "results": data, "error": error, "form": form,
        "field_error": {failed.parameter or "period": error[1]} if error else {}, "query": kept,
        "json_href": f"/api/v1/surveys/{key}/results" + (f"?{kept}" if kept else ""),
        "csv_href": f"/surveys/{key}/results?" + urlencode([*_query_pairs(query), ("format", "csv")]),
        "drawings": [draw(section) for section in data.questions] if data else [],
        "digits": DIGITS, "kinds": KIND_WORDS, "min_base": settings.min_base, "sentiment_words": SENTIMENT_WORDS,
        "languages": LANGUAGE_NAMES, "timezone": settings.timezone,
        "comments_href": "/comments?" + urlencode({"survey": key}),
    }, status_code=400 if error else 200)


def results_table(data: ResultsPublic) -> tuple[list[str], list[list[object]]]:
    """Each question's distribution as CSV rows: a score's or an option's count and share of those who answered
    (options and themes with their Wilson interval), then the question's headline figures with their intervals."""
    rows: list[list[object]] = []
    for section in data.questions:
        asked = [section.key, section.text]
        rows += [[*asked, str(point.score), point.count,
                  round(100 * point.count / section.answered, 1) if section.answered else None, None, None,
                  section.answered] for point in section.distribution]
        rows += [[*asked, option.label, option.count, option.share.value, option.share.ci_low, option.share.ci_high,
                  option.share.n] for option in section.options]
        rows += [[*asked, f"theme: {theme.label}", theme.comments, theme.share.value, theme.share.ci_low,
                  theme.share.ci_high, theme.share.n] for theme in section.themes]
        rows += [[*asked, headline.label, None, headline.estimate.value, headline.estimate.ci_low,
                  headline.estimate.ci_high, headline.estimate.n] for headline in section.headlines]
    return ["question", "text", "answer", "count", "share_or_value", "ci_low", "ci_high", "n"], rows


def _query_pairs(query: FilterQuery) -> list[tuple[str, str]]:
    """The filter's query values as sent (kept as typed, so the tabs and the form show the same filter)."""
    pairs = [(name, getattr(query, name)) for name in ("period", "since", "until") if getattr(query, name)]
    return pairs + [("attribute", value) for value in query.attribute if value] + \
        [("answer", value) for value in query.answer if value]


@api.get("/surveys/{key}/results", response_model=ResultsPublic, responses=problem_responses(401, 404, 422))
def results_json(request: Request, key: str, user: CurrentUser, db: DbDep, settings: SettingsDep,
                 query: FilterDep) -> ResultsPublic:
    """One survey's results, question by question, for the responses the filter keeps: each scored question's
    distribution and headline figures with intervals (and the `voxpop metrics` command that prints them), each
    choice's share of those who answered with its Wilson interval, and free-text comments with theme shares."""
    try:
        return results_of(db, key=key, query=query, min_base=settings.min_base)
    except UnknownSurvey as exc:
        return problem(404, str(exc), code="unknown-survey", instance=request.url.path)
    except FilterError as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-filter", instance=request.url.path,
                       errors=[{"field": exc.parameter or "", "message": as_sentence(str(exc))}])


def draw(section: QuestionResultsPublic) -> charts.Chart | charts.ShareChart | None:
    """The section's chart: a scored question's distribution (NPS bars coloured by group), a choice question's
    shares with their intervals, or a free-text question's theme shares."""
    if section.distribution and section.answered:
        return _distribution(section)
    if section.options and section.answered:
        return charts.share_bars([_share_row(option.label, option.share, option.count, section.answered,
                                             "bar" if option.listed else "bar-other")
                                  for option in section.options],
                                 title=f"Share of the {section.answered:,} who answered choosing each option")
    if section.themes:
        return charts.share_bars([_share_row(theme.label, theme.share, theme.comments, section.analysed, "bar",
                                             whole="analysed comments", verb="raise it")
                                  for theme in section.themes],
                                 title=f"Share of the {section.analysed:,} analysed comments raising each theme")
    return None


def _distribution(section: QuestionResultsPublic) -> charts.Chart:
    nps = section.kind == "nps"
    bars = [charts.CategoryBar(str(point.score), point.count, GROUP_KINDS[point.group] if nps else "bar",
                               f"{point.score}: {point.count:,} answers ({100 * point.count / section.answered:.0f}%)"
                               + (f", {NPS_GROUP_LABELS[point.group].split(' (')[0].lower()}" if nps else ""))
            for point in section.distribution]
    legend = [(GROUP_KINDS[group], NPS_GROUP_LABELS[group]) for group in ("detractors", "passives", "promoters")] \
        if nps else []
    return charts.category_bars(bars, title=f"Answers to {section.key} by score", y_title="Answers",
                                x_title="Score", legend=legend)


def _share_row(label: str, share, count: int, base: int, kind: str, *, whole: str = "who answered",
               verb: str = "chose it") -> charts.ShareRow:
    low, high = share.ci_low or 0.0, share.ci_high or 0.0
    figure = f"{share.value:.0f}% ({low:.0f} to {high:.0f}%)"
    if share.low_base:
        figure += " · low base"
    title = (f"{label}: {share.value:.1f}% of the {base:,} {whole} "
             f"({round(share.confidence * 100)}% CI {low:.1f} to {high:.1f}%), {count:,} {verb}")
    return charts.ShareRow(label, share.value, low, high, figure, title, kind)


@router.get("/responses/{public_id}", include_in_schema=False)
def response_page(request: Request, public_id: str, user: CurrentUser, db: DbDep, settings: SettingsDep):
    try:
        with db.read_connection() as connection:
            detail = response_detail(connection, public_id=public_id)
    except UnknownResponse:
        raise HTTPException(404) from None
    return render(request, "results/response.html", {
        "response": detail, "timezone": settings.timezone, "sentiment_words": SENTIMENT_WORDS,
        "languages": LANGUAGE_NAMES, "json_href": f"/api/v1/responses/{public_id}"})


@api.get("/responses/{public_id}", response_model=ResponseDetailPublic, responses=problem_responses(401, 404))
def response_json(request: Request, public_id: str, user: CurrentUser, db: DbDep) -> ResponseDetailPublic:
    """One response: every answer as worded in the version it was given on, its attributes, language, channel and
    time, the customer with their other responses and purchases, and each comment's analysis (redacted)."""
    try:
        with db.read_connection() as connection:
            return response_detail(connection, public_id=public_id)
    except UnknownResponse as exc:
        return problem(404, str(exc), code="unknown-response", instance=request.url.path)
