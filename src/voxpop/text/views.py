"""The verbatims page for staff and its JSON twin, the admins' view of a kept original, and theme corrections."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, NamedTuple
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from voxpop.accounts import service as accounts
from voxpop.accounts.models import User
from voxpop.collection.models import Answer
from voxpop.surveys.models import Survey
from voxpop.text.codebooks import codebook_keys
from voxpop.text.metrics import theme_metrics
from voxpop.text.models import CommentAnalysis
from voxpop.text.service import correct_theme
from voxpop.text.verbatims import (
    MAX_PAGE_SIZE,
    NPS_GROUPS,
    PAGE_SIZE,
    SENTIMENTS,
    FilterError,
    Verbatim,
    find_verbatims,
    parse_cursor,
    parse_filters,
)
from voxpop.web import charts
from voxpop.web.auth import (
    CurrentUser,
    DbDep,
    SettingsDep,
    client_address,
    csrf_token,
    require_role,
    verify_csrf,
)
from voxpop.web.problems import problem
from voxpop.web.templating import render

router = APIRouter()
THEME_EDITORS = ("admin", "manager", "analyst")
Admin = Annotated[User, Depends(require_role("admin"))]
ThemeEditor = Annotated[User, Depends(require_role(*THEME_EDITORS))]
FILTER_NAMES = ("survey", "theme", "sentiment", "nps", "score_min", "score_max", "since", "until", "q")


class CommentQuery(NamedTuple):
    """The query string as sent; parse_filters turns it into filters or a sentence saying what is wrong."""

    survey: str | None
    theme: str | None
    sentiment: str | None
    nps: str | None
    score_min: str | None
    score_max: str | None
    attribute: list[str]
    since: str | None
    until: str | None
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
    attribute: Annotated[list[str] | None, Query(description="name=value, e.g. channel=web; repeat to require several.")] = None,
    since: Annotated[str | None, Query(max_length=32, description="First day, YYYY-MM-DD, in the workspace's time zone.")] = None,
    until: Annotated[str | None, Query(max_length=32, description="Last day (included), YYYY-MM-DD.")] = None,
    q: Annotated[str | None, Query(max_length=1000, description="Words the redacted text contains, in any order; "
                                                                 "\"a phrase\"; -word or -\"a phrase\" excludes "
                                                                 "(case-insensitive substrings, not ranked).")] = None,
    cursor: Annotated[str | None, Query(max_length=64, description="next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Comments per page.")] = PAGE_SIZE,
) -> CommentQuery:
    return CommentQuery(survey, theme, sentiment, nps, score_min, score_max, attribute or [], since, until, q, cursor,
                        limit)


Comments = Annotated[CommentQuery, Depends(comment_query)]


def _page(connection, settings, query: CommentQuery, themes: list[str]) -> tuple[list[Verbatim], str | None]:
    """One page of verbatims and the next page's cursor; a bad filter raises FilterError. `themes` are the keys
    of the codebook in use."""
    filters = parse_filters(survey=query.survey, theme=query.theme, sentiment=query.sentiment, nps=query.nps,
                            score_min=query.score_min, score_max=query.score_max, attributes=query.attribute,
                            since=query.since, until=query.until, search=query.q, themes=themes)
    verbatims, following = find_verbatims(connection, filters, zone=settings.timezone,
                                          after=parse_cursor(query.cursor), limit=query.limit)
    return verbatims, following.encode() if following else None


def _verbatim_json(verbatim: Verbatim) -> dict[str, Any]:
    return {
        "answer_id": verbatim.answer_id,
        "survey": verbatim.survey_key,
        "question": verbatim.question_key,
        "submitted_at": verbatim.submitted_at.isoformat(),
        "text": verbatim.text,
        "language": verbatim.language,
        "sentiment": None if verbatim.sentiment_label is None else
        {"score": verbatim.sentiment_score, "label": verbatim.sentiment_label},
        "no_sentiment_reason": verbatim.no_sentiment_reason,
        "personal_data_redacted": list(verbatim.personal_data),
        "nps": verbatim.nps,
        "themes": [asdict(tag) for tag in verbatim.themes],
    }


@router.get("/comments", include_in_schema=False)
def comments_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, query: Comments):
    verbatims, following, error = [], None, None
    with db.read_connection() as connection:
        themes = codebook_keys(connection)
        try:
            verbatims, following = _page(connection, settings, query, themes)
        except FilterError as exc:
            error = str(exc)
    shown = {name: getattr(query, name) or "" for name in FILTER_NAMES}
    kept = [(name, value) for name, value in shown.items() if value] + [("attribute", a) for a in query.attribute]
    next_url = f"/comments?{urlencode(kept + [('cursor', following)])}" if following else None
    return render(request, "text/comments.html", {
        "verbatims": verbatims, "next_url": next_url, "error": error,
        "form": shown | {"attribute": "; ".join(query.attribute)}, "attributes": query.attribute,
        "themes": themes, "sentiments": SENTIMENTS, "nps_groups": list(NPS_GROUPS),
        "timezone": settings.timezone, "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "can_see_originals": user.role == "admin" and settings.keep_original_comments,
        "can_correct": user.role in THEME_EDITORS,
    }, status_code=400 if error else 200)


@router.get("/api/v1/comments", tags=["staff"])
def comments_json(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, query: Comments):
    """Analysed comments, newest first, redacted: filter by survey, theme, sentiment, NPS group or score range of
    the same response, attributes, dates and words; follow next_cursor for the next page."""
    try:
        with db.read_connection() as connection:
            verbatims, following = _page(connection, settings, query, codebook_keys(connection))
    except FilterError as exc:
        return problem(422, str(exc), code="invalid-filter", instance=request.url.path)
    return {"comments": [_verbatim_json(verbatim) for verbatim in verbatims], "next_cursor": following}


class OriginalMissing(LookupError):
    """No original to show, with the reason in a sentence."""


def _original(request: Request, db, settings, user: User, answer_id: int) -> dict[str, Any]:
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
    return {"answer_id": answer_id, "text": row.text, "original": row.original}


@router.get("/comments/{answer_id}/original", include_in_schema=False)
def original_page(request: Request, answer_id: int, user: Admin, db: DbDep, settings: SettingsDep):
    try:
        comment, error = _original(request, db, settings, user, answer_id), None
    except OriginalMissing as exc:
        comment, error = None, str(exc)
    return render(request, "text/comment_original.html", {
        "comment": comment, "error": error,
    }, status_code=404 if error else 200)


@router.get("/api/v1/comments/{answer_id}/original", tags=["staff"])
def original_json(request: Request, answer_id: int, user: Admin, db: DbDep, settings: SettingsDep):
    """An admin reads the original of one comment, before redaction (kept only when the workspace keeps
    originals); every read is in the audit log."""
    try:
        return _original(request, db, settings, user, answer_id)
    except OriginalMissing as exc:
        return problem(404, str(exc), code="no-original", instance=request.url.path)


class RefusedCorrection(ValueError):
    """A theme correction that cannot be recorded."""


def _correct(request: Request, db, settings, user: User, answer_id: int, theme: str, present: bool) -> None:
    with db.read_connection() as connection:
        themes = codebook_keys(connection)
    if theme not in themes:
        raise RefusedCorrection(f"there is no theme {theme!r} in the codebook; choose one of {', '.join(themes)}")
    with db.write() as db_session:
        if db_session.get(Answer, answer_id) is None:
            raise RefusedCorrection(f"there is no comment {answer_id}; it may have been deleted")
        correct_theme(db_session=db_session, answer_id=answer_id, theme=theme, present=present, user_id=user.id)
        accounts.audit(db_session=db_session, actor=user, action="comment.theme", target=str(answer_id),
                       client=client_address(request, settings), theme=theme, present=present)


@router.post("/comments/{answer_id}/themes", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def correct_page(request: Request, answer_id: int, user: ThemeEditor, db: DbDep, settings: SettingsDep,
                 theme: Annotated[str, Form(max_length=200)], present: Annotated[bool, Form()],
                 back: Annotated[str, Form(max_length=2000)] = "/comments"):
    try:
        _correct(request, db, settings, user, answer_id, theme, present)
    except RefusedCorrection as exc:
        return render(request, "error.html", {"status": 400, "title": "Not corrected",
                                                                  "detail": str(exc)}, status_code=400)
    # Only back to the verbatims, never to another site.
    target = back if back.startswith("/comments") and not back.startswith("/comments/") else "/comments"
    return RedirectResponse(target, status_code=303)


@router.post("/api/v1/comments/{answer_id}/themes", tags=["staff"], dependencies=[Depends(verify_csrf)])
def correct_json(request: Request, answer_id: int, user: ThemeEditor, db: DbDep, settings: SettingsDep,
                 theme: Annotated[str, Body(max_length=200, description="Codebook theme key.")],
                 present: Annotated[bool, Body(description="true: the comment has the theme; false: it has not.")]):
    """Correct one theme of one comment (send the CSRF token in X-CSRF-Token). Corrections are kept when the
    comment is analysed again, and are measured against the codebook's tags."""
    try:
        _correct(request, db, settings, user, answer_id, theme, present)
    except RefusedCorrection as exc:
        return problem(422, str(exc), code="invalid-correction", instance=request.url.path)
    return {"answer_id": answer_id, "theme": theme, "present": present}


