"""The send pages: the list of sends (/sends), the form that creates or edits one, a send with its e-mail previewed
for a real contact, its dry run (who would be invited, who skipped and why, as CSV too) before "Send now", the
contact rules (/sends/rules) and the triggers (/sends/triggers); JSON twins under /api/v1/sends, and
POST /api/v1/events to record an event for the triggers.

Every staff role may read; admins and managers create, send, cancel and change rules and triggers. Writes are forms
with the session's CSRF token (scripts send it as X-CSRF-Token, from /api/v1/me).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy import select

from voxpop.accounts.models import ROLES, User
from voxpop.accounts.service import audit
from voxpop.customers.models import Sample
from voxpop.distribution import definitions, overview
from voxpop.distribution.models import Send
from voxpop.distribution.planning import EMBEDDABLE_KINDS, Plan, plan_send
from voxpop.distribution.preview import preview
from voxpop.distribution.schemas import (
    EventCreate,
    PlanEntryPublic,
    PlanPublic,
    RulesPublic,
    SendDetail,
    SendsPublic,
    TriggerEventPublic,
    TriggersPublic,
)
from voxpop.distribution.service import find_send
from voxpop.distribution.triggers import EventRefused, record_event_from_api
from voxpop.distribution.worker import run_batch
from voxpop.store.base import utcnow
from voxpop.surveys.models import Survey
from voxpop.surveys.schemas import KEY
from voxpop.web.auth import DbDep, SettingsDep, client_address, require_role, verify_csrf
from voxpop.web.problems import problem, problem_responses
from voxpop.web.tables import csv_response
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["sends"])
Reader = Annotated[User, Depends(require_role(*ROLES))]
Editor = Annotated[User, Depends(require_role("admin", "manager"))]
SendKey = Annotated[str, Path(min_length=1, max_length=64, pattern=KEY)]
CsvFormat = Annotated[Literal["html", "csv"], Query(description="csv for the page's table as CSV.")]
CSRF = [Depends(verify_csrf)]
SEND_NOW_LIMIT = 10  # batches run in the request; a larger audience is carried on by the send worker
SAVED = {"created": "Send saved. Check the dry run before sending.", "updated": "Send updated.",
         "cancelled": "Send cancelled: no more invitations or reminders.", "rule": "Rule added.",
         "rule-removed": "Rule removed.", "trigger": "Trigger added.", "paused": "Trigger paused.",
         "resumed": "Trigger resumed."}


def _can_change(user: User) -> bool:
    return user.role in ("admin", "manager")


def _not_found(request: Request, key: str):
    return render(request, "error.html", {"status": 404, "title": "No such send",
                                          "detail": f"There is no send {key!r}."}, status_code=404)


def _audit(db_session, request: Request, user: User, settings, action: str, target: str, **details) -> None:
    """Who changed sends, rules or triggers, or sent e-mail to customers, from where (the audit log)."""
    audit(db_session=db_session, actor=user, action=action, target=target,
          client=client_address(request, settings), **details)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


# ---- the list ---------------------------------------------------------------------------------------------------

@router.get("/sends", include_in_schema=False)
def sends_page(request: Request, user: Reader, db: DbDep, settings: SettingsDep,
               saved: Annotated[str, Query(max_length=20)] = ""):
    with db.read() as db_session:
        sends = overview.list_sends(db_session)
    return render(request, "distribution/sends.html", {"sends": sends, "can_change": _can_change(user),
                                                       "saved": SAVED.get(saved, ""), "timezone": settings.timezone})


@api.get("/sends", response_model=SendsPublic)
def sends_json(user: Reader, db: DbDep):
    """Every send, newest first: status, survey, audience in words, invited, skipped and reminded."""
    with db.read() as db_session:
        return SendsPublic(sends=overview.list_sends(db_session))


# ---- rules and triggers (before /sends/{key}) ----------------------------------------------------------------------

def _rules_page(request: Request, db, user: User, *, form: dict | None = None, errors=None, saved: str = "",
                status: int = 200):
    with db.read() as db_session:
        rules = overview.list_rules(db_session)
        surveys = _survey_options(db_session)
    return render(request, "distribution/rules.html", {
        "rules": rules, "surveys": surveys, "form": form or {}, "errors": errors or [],
        "field_errors": dict(errors or []), "can_change": _can_change(user), "saved": SAVED.get(saved, "")},
        status_code=status)


@router.get("/sends/rules", include_in_schema=False)
def rules_page(request: Request, user: Reader, db: DbDep, saved: Annotated[str, Query(max_length=20)] = ""):
    return _rules_page(request, db, user, saved=saved)


@api.get("/sends/rules", response_model=RulesPublic)
def rules_json(user: Reader, db: DbDep):
    """The contact-frequency rules, global first: at most N invitations per D days, at least G days apart."""
    with db.read() as db_session:
        return RulesPublic(rules=overview.list_rules(db_session))


def _number(value: str) -> int | str | None:
    value = value.strip()
    if not value:
        return None
    return int(value) if value.isdigit() and len(value) < 7 else value


@router.post("/sends/rules", include_in_schema=False, dependencies=CSRF)
async def add_rule(request: Request, user: Editor, db: DbDep, settings: SettingsDep):
    form = {name: str(value)[:20] for name, value in (await request.form()).items() if name != "csrf_token"}
    raw = {"survey": form.get("survey") or None, "max_invitations": _number(form.get("max_invitations", "")),
           "per_days": _number(form.get("per_days", "")), "min_gap_days": _number(form.get("min_gap_days", ""))}
    try:
        with db.write() as db_session:
            rule = definitions.save_rule(db_session, raw, now=utcnow())
            _audit(db_session, request, user, settings, "sends.rule_add", f"rule:{rule.id}",
                   **{name: value for name, value in raw.items() if value is not None})
    except definitions.DefinitionError as exc:
        errors = [(path if path in raw else "max_invitations", _sentence(message)) for path, message in exc.problems]
        return _rules_page(request, db, user, form=form, errors=errors, status=422)
    return RedirectResponse("/sends/rules?saved=rule", status_code=303)


@router.post("/sends/rules/{rule_id}/remove", include_in_schema=False, dependencies=CSRF)
def remove_rule(request: Request, user: Editor, db: DbDep, settings: SettingsDep,
                rule_id: Annotated[int, Path(ge=1, le=2**31 - 1)]):
    try:
        with db.write() as db_session:
            overview.remove_rule(db_session, rule_id=rule_id)
            _audit(db_session, request, user, settings, "sends.rule_remove", f"rule:{rule_id}")
    except overview.SendError as exc:
        return render(request, "error.html", {"status": 404, "title": "No such rule", "detail": _sentence(str(exc))},
                      status_code=404)
    return RedirectResponse("/sends/rules?saved=rule-removed", status_code=303)


def _triggers(db) -> TriggersPublic:
    with db.read() as db_session:
        return TriggersPublic(triggers=overview.list_triggers(db_session),
                              recent_events=overview.recent_events(db_session))


def _triggers_page(request: Request, db, user: User, *, form: dict | None = None, errors=None, saved: str = "",
                   status: int = 200):
    with db.read() as db_session:
        trigger_sends = [(send.key, f"{send.name} ({send.key})") for send in db_session.scalars(
            select(Send).where(Send.status != "cancelled").order_by(Send.key)) if "trigger" in (send.audience or {})]
    return render(request, "distribution/triggers.html", {
        "listed": _triggers(db), "trigger_sends": trigger_sends, "form": form or {}, "errors": errors or [],
        "field_errors": dict(errors or []), "can_change": _can_change(user), "saved": SAVED.get(saved, "")},
        status_code=status)


@router.get("/sends/triggers", include_in_schema=False)
def triggers_page(request: Request, user: Reader, db: DbDep, saved: Annotated[str, Query(max_length=20)] = ""):
    return _triggers_page(request, db, user, saved=saved)


@api.get("/sends/triggers", response_model=TriggersPublic)
def triggers_json(user: Reader, db: DbDep):
    """The triggers (event, delay, the send whose templates they use) and the 50 most recent events with what each
    trigger did with them."""
    return _triggers(db)


@router.post("/sends/triggers", include_in_schema=False, dependencies=CSRF)
async def add_trigger(request: Request, user: Editor, db: DbDep, settings: SettingsDep):
    form = {name: str(value)[:200] for name, value in (await request.form()).items() if name != "csrf_token"}
    raw = {"key": form.get("key", "").strip(), "send": form.get("send", ""), "event_name": form.get("event_name", ""),
           "delay_days": _number(form.get("delay_days", "")) or 0}
    try:
        with db.write() as db_session:
            definitions.save_trigger(db_session, raw, now=utcnow())
            _audit(db_session, request, user, settings, "sends.trigger_add", f"trigger:{raw['key']}", **raw)
    except definitions.DefinitionError as exc:
        errors = [(path if path in raw else "key", _sentence(message)) for path, message in exc.problems]
        return _triggers_page(request, db, user, form=form, errors=errors, status=422)
    return RedirectResponse("/sends/triggers?saved=trigger", status_code=303)


@router.post("/sends/triggers/{key}/{action}", include_in_schema=False, dependencies=CSRF)
def pause_trigger(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: SendKey,
                  action: Literal["pause", "resume"]):
    try:
        with db.write() as db_session:
            overview.set_trigger_active(db_session, key=key, active=action == "resume")
            _audit(db_session, request, user, settings, f"sends.trigger_{action}", f"trigger:{key}")
    except overview.SendError as exc:
        return render(request, "error.html", {"status": 404, "title": "No such trigger",
                                              "detail": _sentence(str(exc))}, status_code=404)
    return RedirectResponse(f"/sends/triggers?saved={'resumed' if action == 'resume' else 'paused'}", status_code=303)


@api.post("/events", response_model=TriggerEventPublic, status_code=201, dependencies=CSRF,
          responses={200: {"description": "A repeat of an earlier event (same name and dedupe_key): the first one, "
                                          "with what the triggers did", "model": TriggerEventPublic}}
          | problem_responses(403, 422))
def post_event(request: Request, body: EventCreate, user: Editor, db: DbDep):
    """Record an event for the triggers ("order delivered" for customer C-1042). Give dedupe_key (your order or
    event id): a repeated post answers 200 with the first event and never invites twice."""
    try:
        with db.write() as db_session:
            recorded = record_event_from_api(db_session, name=body.name[:100], external_id=body.customer_id[:200],
                                             occurred_at=body.occurred_at, dedupe_key=(body.dedupe_key or "")[:200],
                                             now=utcnow())
            db_session.flush()
            public = overview.event_public(recorded.event)
    except EventRefused as exc:
        return problem(422, _sentence(str(exc)), code="invalid-event", instance=request.url.path,
                       errors=[{"field": exc.field, "message": str(exc)}])
    return JSONResponse(public.model_dump(mode="json"), status_code=201 if recorded.created else 200)


# ---- the form -----------------------------------------------------------------------------------------------------

def _survey_options(db_session) -> list[tuple[str, str]]:
    return [(key, f"{title} ({key})") for key, title in db_session.execute(
        select(Survey.key, Survey.title).where(Survey.status != "closed").order_by(Survey.key))]


def _form_context(db_session) -> dict:
    surveys = db_session.scalars(select(Survey).where(Survey.status != "closed").order_by(Survey.key)).all()
    languages = sorted({language for survey in surveys for language in (survey.languages or [])} | {"en"})
    embeddable = sorted({(question.key, f"{question.key} ({question.kind}, {survey.key})")
                         for survey in surveys if survey.current_version
                         for question in survey.current_version.questions if question.kind in EMBEDDABLE_KINDS})
    samples = [(name, f"{name} ({drawn:,} contacts)") for name, drawn in db_session.execute(
        select(Sample.name, Sample.size_drawn).order_by(Sample.created_at.desc()))]
    return {"surveys": [(survey.key, f"{survey.title} ({survey.key})") for survey in surveys],
            "languages": languages, "embeddable": embeddable, "samples": samples}


def _form_from_send(db_session, send: Send, zone: str) -> dict:
    written = definitions.as_definition(db_session, send)
    form = {name: written[name] for name in ("key", "name", "survey", "default_language", "max_reminders",
                                             "reminder_gap_days", "expires_after_days")}
    form["embed_question"] = written["embed_question"] or ""
    audience = written["audience"] or {}
    form["audience_kind"] = "sample" if "sample" in audience else "filter" if "filter" in audience else "trigger"
    form["sample"] = audience.get("sample", "")
    form["filter"] = "\n".join(f"{name} = {', '.join(values)}" for name, values in (audience.get("filter") or {}).items())
    for language, template in send.templates.items():
        form[f"subject_{language}"], form[f"body_{language}"] = template["subject"], template["body"]
    form["scheduled_for"] = (send.scheduled_for.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")
                             if send.scheduled_for else "")
    return form


def _raw_from_form(form: dict, languages: list[str], zone: str) -> tuple[dict, list[tuple[str, str]]]:
    """The definition the form describes, and problems of the form's own fields (the filter, the time)."""
    problems: list[tuple[str, str]] = []
    templates = {}
    for language in languages:
        subject, body = form.get(f"subject_{language}", "").strip(), form.get(f"body_{language}", "").strip()
        if subject or body:
            templates[language] = {"subject": subject, "body": body}
    audience: dict | None = None
    if form.get("audience_kind") == "sample":
        audience = {"sample": form.get("sample", "")}
    elif form.get("audience_kind") == "filter":
        audience = {"filter": {}}
        for number, line in enumerate(form.get("filter", "").splitlines(), start=1):
            if not line.strip():
                continue
            name, equals, values = line.partition("=")
            wanted = [value.strip() for value in values.split(",") if value.strip()]
            if not equals or not name.strip() or not wanted:
                problems.append(("filter", f"line {number}: write attribute = value, value (e.g. segment = SMB)"))
                continue
            audience["filter"][name.strip()] = wanted
    scheduled_for = None
    if form.get("scheduled_for", "").strip():
        try:
            scheduled_for = datetime.fromisoformat(form["scheduled_for"].strip()).replace(tzinfo=ZoneInfo(zone))
        except ValueError:
            problems.append(("scheduled_for", "give a date and time, e.g. 2026-12-08 09:00"))
    raw = {"key": form.get("key", "").strip(), "name": form.get("name", ""), "survey": form.get("survey", ""),
           "audience": audience, "templates": templates, "default_language": form.get("default_language") or "en",
           "embed_question": form.get("embed_question") or None,
           "max_reminders": _number(form.get("max_reminders", "")) or 0,
           "reminder_gap_days": _number(form.get("reminder_gap_days", "")) or 1,
           "expires_after_days": _number(form.get("expires_after_days", "")) or 14, "scheduled_for": scheduled_for}
    return raw, problems


