"""Other ways to reach customers: a QR code for a survey link, and the embeddable one-question widget.

Staff build a public link on /surveys/{key}/share (a select per attribute with a list of values, a text box
otherwise), see its QR code and download it as SVG or PNG, or as a zip of one code per listed value (one per
store). The widget (/widget.js) asks one NPS or CSAT question on another site and posts it to
/api/v1/surveys/{key}/widget: a public, rate-limited endpoint (under the public /api/v1/surveys/ prefix) that
answers any origin, since it can do nothing the survey's public link cannot. See docs/reach.md.
"""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StrictInt, field_validator
from starlette.concurrency import run_in_threadpool

from voxpop.accounts.models import User
from voxpop.collection import flows
from voxpop.collection.answers import storable
from voxpop.collection.attributes import count_unlisted, keep_listed, unlisted_counts
from voxpop.collection.i18n import choose_language, message
from voxpop.collection.qr import (
    FORMATS,
    MEDIA_TYPES,
    LinkProblem,
    QrFormat,
    codes_per_value,
    file_name,
    public_link,
    qr_code,
)
from voxpop.surveys import service as surveys
from voxpop.surveys.schemas import SurveyDefinition, text_in
from voxpop.web.auth import DbDep, SettingsDep, require_role
from voxpop.web.problems import problem, problem_responses
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter()
SHARERS = ("admin", "manager", "analyst")
Sharer = Annotated[User, Depends(require_role(*SHARERS))]
ATTRIBUTE_PREFIX = "a_"  # share-page fields are a_store, a_channel: an attribute may be called `format` or `each`
WIDGET_KINDS = ("nps", "csat")
WIDGET_SCRIPT = Path(__file__).resolve().parent.parent / "web" / "static" / "widget" / "voxpop-widget.js"
# The widget's own words around the survey's texts, in the languages the survey page ships.
WIDGET_WORDS = {
    "en": {"close": "Close", "failed": "Your answer could not be sent.", "retry": "Try again",
           "open": "Answer on a page of its own"},
    "de": {"close": "Schließen", "failed": "Ihre Antwort konnte nicht gesendet werden.", "retry": "Erneut versuchen",
           "open": "Auf einer eigenen Seite antworten"},
    "fr": {"close": "Fermer", "failed": "Votre réponse n'a pas pu être envoyée.", "retry": "Réessayer",
           "open": "Répondre sur une page à part"},
    "es": {"close": "Cerrar", "failed": "No se pudo enviar su respuesta.", "retry": "Reintentar",
           "open": "Responder en una página aparte"},
}
# Any site may show the widget and post to it: what it sends is what the survey's public link accepts.
CORS = {"Access-Control-Allow-Origin": "*", "Vary": "Origin"}
IDEMPOTENCY_KEY = re.compile(r"^[!-~]{1,200}$")


def _survey_definition(db, key: str) -> tuple[str, str, SurveyDefinition] | None:
    """(title, status, newest definition) of a saved survey, or None."""
    with db.read() as db_session:
        survey = surveys.get_by_key(db_session=db_session, key=key)
        if survey is None or survey.current_version is None:
            return None
        return survey.title, survey.status, surveys.definition_of(survey.current_version, status=survey.status)


def _chosen_attributes(definition: SurveyDefinition, query) -> dict[str, str]:
    return {name: query.get(ATTRIBUTE_PREFIX + name, "") for name in definition.attributes}


def _not_found(request: Request, key: str):
    return render(request, "error.html", {"status": 404, "title": "Not found",
                                          "detail": f"There is no survey with key {key!r}; check the address."},
                  status_code=404)


def _unlisted(db, key: str) -> list[dict]:
    with db.read() as db_session:
        survey = surveys.get_by_key(db_session=db_session, key=key)
        rows = unlisted_counts(db_session, survey_id=survey.id) if survey is not None else []
        return [{"attribute": row.name, "responses": row.responses, "last_value": row.last_value,
                 "last_seen_at": row.last_seen_at} for row in rows]


