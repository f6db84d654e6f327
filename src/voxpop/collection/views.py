"""The respondent's page (/s/{key}) and the collection API (POST /api/v1/surveys/{key}/responses)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from voxpop.collection import flows, form_tokens, service
from voxpop.collection.answers import OTHER_TEXT, AnswerError, Answers, chose_other, is_shown, pages, validate
from voxpop.collection.i18n import MESSAGES, choose_language, message
from voxpop.collection.models import Invitation
from voxpop.collection.schemas import ResponseCreate, ResponsePublic
from voxpop.store.base import utcnow
from voxpop.surveys.schemas import OTHER, SCORED_KINDS, QuestionDefinition, SurveyDefinition, text_in
from voxpop.web.auth import DbDep, SettingsDep
from voxpop.web.problems import problem, problem_responses
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter()  # mounted under /api/v1 by the app
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def _message_page(request: Request, language: str, name: str, status: int, survey_title: str = ""):
    return render(request, "collection/survey_message.html",
        {
            "lang": language,
            "title": message(language, f"{name}_title"),
            "body": message(language, f"{name}_body"),
            "survey_title": survey_title,
        },
        status_code=status,
    )


def _question_view(question: QuestionDefinition, language: str, fallback: str) -> dict[str, Any]:
    """What the template needs to draw one question, in one language."""
    view: dict[str, Any] = {
        "key": question.key,
        "kind": question.kind,
        "text": text_in(question.text, language, fallback),
        "help": text_in(question.help, language, fallback),
        "required": question.required,
    }
    if question.kind in SCORED_KINDS:
        low, high = question.bounds  # type: ignore[misc]
        view["points"] = list(range(low, high + 1))
        default = {"nps": "nps", "csat": "csat", "ces": "ces1" if question.ces_version == "1.0" else "ces2"}.get(question.kind)
        anchors = question.anchors
        view["low_label"] = text_in(anchors.low if anchors else None, language, fallback) or (
            message(language, f"{default}.low") if default else str(low)
        )
        view["high_label"] = text_in(anchors.high if anchors else None, language, fallback) or (
            message(language, f"{default}.high") if default else str(high)
        )
    if question.options:
        view["options"] = [
            {"value": option.value, "label": text_in(option.label, language, fallback) or option.value}
            for option in question.options
        ]
    if question.other is not None:
        label = message(language, "other") if question.other is True else text_in(question.other, language, fallback)
        view["options"].append({"value": OTHER, "label": label, "other": True})
        view["other_key"] = question.key + OTHER_TEXT
        view["other_name"] = f"q_{view['other_key']}"
    return view


def _raw_answers(survey: flows.OpenSurvey, form: FormData) -> Answers:
    answers: Answers = {}
    for question in survey.definition.questions:
        name = f"q_{question.key}"
        if question.kind == "multiple_choice":
            values = [value for value in form.getlist(name) if isinstance(value, str)]
            if values:
                answers[question.key] = values
        else:
            value = form.get(name)
            if isinstance(value, str) and value != "":
                answers[question.key] = value
        # The box beside "Other" counts only when Other is chosen: a respondent without JavaScript who typed
        # there and then chose another option meant that option.
        if question.other is not None and chose_other(answers.get(question.key)):
            typed = form.get(name + OTHER_TEXT)
            if isinstance(typed, str) and typed != "":
                answers[question.key + OTHER_TEXT] = typed
    return answers


def page_context(
    definition: SurveyDefinition,
    *,
    language: str,
    page: int,
    answers: Answers,
    errors: list[AnswerError],
    form_token: str,
    invitation: str | None,
    attributes: dict[str, str],
    notice: str | None = None,
    every_question: bool = False,
) -> dict[str, Any]:
    """What collection/survey_page.html needs to draw one page; `every_question` shows the conditional ones too
    (the staff preview, which has no answers to decide them on)."""
    all_pages = pages(definition)
    fallback = definition.languages[0]
    # Visibility follows the earlier pages' answers as validated, not as typed.
    earlier, _ = validate(definition, answers, max_text_length=10**9, through_page=page - 1) if page else ({}, [])
    shown = [question for question in all_pages[page] if every_question or is_shown(question, earlier)]
    on_page = {question.key for question in shown} | {question.key + OTHER_TEXT for question in shown}
    # Earlier pages' answers travel in hidden fields, so the survey needs neither cookies nor JavaScript.
    carried = [
        (f"q_{key}", item)
        for key, value in answers.items()
        if key not in on_page
        for item in (value if isinstance(value, list) else [value])
    ]
    query = {"lang": language} | ({"t": invitation} if invitation else {}) | attributes
    texts = {question.key: text_in(question.text, language, fallback) for question in definition.questions}
    return {
        "lang": language,
        "survey_key": definition.key,
        "title": text_in(definition.title, language, fallback),
        "intro": text_in(definition.intro, language, fallback) if page == 0 else "",
        "questions": [_question_view(question, language, fallback) for question in shown],
        "answers": answers,
        "errors": {error.question: message(language, error.code, **error.params) for error in errors},
        "error_list": [
            (error.question, texts.get(error.question, error.question), message(language, error.code, **error.params))
            for error in errors
        ],
        "notice": notice,
        "page": page,
        "page_count": len(all_pages),
        "is_last": page == len(all_pages) - 1,
        "form_token": form_token,
        "invitation": invitation,
        "attributes": attributes,
        "carried": carried,
        "languages": [(code, "?" + urlencode(query | {"lang": code})) for code in definition.languages],
        "t": lambda code, **params: message(language, code, **params),
    }


def _render_page(request: Request, survey: flows.OpenSurvey, *, status: int = 200, **page):
    return render(request, "collection/survey_page.html", page_context(survey.definition, **page), status_code=status)


def _attributes_from(survey: flows.OpenSurvey, values) -> dict[str, str]:
    """Declared attributes passed in the link (?channel=email) or carried in the form."""
    found: dict[str, str] = {}
    for name in survey.definition.attributes:
        value = values.get(f"a_{name}") or values.get(name)
        if isinstance(value, str) and value.strip():
            found[name] = value.strip()[: flows.MAX_ATTRIBUTE_LENGTH]
    return found


def _open_or_page(request: Request, db, key: str, language_hint: str | None):
    try:
        return flows.load_survey(db, key), None
    except flows.SurveyNotFound:
        language = choose_language(list(MESSAGES), language_hint, request.headers.get("accept-language"))
        return None, _message_page(request, language, "not_found", 404)


# Mail security scanners fetch every link of an e-mail within moments of its delivery, each score link included. A
# different score for the same invitation within this window is such a sweep, not a person: it is not kept.
SCANNER_SWEEP = timedelta(minutes=2)


def clicked_answer(survey: flows.OpenSurvey, question_key: str | None, score: str | None) -> tuple[str, int] | None:
    """The (question, score) of a score link when both name a scored question of this survey and a point on its
    scale; None otherwise (the page then opens without it)."""
    if not question_key or score is None or not re.fullmatch(r"-?\d{1,3}", score):
        return None
    question = next((q for q in survey.definition.questions if q.key == question_key), None)
    if question is None or question.kind not in SCORED_KINDS:
        return None
    low, high = question.bounds  # type: ignore[misc]
    return (question.key, int(score)) if low <= int(score) <= high else None


def note_visit(db, invitation_id: int, clicked: tuple[str, int] | None, now: datetime) -> None:
    """Remember that the invitation's link was opened (the send log's "started") and the score clicked in the
    e-mail, if any: kept even if the customer never submits, and beside their final answer if they change it.
    Nothing else is written, so a scanner's fetch creates no response. A sweep through several scores (see
    SCANNER_SWEEP) is forgotten, opened or not, as no person opened it."""
    with db.write() as db_session:
        invitation = db_session.get(Invitation, invitation_id)
        if invitation is None:
            return
        in_sweep = invitation.clicked_at is not None and now - invitation.clicked_at < SCANNER_SWEEP
        if clicked is not None:
            if in_sweep and (invitation.clicked_question, invitation.clicked_score) != clicked:
                invitation.clicked_question = invitation.clicked_score = invitation.opened_at = None
            else:
                invitation.clicked_question, invitation.clicked_score = clicked
                invitation.opened_at = invitation.opened_at or now
            invitation.clicked_at = now
        elif not (in_sweep and invitation.clicked_score is None):
            invitation.opened_at = invitation.opened_at or now


@router.get("/s/{key}", include_in_schema=False)
def survey_page(request: Request, key: str, db: DbDep, settings: SettingsDep, t: str | None = None,
                lang: str | None = None, q: str | None = None, score: str | None = None):
    survey, page = _open_or_page(request, db, key, lang)
    if survey is None:
        return page
    language = choose_language(survey.languages, lang, request.headers.get("accept-language"))
    if survey.status == "closed":
        return _message_page(request, language, "closed", 410, survey.title)
    if survey.status != "live":
        return _message_page(request, language, "not_found", 404)
    clicked = None
    if t is not None:
        with db.read() as db_session:
            invitation = service.find_invitation(db_session=db_session, survey_id=survey.id, token=t)
            if invitation is None:
                return _message_page(request, language, "invalid_invitation", 403, survey.title)
            if service.response_to_invitation(db_session=db_session, invitation_id=invitation.id) is not None:
                return _message_page(request, language, "already", 200, survey.title)
        clicked = clicked_answer(survey, q, score)
        note_visit(db, invitation.id, clicked, utcnow())
    return _render_page(
        request,
        survey,
        language=language,
        page=0,
        answers={clicked[0]: str(clicked[1])} if clicked else {},
        errors=[],
        form_token=form_tokens.issue(settings.signing_key, survey_key=survey.key, version_id=survey.version_id),
        invitation=t,
        attributes=_attributes_from(survey, request.query_params),
    )


@router.post("/s/{key}", include_in_schema=False)
async def survey_submit(request: Request, key: str, db: DbDep, settings: SettingsDep):
    form = await request.form()
    # The rest reads and writes the store: run it off the event loop.
    return await run_in_threadpool(_submit_page, request, key, db, settings, form)


def _submit_page(request: Request, key: str, db, settings, form: FormData):
    language_field = form.get("lang")
    survey, page_response = _open_or_page(request, db, key, language_field if isinstance(language_field, str) else None)
    if survey is None:
        return page_response
    language = choose_language(survey.languages, form.get("lang"), request.headers.get("accept-language"))  # type: ignore[arg-type]
    if survey.status == "closed":
        return _message_page(request, language, "closed", 410, survey.title)
    if survey.status != "live":
        return _message_page(request, language, "not_found", 404)
    invitation = form.get("t") if isinstance(form.get("t"), str) and form.get("t") else None
    attributes = _attributes_from(survey, form)
    answers = _raw_answers(survey, form)
    all_pages = pages(survey.definition)
    try:
        page = min(max(int(str(form.get("page", "0"))), 0), len(all_pages) - 1)
    except ValueError:
        page = 0
    render = dict(language=language, invitation=invitation, attributes=attributes)

    fresh_token = form_tokens.issue(settings.signing_key, survey_key=survey.key, version_id=survey.version_id)
    sent = form_tokens.read(settings.signing_key, survey_key=survey.key, token=str(form.get("form_token", "")))
    if sent is None:
        return _render_page(
            request, survey, page=page, answers=answers, errors=[], form_token=fresh_token,
            notice=message(language, "error.form_expired"), status=400, **render,
        )
    if sent.version_id != survey.version_id:
        # Edited while being answered: start again on the new version, keeping what still applies.
        return _render_page(
            request, survey, page=0, answers=answers, errors=[], form_token=fresh_token,
            notice=message(language, "error.survey_changed"), status=409, **render,
        )
    nonce = sent.nonce
    token = form_tokens.issue(settings.signing_key, survey_key=survey.key, version_id=survey.version_id, nonce=nonce)
    if form.get("back") and page > 0:
        # Back keeps every answer given so far, valid or not, and checks nothing.
        earlier, _ = validate(survey.definition, answers, max_text_length=settings.max_text_length, through_page=page - 1)
        previous = max(
            (index for index in range(page) if any(is_shown(q, earlier) for q in all_pages[index])), default=0
        )
        return _render_page(request, survey, page=previous, answers=answers, errors=[], form_token=token, **render)
    cleaned, errors = validate(survey.definition, answers, max_text_length=settings.max_text_length, through_page=page)
    if errors:
        first_bad = min(
            index for index, questions in enumerate(all_pages) for question in questions
            if question.key in {error.question for error in errors}
        )
        return _render_page(
            request, survey, page=first_bad, answers=answers, errors=errors, form_token=token, status=422, **render
        )
    next_page = next(
        (index for index in range(page + 1, len(all_pages)) if any(is_shown(q, cleaned) for q in all_pages[index])),
        None,
    )
    if next_page is not None:
        return _render_page(request, survey, page=next_page, answers=answers, errors=[], form_token=token, **render)

    submission = flows.Submission(
        answers=cleaned,
        channel="web",
        language=language,
        attributes=attributes,
        invitation_token=invitation,
        idempotency_key=f"form:{nonce}",
        strict_idempotency=False,
        version_id=sent.version_id,
    )
    try:
        flows.record_response(db, survey, submission, max_text_length=settings.max_text_length,
                              zone=settings.timezone)
    except flows.AlreadyAnswered:
        return _message_page(request, language, "already", 409, survey.title)
    except flows.InvalidInvitation:
        return _message_page(request, language, "invalid_invitation", 403, survey.title)
    except flows.SurveyClosed:
        return _message_page(request, language, "closed", 410, survey.title)
    except flows.SurveyChanged:
        return _render_page(request, survey, page=0, answers=answers, errors=[], form_token=fresh_token,
                            notice=message(language, "error.survey_changed"), status=409, **render)
    except flows.InvalidAnswers as refused:
        return _render_page(
            request, survey, page=0, answers=answers, errors=refused.errors, form_token=token, status=422, **render
        )
    # Post/Redirect/Get: reloading the thank-you page cannot send the answers again.
    return RedirectResponse(f"/s/{survey.key}/thanks?{urlencode({'lang': language})}", status_code=303)


@router.get("/s/{key}/thanks", include_in_schema=False)
def thanks(request: Request, key: str, db: DbDep, lang: str | None = None):
    survey, page = _open_or_page(request, db, key, lang)
    if survey is None:
        return page
    language = choose_language(survey.languages, lang, request.headers.get("accept-language"))
    if survey.status == "draft":
        return _message_page(request, language, "not_found", 404)
    definition = survey.definition
    body = text_in(definition.thanks, language, survey.languages[0]) or message(language, "thanks_body")
    return render(request, "collection/survey_message.html",
        {"lang": language, "title": message(language, "thanks_title"), "body": body, "survey_title": survey.title},
    )


@api.post(
    "/surveys/{key}/responses",
    status_code=201,
    response_model=ResponsePublic,
    tags=["collection"],
    responses={
        200: {"description": "A replay of an earlier request with the same Idempotency-Key", "model": ResponsePublic},
    } | problem_responses(400, 404, 409, 413, 422, 429),
)
def create_response(
    key: str,
    body: ResponseCreate,
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
):
    """Record one response. Send an Idempotency-Key header so that a retry never records it twice."""
    instance = request.url.path
    if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
        return problem(400, "The Idempotency-Key header must be 1–200 visible ASCII characters.", code="bad-idempotency-key", instance=instance)
    submission = flows.Submission(
        answers=body.answers,
        channel="api",
        language=body.language,
        attributes=body.attributes,
        invitation_token=body.invitation_token,
        idempotency_key=idempotency_key,
    )
    try:
        survey = flows.load_survey(db, key)
        recorded = flows.record_response(db, survey, submission, max_text_length=settings.max_text_length,
                              zone=settings.timezone)
    except flows.SubmissionRefused as refused:
        errors = [
            {"field": error.question if error.question.startswith("attributes.") else f"answers.{error.question}",
             "message": error.english()}
            for error in refused.errors
        ]
        return problem(refused.status, refused.detail, code=refused.code, instance=instance, errors=errors)
    public = ResponsePublic(
        id=recorded.public_id, survey=recorded.survey_key, version=recorded.version, submitted_at=recorded.submitted_at
    )
    headers = {"Idempotent-Replayed": "true"} if recorded.replayed else {}
    return JSONResponse(public.model_dump(mode="json"), status_code=200 if recorded.replayed else 201, headers=headers)