def _field_of(path: str) -> str:
    """The form field a definition problem belongs to."""
    found = re.match(r"^templates\.([^.]+)\.(subject|body)$", path)
    if found:
        return f"{found.group(2)}_{found.group(1)}"
    if path.startswith("templates"):
        return "subject_en"
    if path.startswith("audience.sample"):
        return "sample"
    if path.startswith("audience"):
        return "filter"
    return path.split(".")[0]


def _edit_page(request: Request, db, *, form: dict, editing: str = "", errors=None, status: int = 200):
    with db.read() as db_session:
        context = _form_context(db_session)
    field_errors: dict[str, str] = {}
    for field, message in errors or []:
        field_errors.setdefault(field, message)
    return render(request, "distribution/send_form.html", context | {
        "form": form, "editing": editing, "errors": errors or [], "field_errors": field_errors}, status_code=status)


NEW_FORM = {"audience_kind": "sample", "default_language": "en", "max_reminders": 1, "reminder_gap_days": 3,
            "expires_after_days": 14,
            "subject_en": "How did we do, {{ customer.name }}?",
            "body_en": "Hello {{ customer.name }},\n\nyour opinion helps us improve. "
                       "{{ question }}\n\n{{ score_buttons }}\n\nOr open the survey: {{ link }}\n"
                       "The link works until {{ expires_on }}."}