def _share(db, settings, key: str, query) -> dict | None:
    """Everything the share page and its JSON twin show; None when there is no such survey."""
    found = _survey_definition(db, key)
    if found is None:
        return None
    title, status, definition = found
    chosen = _chosen_attributes(definition, query)
    language = query.get("lang") or ""
    problems: list[tuple[str, str]] = []
    link = None
    try:
        link = public_link(settings.public_url, definition, chosen, language or None)
    except LinkProblem as refused:
        problems.append((refused.field, refused.message))
    given = {ATTRIBUTE_PREFIX + name: value for name, value in chosen.items() if value.strip()}
    code_query = urlencode(given | ({"lang": language} if language else {}))
    allowed = definition.allowed_values
    return {
        "key": key, "title": title, "status": status, "link": link, "problems": problems, "language": language,
        "languages": definition.languages, "language_options": [(each, each) for each in definition.languages],
        "timezone": settings.timezone,
        "attributes": [{"name": name, "values": allowed.get(name), "value": chosen[name],
                        "options": [(value, value) for value in allowed.get(name) or []]} for name in definition.attributes],
        "svg_href": f"/surveys/{key}/qr.svg?{code_query}", "png_href": f"/surveys/{key}/qr.png?{code_query}",
        "json_href": f"/api/v1/surveys/{key}/share?{code_query}",
        "batches": [{"attribute": name, "svg_href": f"/surveys/{key}/qr.zip?{urlencode({'each': name, 'format': 'svg'})}&{code_query}",
                     "png_href": f"/surveys/{key}/qr.zip?{urlencode({'each': name, 'format': 'png'})}&{code_query}",
                     "count": len(values)} for name, values in allowed.items()],
        "unlisted": _unlisted(db, key),
        "widget_snippet": _widget_snippet(settings.public_url, key, definition, link),
    }


def _widget_snippet(public_url: str, key: str, definition: SurveyDefinition, link: str | None) -> str | None:
    """The two lines a host page pastes, for the survey's first NPS or CSAT question that it may ask alone (no other
    question is required); None when there is none."""
    required = {each.key for each in definition.questions if each.required}
    question = next((each for each in definition.questions
                     if each.kind in WIDGET_KINDS and not required - {each.key}), None)
    if question is None:
        return None
    base = public_url.rstrip("/")
    query = urlsplit(link).query if link else ""
    carried = urlencode([(name, value) for name, value in parse_qsl(query) if name != "lang"])
    attributes = f' data-attributes="{html.escape(carried)}"' if carried else ""
    return (f'<script src="{base}/widget.js" data-survey="{key}" data-question="{question.key}"{attributes} async>'
            f'</script>\n<a class="voxpop-fallback" href="{html.escape(link or base + "/s/" + key)}">Tell us how we did</a>')


@router.get("/surveys/{key}/share", include_in_schema=False)
def share_page(request: Request, key: str, user: Sharer, db: DbDep, settings: SettingsDep):
    """The survey's public link with the attributes chosen, its QR code, and the widget snippet."""
    shared = _share(db, settings, key, request.query_params)
    if shared is None:
        return _not_found(request, key)
    # The error summary links each problem to its field: a_store for an attribute, lang for the language.
    fields = [("lang" if field == "language" else ATTRIBUTE_PREFIX + field, text) for field, text in shared["problems"]]
    return render(request, "collection/share.html", shared | {"problems": fields},
                  status_code=422 if shared["problems"] else 200)


class UnlistedPublic(BaseModel):
    attribute: str
    responses: int = Field(description="Responses stored without this attribute: their link gave a value not in the list")
    last_value: str
    last_seen_at: str


class SharePublic(BaseModel):
    link: str
    svg: str
    png: str
    widget: str | None = Field(description="The lines a host page pastes for the widget (none without an NPS or CSAT question)")
    unlisted: list[UnlistedPublic]


@api.get("/surveys/{key}/share", response_model=SharePublic, tags=["collection"],
         responses=problem_responses(404, 422))
def share_json(request: Request, key: str, user: Sharer, db: DbDep, settings: SettingsDep):
    """The survey's public link carrying the attributes given as a_<name>=value (and lang), with its QR codes'
    addresses, and how many responses arrived with a value outside an attribute's list."""
    shared = _share(db, settings, key, request.query_params)
    if shared is None:
        return problem(404, f"There is no survey with key {key!r}.", code="survey-not-found", instance=request.url.path)
    if shared["problems"]:
        return problem(422, "The link cannot be made as asked.", code="invalid-link", instance=request.url.path,
                       errors=[{"field": field, "message": text} for field, text in shared["problems"]])
    return SharePublic(link=shared["link"], svg=shared["svg_href"], png=shared["png_href"],
                       widget=shared["widget_snippet"], unlisted=[
        UnlistedPublic(**row | {"last_seen_at": row["last_seen_at"].isoformat()}) for row in shared["unlisted"]])


def _refused(request: Request, status: int, detail: str):
    return render(request, "error.html", {"status": status, "title": "The code cannot be made", "detail": detail},
                  status_code=status)


@router.get("/surveys/{key}/qr.zip", include_in_schema=False)
def qr_batch(request: Request, key: str, user: Sharer, db: DbDep, settings: SettingsDep,
             each: Annotated[str, Query(max_length=64)], format: QrFormat = "png"):
    """One QR code per listed value of the attribute `each` (one per store), zipped with a links.csv."""
    found = _survey_definition(db, key)
    if found is None:
        return _not_found(request, key)
    definition = found[2]
    chosen = _chosen_attributes(definition, request.query_params)
    try:
        archive = codes_per_value(settings.public_url, definition, each, chosen, format,
                                  request.query_params.get("lang") or None)
    except LinkProblem as refused:
        return _refused(request, 422, refused.message)
    name = file_name(definition, {k: v for k, v in chosen.items() if k != each} | {each: "all"}, format)
    return Response(archive, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name.removesuffix("." + format)}-{format}.zip"'})


