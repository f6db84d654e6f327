"""The comments and themes pages for staff with their JSON twins, the admins' view of a kept original, and theme
corrections. Each page and its twin are filled by one data function, which returns the twin's schema."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import partial
from typing import Annotated, Literal, NamedTuple
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection, select

from voxpop.accounts import service as accounts
from voxpop.accounts.models import User
from voxpop.collection.filter_params import FilterDep, FilterForm, FilterQuery, error_field, filter_form
from voxpop.collection.models import Answer
from voxpop.text.codebook import Codebook
from voxpop.text.codebooks import current_codebook
from voxpop.text.labels import (
    NPS_GROUP_WORDS,
    SENTIMENT_WORDS,
    as_sentence,
    in_sentence,
    survey_choices,
    theme_choices,
    theme_label,
    theme_labels,
)
from voxpop.text.models import CommentAnalysis
from voxpop.text.overview import UnknownSurvey, theme_overview
from voxpop.text.pipeline import LANGUAGE_NAMES
from voxpop.text.schemas import (
    CommentListPublic,
    CommentOriginalPublic,
    CommentPublic,
    EmergingThemePublic,
    SentimentPublic,
    ThemeCorrectionCreate,
    ThemeCorrectionPublic,
    ThemeMetricsPublic,
    ThemeTagPublic,
)
from voxpop.text.service import correct_theme
from voxpop.text.verbatims import (
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    FilterError,
    Verbatim,
    find_verbatims,
    parse_cursor,
    parse_filters,
)
from voxpop.web import charts
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep, client_address, require_role, verify_csrf
from voxpop.web.problems import problem, problem_responses
from voxpop.web.signals import signal_sentence
from voxpop.web.tables import csv_response
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter()  # the JSON twins, under the app's /api/v1 prefix
MAX_CSV_COMMENTS = 10_000  # comments in one download, newest first; its file name says when there were more
CsvFormat = Annotated[Literal["html", "csv"], Query(description="csv for the page's table as CSV.")]
THEME_EDITORS = ("admin", "manager", "analyst")
Admin = Annotated[User, Depends(require_role("admin"))]
ThemeEditor = Annotated[User, Depends(require_role(*THEME_EDITORS))]
FILTER_NAMES = ("survey", "theme", "sentiment", "nps", "score_min", "score_max", "q")  # and the response filter's


class CommentQuery(NamedTuple):
    """The comments' own query values as sent (the response filter's come with FilterDep); parse_filters turns them
    into filters or a sentence saying what is wrong."""

    survey: str | None
    theme: str | None
    sentiment: str | None
    nps: str | None
    score_min: str | None
    score_max: str | None
    q: str | None
    cursor: str | None
    limit: int


def comment_query(
    survey: Annotated[str | None, Query(max_length=64, description="Survey key.")] = None,
    theme: Annotated[str | None, Query(max_length=200, description="Codebook theme key; includes its sub-themes.")] = None,
    sentiment: Annotated[str | None, Query(max_length=16, description="positive, neutral, negative or unscored.")] = None,
    nps: Annotated[str | None, Query(max_length=16, description="promoter, passive or detractor, by the NPS answer "
                                                                "of the same response.")] = None,
    score_min: Annotated[str | None, Query(max_length=8, description="Lowest NPS answer (0–10) of the response.")] = None,
    score_max: Annotated[str | None, Query(max_length=8, description="Highest NPS answer (0–10) of the response.")] = None,
    q: Annotated[str | None, Query(max_length=1000, description="Words the redacted text contains, in any order; "
                                                                 "\"a phrase\"; -word or -\"a phrase\" excludes "
                                                                 "(case-insensitive substrings, not ranked).")] = None,
    cursor: Annotated[str | None, Query(max_length=64, description="next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Comments per page.")] = PAGE_SIZE,
) -> CommentQuery:
    return CommentQuery(survey, theme, sentiment, nps, score_min, score_max, q, cursor, limit)


Comments = Annotated[CommentQuery, Depends(comment_query)]


def _comment(verbatim: Verbatim, labels: dict[str, str]) -> CommentPublic:
    return CommentPublic(
        answer_id=verbatim.answer_id, survey=verbatim.survey_key, survey_title=verbatim.survey_title,
        question=verbatim.question_key, submitted_at=verbatim.submitted_at, text=verbatim.text,
        language=verbatim.language,
        sentiment=None if verbatim.sentiment_label is None else
        SentimentPublic(score=verbatim.sentiment_score, label=verbatim.sentiment_label),
        no_sentiment_reason=verbatim.no_sentiment_reason, personal_data_redacted=list(verbatim.personal_data),
        has_original=verbatim.has_original, nps=verbatim.nps,
        themes=[ThemeTagPublic(theme=tag.theme, label=theme_label(labels, tag.theme), matches=list(tag.matches),
                               source=tag.source) for tag in verbatim.themes])


def comment_list(connection: Connection, query: CommentQuery, responses: FilterQuery, *,
                 codebook: Codebook) -> CommentListPublic:
    """One page of analysed comments, newest first, and the next page's cursor; a bad filter raises FilterError.
    `responses` is the response filter as sent; `codebook` is the one in use (read once per request)."""
    filters = parse_filters(survey=query.survey, theme=query.theme, sentiment=query.sentiment, nps=query.nps,
                            score_min=query.score_min, score_max=query.score_max, search=query.q,
                            themes=codebook.keys(), responses=responses.parse())
    verbatims, following = find_verbatims(connection, filters, zone=responses.zone, after=parse_cursor(query.cursor),
                                          limit=query.limit)
    labels = theme_labels(codebook)
    return CommentListPublic(comments=[_comment(verbatim, labels) for verbatim in verbatims],
                             next_cursor=following.encode() if following else None)


# The page words a filter's error with its form's labels; the API keeps the parameter names its callers send.
PARAMETER_WORDS = {"score_min": "the lowest NPS score", "score_max": "the highest NPS score",
                   "since": "the first day", "until": "the last day", "sentiment": "the sentiment",
                   "nps": "the NPS group", "period": "the period"}
PARAMETER = re.compile(r"\b(" + "|".join(PARAMETER_WORDS) + r")\b(?= \(| must)")
NOT_A_FIELD = ("cursor",)  # the page's links carry it; nobody types it


def filter_error(error: FilterError, form: FilterForm) -> tuple[tuple[str, str] | str, dict[str, str]]:
    """A filter's error as the page says it: the summary's entry, (the id of the field it links to, sentence) when
    it is about one field, and the sentence by parameter name for that field to show."""
    message = str(error)
    field = None if error.parameter in NOT_A_FIELD else error.parameter
    if field == "theme":  # the page offers the themes by label; their keys would mean nothing here
        message = message.partition(";")[0] + "; choose one from the list"
    worded = as_sentence(PARAMETER.sub(lambda match: PARAMETER_WORDS[match.group(1)], message))
    return ((error_field(error, form), worded), {field: worded}) if field else (worded, {})


def api_sentence(message: str) -> str:
    """A filter's error as the API says it: the parameter's own name, in a sentence."""
    return as_sentence(f"Parameter {message}" if PARAMETER.match(message) else message)


def comments_table(listed: CommentListPublic) -> tuple[list[str], list[list[object]]]:
    """The listed comments as CSV rows: redacted text only, as the page shows them."""
    return ["submitted_at", "survey", "question", "nps", "sentiment", "themes", "language", "text"], [
        [comment.submitted_at.isoformat(), comment.survey, comment.question, comment.nps,
         comment.sentiment.label if comment.sentiment else None, "; ".join(tag.label for tag in comment.themes),
         comment.language, comment.text] for comment in listed.comments]


@router.get("/comments", include_in_schema=False)
def comments_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, query: Comments,
                  responses: FilterDep, format: CsvFormat = "html"):
    listed, error, field_error = CommentListPublic(comments=[], next_cursor=None), None, {}
    with db.read_connection() as connection:
        codebook = current_codebook(connection).codebook
        response_form = filter_form(responses, connection, survey=query.survey or None)
        try:
            if format == "csv":  # the filter's comments from the first, not one page of them
                listed = comment_list(connection, query._replace(cursor=None, limit=MAX_CSV_COMMENTS), responses,
                                      codebook=codebook)
                return csv_response(f"comments-first-{MAX_CSV_COMMENTS}" if listed.next_cursor else "comments",
                                    *comments_table(listed))
            listed = comment_list(connection, query, responses, codebook=codebook)
        except FilterError as exc:
            error, field_error = filter_error(exc, response_form)
        surveys = survey_choices(connection)
    form = {name: getattr(query, name) or "" for name in FILTER_NAMES}
    kept = [(name, value) for name, value in form.items() if value]
    kept += [(name, value) for name in ("since", "until", "period") if (value := getattr(responses, name))]
    kept += [("attribute", value) for value in responses.attribute] + [("answer", value) for value in responses.answer]
    if query.limit != PAGE_SIZE:
        kept.append(("limit", str(query.limit)))
    query_string = f"?{request.url.query}" if request.url.query else ""
    return render(request, "text/comments.html", {
        "listed": listed, "error": error, "field_error": field_error, "form": form, "response_form": response_form, "filtered": bool(kept),
        "json_href": f"/api/v1/comments{query_string}",
        "csv_href": f"/comments?{urlencode([*(pair for pair in kept if pair[0] != 'limit'), ('format', 'csv')])}",
        "csv_cap": MAX_CSV_COMMENTS,
        "next_href": f"/comments?{urlencode(kept + [('cursor', listed.next_cursor)])}" if listed.next_cursor else None,
        "first_href": f"/comments?{urlencode(kept)}" if query.cursor else None,
        "themes": theme_choices(codebook), "surveys": surveys,
        "sentiments": list(SENTIMENT_WORDS.items()), "nps_groups": list(NPS_GROUP_WORDS.items()),
        "sentiment_words": SENTIMENT_WORDS, "languages": LANGUAGE_NAMES, "timezone": settings.timezone,
        "here": f"/comments{query_string}",
        "can_see_originals": user.role == "admin" and settings.keep_original_comments,
        "can_correct": user.role in THEME_EDITORS,
    }, status_code=400 if error else 200)


@api.get("/comments", tags=["staff"], response_model=CommentListPublic, responses=problem_responses(401, 422))
def comments_json(request: Request, user: CurrentUser, db: DbDep, query: Comments, responses: FilterDep):
    """Analysed comments, newest first, redacted: filter by survey, theme, sentiment, NPS group or score range of
    the same response and words, and by the response filter (days or period, attributes, answers to another
    question); follow next_cursor for the next page."""
    try:
        with db.read_connection() as connection:
            return comment_list(connection, query, responses, codebook=current_codebook(connection).codebook)
    except FilterError as exc:
        return problem(422, api_sentence(str(exc)), code="invalid-filter", instance=request.url.path)


class OriginalMissing(LookupError):
    """No original to show, with the reason in a sentence."""


def comment_original(request: Request, db, settings, user: User, answer_id: int) -> CommentOriginalPublic:
    """The kept original of one comment, read by an admin and written to the audit log."""
    if not settings.keep_original_comments:
        raise OriginalMissing("this workspace does not keep originals (VOXPOP_KEEP_ORIGINAL_COMMENTS is off), so the "
                              "redacted text is all there is")
    with db.read_connection() as connection:
        row = connection.execute(select(CommentAnalysis.text, CommentAnalysis.original)
                                 .where(CommentAnalysis.answer_id == answer_id)).first()
    if row is None:
        raise OriginalMissing(f"there is no analysed comment {answer_id}; check the link")
    if row.original is None:
        raise OriginalMissing(f"comment {answer_id} has no kept original: nothing was redacted from it, or it was "
                              "analysed while originals were not kept")
    with db.write() as db_session:
        accounts.audit(db_session=db_session, actor=user, action="comment.original", target=str(answer_id),
                       client=client_address(request, settings))
    return CommentOriginalPublic(answer_id=answer_id, text=row.text, original=row.original)


@router.get("/comments/{answer_id}/original", include_in_schema=False)
def original_page(request: Request, answer_id: int, user: Admin, db: DbDep, settings: SettingsDep):
    try:
        comment, error = comment_original(request, db, settings, user, answer_id), None
    except OriginalMissing as exc:
        comment, error = None, as_sentence(str(exc))
    return render(request, "text/comment_original.html", {"comment": comment, "error": error},
                  status_code=404 if error else 200)


@api.get("/comments/{answer_id}/original", tags=["staff"], response_model=CommentOriginalPublic,
         responses=problem_responses(401, 403, 404))
def original_json(request: Request, answer_id: int, user: Admin, db: DbDep, settings: SettingsDep):
    """An admin reads the original of one comment, before redaction (kept only when the workspace keeps
    originals); every read is in the audit log."""
    try:
        return comment_original(request, db, settings, user, answer_id)
    except OriginalMissing as exc:
        return problem(404, as_sentence(str(exc)), code="no-original", instance=request.url.path)


class RefusedCorrection(ValueError):
    """A theme correction that cannot be recorded."""


def record_correction(request: Request, db, settings, user: User, answer_id: int,
                      correction: ThemeCorrectionCreate) -> ThemeCorrectionPublic:
    """Record a person's correction of one theme of one comment, in the audit log too."""
    with db.read_connection() as connection:
        codebook = current_codebook(connection).codebook
    themes = codebook.keys()
    if correction.theme not in themes:
        raise RefusedCorrection(f"there is no theme {correction.theme!r} in the codebook; choose one of "
                                f"{', '.join(themes)}")
    with db.write() as db_session:
        if db_session.get(Answer, answer_id) is None:
            raise RefusedCorrection(f"there is no comment {answer_id}; it may have been deleted")
        correct_theme(db_session=db_session, answer_id=answer_id, theme=correction.theme, present=correction.present,
                      user_id=user.id)
        accounts.audit(db_session=db_session, actor=user, action="comment.theme", target=str(answer_id),
                       client=client_address(request, settings), theme=correction.theme, present=correction.present)
    return ThemeCorrectionPublic(answer_id=answer_id, theme=correction.theme, present=correction.present,
                                 label=theme_label(theme_labels(codebook), correction.theme))