@router.get("/sends/new", include_in_schema=False)
def new_send_page(request: Request, user: Editor, db: DbDep):
    return _edit_page(request, db, form=dict(NEW_FORM))


async def _submitted(request: Request) -> dict:
    return {name: str(value)[:20_000] for name, value in (await request.form()).items() if name != "csrf_token"}


async def _save(request: Request, user: User, db, settings, *, editing_key: str = ""):
    """Create or change a send from the form; the form again, with each problem at its field, when it has any."""
    form = await _submitted(request)
    with db.read() as db_session:
        languages = _form_context(db_session)["languages"]
    raw, problems = _raw_from_form(form, languages, settings.timezone)
    if problems:
        return _edit_page(request, db, form=form, editing=editing_key, errors=problems, status=422)
    try:
        with db.write() as db_session:
            editing = find_send(db_session, key=editing_key) if editing_key else None
            send = definitions.save_send(db_session, raw, actor_id=user.id, now=utcnow(), editing=editing)
            key = send.key
            _audit(db_session, request, user, settings, "sends.update" if editing_key else "sends.create",
                   f"send:{key}", status=send.status)
    except definitions.DefinitionError as exc:
        errors = [(_field_of(path), f"{path}: {message}") for path, message in exc.problems]
        return _edit_page(request, db, form=form, editing=editing_key, errors=errors, status=422)
    return RedirectResponse(f"/sends/{key}?saved={'updated' if editing_key else 'created'}", status_code=303)