@router.get("/api/v1/themes", tags=["staff"])
def themes_json(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, survey: str | None = None):
    """Per theme of the analysed comments (of one survey, or all): its share with a Wilson interval, mean
    sentiment with a t interval, and the NPS of the responses that mention it against the rest, with the
    difference and its interval (not shown below the minimum base)."""
    with db.read_connection() as connection:
        if survey is not None and connection.execute(select(Survey.id).where(Survey.key == survey)).first() is None:
            return problem(404, f"there is no survey {survey!r}; leave survey out for all of them",
                           code="unknown-survey", instance=request.url.path)
        return theme_metrics(connection, survey=survey, min_base=settings.min_base)


@router.get("/themes", include_in_schema=False)
def themes_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, survey: str | None = None):
    with db.read_connection() as connection:
        result = theme_metrics(connection, survey=survey or None, min_base=settings.min_base)
    ranked = result["pareto"]
    drawn = None
    if ranked:
        drawn = charts.bars([(row["theme"], [(row["negative_comments"], "bar",
                                              f"{row['negative_comments']:,} negative comments about {row['theme']} "
                                              f"({row['cumulative_share']}% cumulative)")]) for row in ranked])
    return render(request, "text/themes.html", {
        "result": result, "pareto_chart": drawn,
        "trends": {row["theme"]: charts.sparkline(row["monthly_share"]) for row in result["themes"]},
        "spark_size": (charts.SPARK_WIDTH, charts.SPARK_HEIGHT),
        "chart_size": (charts.WIDTH, charts.HEIGHT), "survey": survey or ""})