@router.post("/comments/{answer_id}/themes", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def correct_page(request: Request, answer_id: int, user: ThemeEditor, db: DbDep, settings: SettingsDep,
                 theme: Annotated[str, Form(max_length=200)], present: Annotated[bool, Form()],
                 back: Annotated[str, Form(max_length=2000)] = "/comments"):
    try:
        record_correction(request, db, settings, user, answer_id, ThemeCorrectionCreate(theme=theme, present=present))
    except RefusedCorrection as exc:
        return render(request, "error.html", {"status": 400, "title": "Not corrected", "detail": as_sentence(str(exc))},
                      status_code=400)
    # Only back to the verbatims, never to another site.
    target = back if back.startswith("/comments") and not back.startswith("/comments/") else "/comments"
    return RedirectResponse(target, status_code=303)


@api.post("/comments/{answer_id}/themes", tags=["staff"], dependencies=[Depends(verify_csrf)],
          response_model=ThemeCorrectionPublic, responses=problem_responses(400, 401, 403, 413, 422))
def correct_json(request: Request, answer_id: int, user: ThemeEditor, db: DbDep, settings: SettingsDep,
                 correction: ThemeCorrectionCreate):
    """Correct one theme of one comment (send the CSRF token in X-CSRF-Token). Corrections are kept when the
    comment is analysed again, and are measured against the codebook's tags."""
    try:
        return record_correction(request, db, settings, user, answer_id, correction)
    except RefusedCorrection as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-correction", instance=request.url.path)


@api.get("/themes", tags=["staff"], response_model=ThemeMetricsPublic, responses=problem_responses(401, 404))
def themes_json(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, responses: FilterDep,
                survey: Annotated[str | None, Query(max_length=64, description="Survey key; all surveys when "
                                                                                "left out.")] = None):
    """Per theme of the analysed comments (of one survey, or all): its share with a Wilson interval, mean
    sentiment with a t interval, and the NPS of the responses that mention it against the rest, with the
    difference and its interval (not shown below the minimum base); each theme with its label. Emerging themes
    are read on the ended months; the month still running follows as a partial point. The response filter narrows
    the comments to those of the responses it keeps."""
    with db.read_connection() as connection:
        try:
            return theme_overview(connection, survey=survey, min_base=settings.min_base, responses=responses.parse(),
                                  zone=responses.zone)
        except UnknownSurvey as exc:
            return problem(404, as_sentence(str(exc)), code="unknown-survey", instance=request.url.path)
        except FilterError as exc:
            return problem(422, api_sentence(str(exc)), code="invalid-filter", instance=request.url.path)


class EmergingDrawing(NamedTuple):
    theme: str
    chart: charts.Chart
    signals: list[str]


class ThemeDrawings(NamedTuple):
    """The themes page's charts: the Pareto, a p-chart per emerging theme, and a sparkline per theme."""

    pareto: charts.Chart | None
    emerging: list[EmergingDrawing]
    trends: dict[str, tuple[str, str]]  # theme key: (sparkline points, its values in words)
    months: str  # the sparklines' months in words, e.g. "Jun 2025 to Dec 2026 so far"


def _emerging(row: EmergingThemePublic, label: str) -> EmergingDrawing:
    """One emerging theme's p-chart and its signals in words; the running month is partial, without limits."""
    about = f"comments about {in_sentence(label)}"
    signalled = {period for signal in row.signals for period in signal.periods}
    points = []
    for period, share, upper, so_far in zip(row.periods, row.shares, row.upper, row.partial):
        points.append(charts.ControlPoint(
            charts.month_label(period), share, f"{charts.month_label(period, short=False)}"
            f"{' so far' if so_far else ''}: {share:g}% of the comments were {about}",
            centre=None if so_far else row.centre, upper=upper, signalled=period in signalled, partial=so_far))
    chart = charts.control_chart(points, title=f"Monthly share of {about}, with its usual level and upper control "
                                               "limit", y_title="Share of comments (%)", unit="%", floor=0.0,
                                 ceiling=100.0)
    # The signals come from the ended months only (text.metrics), so none speaks of a month still running.
    signals = [signal_sentence(signal.rule, "up", charts.month_label(signal.periods[-1], short=False),
                               f"the share of {about}") for signal in row.signals]
    return EmergingDrawing(row.theme, chart, signals)


def theme_drawings(overview: ThemeMetricsPublic, labels: dict[str, str], *, now: datetime) -> ThemeDrawings:
    """The charts of the themes page; a month that has not ended (UTC, as the metrics count) is drawn as partial."""
    running = now.astimezone(timezone.utc).strftime("%Y-%m-01")
    label = partial(theme_label, labels)
    pareto = charts.pareto(
        [(label(row.theme), row.negative_comments) for row in overview.pareto],
        title="Negative comments per theme, most first, with their cumulative share",
        y_title="Negative comments", titles=[f"{label(row.theme)}: {row.negative_comments:,} negative comments "
                                             f"({row.cumulative_share:.0f}% with the themes before it)"
                                             for row in overview.pareto]) if overview.pareto else None
    emerging = [_emerging(row, label(row.theme)) for row in overview.emerging]
    if not overview.months:
        return ThemeDrawings(pareto, emerging, {}, "")
    first, last = charts.month_label(overview.months[0]), charts.month_label(overview.months[-1])
    last += " so far" if overview.months[-1][:10] == running else ""
    trends = {row.theme: (charts.sparkline(row.monthly_share),
                          f"Share of comments per month: {row.monthly_share[0]:g}% in {first}, "
                          f"{row.monthly_share[-1]:g}% in {last}, highest {max(row.monthly_share):g}%")
              for row in overview.themes if len(row.monthly_share) > 1}
    return ThemeDrawings(pareto, emerging, trends, f"{first} to {last}")


def themes_table(overview: ThemeMetricsPublic) -> tuple[list[str], list[list[object]]]:
    """The theme table as CSV rows: each theme's share, sentiment and NPS with their intervals and bases."""
    header = ["theme", "label", "comments", "negative_comments"]
    for figure in ("share", "sentiment", "nps_mentioning", "nps_not_mentioning"):
        header += [figure, f"{figure}_ci_low", f"{figure}_ci_high", f"{figure}_n"]
    header += ["nps_difference", "nps_difference_ci_low", "nps_difference_ci_high", "nps_difference_p"]
    rows = []
    for row in overview.themes:
        cells: list[object] = [row.theme, row.label, row.comments, row.negative_comments]
        for estimate in (row.share, row.sentiment, row.nps_mentioning, row.nps_not_mentioning):
            cells += [estimate.value, estimate.ci_low, estimate.ci_high, estimate.n]
        difference = row.nps_difference
        cells += [difference.difference, difference.ci_low, difference.ci_high, difference.p_value] if difference \
            else [None] * 4
        rows.append(cells)
    return header, rows


@router.get("/themes", include_in_schema=False)
def themes_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, responses: FilterDep,
                survey: Annotated[str | None, Query(max_length=64)] = None, format: CsvFormat = "html"):
    overview, error, field_error, status = None, None, {}, 200
    with db.read_connection() as connection:
        response_form = filter_form(responses, connection, survey=survey or None)
        try:
            overview = theme_overview(connection, survey=survey or None, min_base=settings.min_base,
                                      responses=responses.parse(), zone=responses.zone)
        except UnknownSurvey as exc:
            error, status = ("survey", as_sentence(str(exc).replace("leave survey out", "choose All surveys"))), 404
            field_error = dict([error])
        except FilterError as exc:
            (error, field_error), status = filter_error(exc, response_form), 400
        labels = theme_labels(current_codebook(connection).codebook)
        surveys = survey_choices(connection)
    if overview is not None and format == "csv":
        return csv_response("themes", *themes_table(overview))
    return render(request, "text/themes.html", {
        "overview": overview, "error": error, "field_error": field_error, "labels": labels, "surveys": surveys, "survey": survey or "",
        "drawings": theme_drawings(overview, labels, now=datetime.now(timezone.utc)) if overview else None,
        "min_base": settings.min_base, "response_form": response_form,
        "filtered": bool(survey or request.url.query), "json_href": "/api/v1/themes" + (
            f"?{request.url.query}" if request.url.query else ""),
        "csv_href": "/themes?" + urlencode([*((name, value) for name, value in request.query_params.multi_items()
                                              if name != "format"), ("format", "csv")]),
    }, status_code=status)


# Until web/app.py mounts `api` under its API_PREFIX with the other domains' JSON routes, the page router carries
# it there (the layers keep web.app out of reach here, hence the literal).