@router.post("/sends/new", include_in_schema=False, dependencies=CSRF)
async def create_send(request: Request, user: Editor, db: DbDep, settings: SettingsDep):
    return await _save(request, user, db, settings)


@router.get("/sends/{key}/edit", include_in_schema=False)
def edit_send_page(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: SendKey):
    with db.read() as db_session:
        send = find_send(db_session, key=key)
        if send is None:
            return _not_found(request, key)
        form = _form_from_send(db_session, send, settings.timezone)
    return _edit_page(request, db, form=form, editing=key)


@router.post("/sends/{key}/edit", include_in_schema=False, dependencies=CSRF)
async def edit_send(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: SendKey):
    with db.read() as db_session:
        if find_send(db_session, key=key) is None:
            return _not_found(request, key)
    return await _save(request, user, db, settings, editing_key=key)


# ---- one send, its dry run, sending ----------------------------------------------------------------------------

@router.get("/sends/{key}", include_in_schema=False)
def send_page(request: Request, user: Reader, db: DbDep, settings: SettingsDep, key: SendKey,
              customer: Annotated[str, Query(max_length=200)] = "", saved: Annotated[str, Query(max_length=20)] = "",
              problem_text: Annotated[str, Query(alias="problem", max_length=20)] = ""):
    with db.read() as db_session:
        send = find_send(db_session, key=key)
        if send is None:
            return _not_found(request, key)
        detail = overview.send_detail(db_session, send)
        shown = preview(db_session, send, settings, now=utcnow(), customer=customer.strip())
        survey_status = db_session.scalar(select(Survey.status).where(Survey.id == send.survey_id))
        editable = send.status in definitions.EDITABLE
        sendable = send.status in ("draft", "scheduled", "sending") and "trigger" not in (send.audience or {})
    problems = {"not-live": f"The survey is {survey_status}, not live: nothing was sent. Put it live first."}
    return render(request, "distribution/send.html", {
        "detail": detail, "send": detail.send, "preview": shown, "customer": customer,
        "can_change": _can_change(user), "editable": editable, "sendable": sendable,
        "saved": SAVED.get(saved, ""), "problem": problems.get(problem_text, ""), "timezone": settings.timezone},
        status_code=404 if customer and shown is None else 200)