# After qr.zip: a route for qr.{format} first would take the zip for a third format.
@router.get("/surveys/{key}/qr.{format}", include_in_schema=False)
def qr_download(request: Request, key: str, format: str, user: Sharer, db: DbDep, settings: SettingsDep,
                download: bool = False):
    """The QR code of the link the share page shows, as SVG or PNG; `download` saves it as a file."""
    if format not in FORMATS:
        return _refused(request, 404, f"QR codes are made as {' or '.join(FORMATS)}, not {format!r}.")
    found = _survey_definition(db, key)
    if found is None:
        return _not_found(request, key)
    definition = found[2]
    chosen = _chosen_attributes(definition, request.query_params)
    try:
        link = public_link(settings.public_url, definition, chosen, request.query_params.get("lang") or None)
    except LinkProblem as refused:
        return _refused(request, 422, refused.message)
    headers = {"Cache-Control": "private, max-age=300"}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="{file_name(definition, chosen, format)}"'
    return Response(qr_code(link, format), media_type=MEDIA_TYPES[format], headers=headers)  # type: ignore[arg-type]


# -- the widget ------------------------------------------------------------------------------------------------

_SCRIPT_CACHE: dict[str, tuple[bytes, str]] = {}


def _widget_script() -> tuple[bytes, str]:
    """The script and its ETag, read once per process (it changes only with a new release)."""
    if "script" not in _SCRIPT_CACHE:
        body = WIDGET_SCRIPT.read_bytes()
        _SCRIPT_CACHE["script"] = (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    return _SCRIPT_CACHE["script"]


@router.get("/widget.js", include_in_schema=False)
def widget_script(request: Request):
    """The embeddable widget, at a stable address other sites load it from: cached for an hour, then revalidated
    by its ETag, so a release reaches host pages within the hour."""
    body, etag = _widget_script()
    headers = {"Cache-Control": "public, max-age=3600", "ETag": etag, "Cross-Origin-Resource-Policy": "cross-origin"} | CORS
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


class WidgetQuestion(BaseModel):
    key: str
    kind: Literal["nps", "csat"]
    text: str
    low: int
    high: int
    low_label: str
    high_label: str


class WidgetPublic(BaseModel):
    survey: str
    language: str
    question: WidgetQuestion
    words: dict[str, str] = Field(description="The widget's own labels: close, failed, retry, open, thanks")
    fallback: str = Field(description="The survey's public link, for answering on a page of its own")


def _widget_refusal(request: Request, status: int, detail: str, code: str):
    return problem(status, detail, code=code, instance=request.url.path, headers=CORS)


def _widget_question(request: Request, db, settings, key: str, question_key: str | None, lang: str | None):
    """(survey, question, language) the widget may ask, or a problem response saying why not."""
    try:
        survey = flows.load_survey(db, key)
    except flows.SurveyNotFound:
        return _widget_refusal(request, 404, f"There is no survey with key {key!r}.", "survey-not-found")
    if survey.status != "live":
        return _widget_refusal(request, 409 if survey.status == "closed" else 404,
                               f"The survey {key!r} is not open.", "survey-closed" if survey.status == "closed" else "survey-not-found")
    definition = survey.definition
    candidates = [each for each in definition.questions if each.kind in WIDGET_KINDS]
    question = next((each for each in candidates if each.key == question_key), None) if question_key else \
        (candidates[0] if candidates else None)
    if question is None:
        offered = ", ".join(each.key for each in candidates) or "none"
        return _widget_refusal(request, 404, f"The widget asks an NPS or CSAT question of survey {key!r} "
                               f"({offered}), not {question_key!r}.", "question-not-found")
    others = [each.key for each in definition.questions if each.required and each.key != question.key]
    if others:
        return _widget_refusal(request, 409, f"The survey {key!r} also requires {', '.join(others)}: the widget asks "
                               "one question, so link to the survey instead.", "survey-needs-more")
    language = choose_language(survey.languages, lang, request.headers.get("accept-language"))
    return survey, question, language


@api.get("/surveys/{key}/widget", response_model=WidgetPublic, tags=["collection"],
         responses=problem_responses(404, 409))
def widget_config(request: Request, key: str, db: DbDep, settings: SettingsDep,
                  question: Annotated[str | None, Query(max_length=64)] = None,
                  lang: Annotated[str | None, Query(max_length=35)] = None):
    """What the widget shows: one NPS or CSAT question of a live survey in the language asked for (else the
    browser's), its scale's end labels, and the survey's link as a fallback. Public, for any site."""
    found = _widget_question(request, db, settings, key, question, lang)
    if isinstance(found, Response):
        return found
    survey, asked, language = found
    first = survey.languages[0]
    low, high = asked.bounds
    default_low, default_high = message(language, f"{asked.kind}.low"), message(language, f"{asked.kind}.high")
    anchors = asked.anchors
    words = WIDGET_WORDS.get(language.split("-")[0], WIDGET_WORDS["en"]) | {"thanks": message(language, "thanks_title")}
    body = WidgetPublic(
        survey=key, language=language, words=words,
        fallback=f"{settings.public_url.rstrip('/')}/s/{key}?{urlencode({'lang': language})}",
        question=WidgetQuestion(
            key=asked.key, kind=asked.kind, text=text_in(asked.text, language, first), low=low, high=high,
            low_label=(text_in(anchors.low, language, first) if anchors and anchors.low else "") or default_low,
            high_label=(text_in(anchors.high, language, first) if anchors and anchors.high else "") or default_high),
    )
    return JSONResponse(body.model_dump(mode="json"), headers=CORS | {"Cache-Control": "public, max-age=60"})


class WidgetAnswer(BaseModel):
    question: str = Field(max_length=64)
    score: StrictInt = Field(ge=0, le=10)  # strict: JSON true is not a score of 1
    language: str | None = Field(None, max_length=35)
    attributes: dict[str, str] = Field(default_factory=dict, max_length=20,
                                       description="Declared attributes, as a public link would give them")

    @field_validator("attributes")
    @classmethod
    def _storable(cls, attributes: dict[str, str]) -> dict[str, str]:
        # Refused before anything is recorded: a NUL or a lone surrogate cannot be stored, nor even echoed back.
        for position, (name, value) in enumerate(attributes.items(), start=1):
            if not storable(name) or not storable(value):
                raise ValueError(f"attribute {position} has a NUL character or an unpaired surrogate in its "
                                 "name or value; send plain text")
        return attributes


class WidgetRecorded(BaseModel):
    id: str
    replayed: bool


@api.options("/surveys/{key}/widget", include_in_schema=False)
def widget_preflight(key: str):
    """CORS preflight: the widget posts JSON with an Idempotency-Key from any site, without cookies."""
    return Response(status_code=204, headers=CORS | {
        "Access-Control-Allow-Methods": "GET, POST", "Access-Control-Allow-Headers": "Content-Type, Idempotency-Key",
        "Access-Control-Max-Age": "600"})


@api.post("/surveys/{key}/widget", status_code=201, response_model=WidgetRecorded, tags=["collection"],
          responses={200: {"description": "A retry with the same Idempotency-Key", "model": WidgetRecorded}}
          | problem_responses(400, 404, 409, 422, 429))
async def widget_answer(request: Request, key: str, db: DbDep, settings: SettingsDep,
                        answer: Annotated[WidgetAnswer, Body()],
                        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None):
    """Record the widget's one answer, exactly once per Idempotency-Key (the widget makes one per answer, so a
    retry or a second click never counts twice). A link attribute outside the survey's list is left out and
    counted, as on the survey page."""
    if idempotency_key is None or not IDEMPOTENCY_KEY.match(idempotency_key):
        return _widget_refusal(request, 400, "Send an Idempotency-Key header of 1–200 visible ASCII characters.",
                               "bad-idempotency-key")
    return await run_in_threadpool(_record_widget_answer, request, key, db, settings, answer, idempotency_key)


def _record_widget_answer(request: Request, key: str, db, settings, answer: WidgetAnswer, idempotency_key: str):
    found = _widget_question(request, db, settings, key, answer.question, answer.language)
    if isinstance(found, Response):
        return found
    survey, asked, language = found
    attributes, unlisted = keep_listed(survey.definition, answer.attributes)
    submission = flows.Submission(answers={asked.key: answer.score}, channel="widget", language=language,
                                  attributes=attributes, idempotency_key=f"widget:{idempotency_key}")
    try:
        recorded = flows.record_response(db, survey, submission, max_text_length=settings.max_text_length,
                                         zone=settings.timezone)
    except flows.SubmissionRefused as refused:
        errors = [{"field": error.question, "message": error.english()} for error in refused.errors]
        return problem(refused.status, refused.detail, code=refused.code, instance=request.url.path, errors=errors,
                       headers=CORS)
    if unlisted and not recorded.replayed:
        # Counted after the response commits: a crash between the two loses one count, never a response.
        with db.write() as db_session:
            count_unlisted(db_session, survey_id=survey.id, unlisted=unlisted)
    body = WidgetRecorded(id=recorded.public_id, replayed=recorded.replayed)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if recorded.replayed else 201, headers=CORS)