@router.get("/sends/{key}/preview.html", include_in_schema=False)
def send_preview_html(request: Request, user: Reader, db: DbDep, settings: SettingsDep, key: SendKey,
                      customer: Annotated[str, Query(max_length=200)] = ""):
    """The HTML part of the e-mail as the contact would see it (its links are a preview's and open nothing)."""
    with db.read() as db_session:
        send = find_send(db_session, key=key)
        if send is None:
            return _not_found(request, key)
        shown = preview(db_session, send, settings, now=utcnow(), customer=customer.strip())
    if shown is None or shown.mail is None:
        return render(request, "error.html", {"status": 404, "title": "No preview",
                                              "detail": shown.problem if shown else "No such contact."},
                      status_code=404)
    return HTMLResponse(shown.mail.body_html)


@api.get("/sends/{key}", response_model=SendDetail, responses=problem_responses(404))
def send_json(request: Request, user: Reader, db: DbDep, key: SendKey):
    """One send: its definition, its invitations by status and its log by kind."""
    with db.read() as db_session:
        send = find_send(db_session, key=key)
        if send is None:
            return problem(404, f"There is no send {key!r}.", code="no-such-send", instance=request.url.path)
        return overview.send_detail(db_session, send)


def _plan(db, key: str) -> Plan | None:
    with db.read() as db_session:
        send = find_send(db_session, key=key)
        return None if send is None else plan_send(db_session, send, utcnow())


def _plan_public(plan: Plan) -> PlanPublic:
    return PlanPublic(send=plan.send_key, invite=len(plan.invited), skip=len(plan.skipped),
                      reasons=dict(plan.reasons()), languages=dict(plan.languages()),
                      contacts=[PlanEntryPublic(customer_id=entry.external_id, email=entry.email,
                                                language=entry.language, decision="invite" if entry.invite else "skip",
                                                reason=entry.reason, note=entry.note) for entry in plan.entries])


@router.get("/sends/{key}/dry-run", include_in_schema=False)
def dry_run_page(request: Request, user: Reader, db: DbDep, key: SendKey, format: CsvFormat = "html"):
    plan = _plan(db, key)
    if plan is None:
        return _not_found(request, key)
    if format == "csv":
        return csv_response(f"send-{key}-dry-run", ["customer_id", "email", "language", "decision", "reason", "note"],
                            [[entry.external_id, entry.email or "", entry.language,
                              "invite" if entry.invite else "skip", entry.reason, entry.note]
                             for entry in plan.entries])
    with db.read() as db_session:
        send = find_send(db_session, key=key)
        status, triggered = send.status, "trigger" in (send.audience or {})
    return render(request, "distribution/dry_run.html", {
        "plan": plan, "key": key, "status": status, "triggered": triggered, "can_change": _can_change(user),
        "noted": [entry for entry in plan.invited if entry.note][:200], "skipped": plan.skipped[:500]})


@api.get("/sends/{key}/dry-run", response_model=PlanPublic, responses=problem_responses(404))
def dry_run_json(request: Request, user: Reader, db: DbDep, key: SendKey):
    """Who the send would invite now and who it would skip, with the reason, each contact's template language and
    what was adapted (a language without a template)."""
    plan = _plan(db, key)
    if plan is None:
        return problem(404, f"There is no send {key!r}.", code="no-such-send", instance=request.url.path)
    return _plan_public(plan)


@router.post("/sends/{key}/send", include_in_schema=False, dependencies=CSRF)
def send_now(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: SendKey):
    """Start the send: the first batches in this request, the rest by the send worker (a re-run never invites
    anyone twice)."""
    with db.write() as db_session:
        send = find_send(db_session, key=key)
        if send is None:
            return _not_found(request, key)
        if send.status not in ("draft", "scheduled", "sending") or "trigger" in (send.audience or {}):
            return RedirectResponse(f"/sends/{key}", status_code=303)
        survey_live = db_session.scalar(select(Survey.status).where(Survey.id == send.survey_id)) == "live"
        if survey_live:
            send.status, send.started_at = "sending", send.started_at or utcnow()
            _audit(db_session, request, user, settings, "sends.send", f"send:{key}")
    if not survey_live:
        return RedirectResponse(f"/sends/{key}?problem=not-live", status_code=303)
    for _ in range(SEND_NOW_LIMIT):
        if not run_batch(db, settings, key):
            break
    return RedirectResponse(f"/sends/{key}", status_code=303)


@router.post("/sends/{key}/cancel", include_in_schema=False, dependencies=CSRF)
def cancel(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: SendKey):
    try:
        with db.write() as db_session:
            overview.cancel_send(db_session, key=key)
            _audit(db_session, request, user, settings, "sends.cancel", f"send:{key}")
    except overview.SendError as exc:
        return render(request, "error.html", {"status": 409, "title": "Cannot cancel", "detail": _sentence(str(exc))},
                      status_code=409)
    return RedirectResponse(f"/sends/{key}?saved=cancelled", status_code=303)

