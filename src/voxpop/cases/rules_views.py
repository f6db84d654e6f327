"""The rules that open cases in the browser: the list (/cases/rules) with the routes, root causes and policy, one
rule with its preview against history (/cases/rules/{key}), and the page that checks and applies a rules file
(/cases/rules/apply); JSON twins under /api/v1/cases/rules.

Every staff role may read the rules (an agent should know why a case reached them); only admins and managers
change them: pause, resume, apply a file. Writes are HTML forms with the session's CSRF token, audited.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse

from voxpop.accounts.models import ROLES, User
from voxpop.analysis.periods import DaysError
from voxpop.cases import rules
from voxpop.cases.rules_schemas import PreviewPublic, RuleDetailPublic, RulesPublic
from voxpop.store.base import utcnow
from voxpop.surveys.schemas import KEY
from voxpop.web import charts
from voxpop.web.auth import DbDep, SettingsDep, client_address, require_role, verify_csrf
from voxpop.web.problems import problem, problem_responses
from voxpop.web.tables import csv_response
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])
Reader = Annotated[User, Depends(require_role(*ROLES))]
Editor = Annotated[User, Depends(require_role("admin", "manager"))]
RuleKey = Annotated[str, Path(min_length=1, max_length=64, pattern=KEY)]
Day = Annotated[str, Query(max_length=20, description="A day, YYYY-MM-DD, in the workspace's time zone.")]
CsvFormat = Annotated[Literal["html", "csv"], Query(description="csv for the page's table as CSV.")]
CSRF = [Depends(verify_csrf)]
MAX_FILE = 200_000  # characters (bytes of an upload) of a rules file: a few hundred rules at most; more is a pasted file gone wrong
SAVED = {"paused": "Rule paused: it opens no cases until resumed.",
         "resumed": "Rule resumed: it looks at responses from now on.",
         "applied": "Rules file applied."}


def _overview(db) -> RulesPublic:
    with db.read() as db_session:
        return rules.overview(db_session=db_session, now=utcnow())


@router.get("/cases/rules", include_in_schema=False)
def rules_page(request: Request, user: Reader, db: DbDep, settings: SettingsDep, format: CsvFormat = "html",
               saved: Annotated[str, Query(max_length=20)] = ""):
    listed = _overview(db)
    if format == "csv":
        return csv_response("case-rules", ["key", "name", "survey", "conditions", "priority", "department", "paused",
                                           "holdout", "cases_last_30_days", "active_from"],
                            [[rule.key, rule.name, rule.survey, "; ".join(rule.conditions_in_words), rule.priority,
                              rule.department, rule.paused, rule.holdout, rule.cases_last_30_days,
                              rule.active_from.isoformat()] for rule in listed.rules])
    return render(request, "cases/cases/rules.html", {
        "listed": listed, "can_change": user.role in ("admin", "manager"), "saved": SAVED.get(saved, ""),
        "timezone": settings.timezone})


@api.get("/cases/rules", response_model=RulesPublic)
def rules_json(user: Reader, db: DbDep):
    """Every rule that opens cases (conditions, priority, department, holdout, cases opened in the last 30 days),
    the routes by attribute, the root causes and the case policy."""
    return _overview(db)


def checked_mark(text: str) -> str:
    """What the Apply button carries of the file it was shown for, so a file edited after its check is checked
    again instead of applied unseen."""
    return hashlib.sha256(text.encode()).hexdigest()


def _apply_page(request: Request, *, text: str = "", report: rules.ApplyReport | None = None,
                problems: list[tuple[str, str]] | None = None, status: int = 200, changed_since_check: bool = False):
    return render(request, "cases/cases/rules_apply.html", {
        "text": text, "report": report, "problems": problems or [], "checked": checked_mark(text) if report else "",
        "changed_since_check": changed_since_check,
        "errors": [_error_item(path, message) for path, message in problems or []],
        "upload_error": next((message for path, message in problems or [] if path == "upload"), "")},
        status_code=status)


def _error_item(path: str, message: str) -> tuple[str, str]:
    """A problem in the error summary, linked to its field: the upload's own, else the file's place in it."""
    if path in ("upload", "rules"):
        return path, message[:1].upper() + message[1:]
    return "rules", f"{path}: {message}"


@router.get("/cases/rules/apply", include_in_schema=False)
def apply_page(request: Request, user: Editor, db: DbDep):
    return _apply_page(request)


@router.post("/cases/rules/apply", include_in_schema=False, dependencies=CSRF)
def apply_file(
    request: Request, user: Editor, db: DbDep, settings: SettingsDep,
    text: Annotated[str, Form(max_length=MAX_FILE)] = "",
    upload: Annotated[UploadFile | None, File()] = None,
    action: Annotated[Literal["check", "apply"], Form()] = "check",
    checked: Annotated[str, Form(max_length=64)] = "",
):
    """Check a rules file (pasted or uploaded) and show what it would change; apply it when asked."""
    if upload is not None and upload.filename:
        content = upload.file.read(MAX_FILE + 1)
        if len(content) > MAX_FILE:
            return _apply_page(request, problems=[("upload", f"a rules file is at most {MAX_FILE // 1000} kB; "
                                                             f"this one is larger")], status=422)
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            return _apply_page(request, problems=[("upload", "the file is not UTF-8 text; save it as UTF-8 and "
                                                             "upload it again")], status=422)
    if not text.strip():
        return _apply_page(request, problems=[("rules", "paste a rules file or choose one to upload")], status=422)
    changed_since_check = action == "apply" and checked != checked_mark(text)
    if changed_since_check:
        action = "check"
    try:
        loaded = rules.load_rules(text, source="the rules file")
        with db.write() as db_session:
            report = rules.apply_rules(db_session=db_session, rules=loaded, actor=user, dry_run=action == "check",
                                       source=upload.filename if upload is not None and upload.filename
                                       else "the rules page", client=client_address(request, settings))
    except rules.RulesError as exc:
        return _apply_page(request, text=text, problems=exc.problems, status=422)
    if action == "apply":
        return RedirectResponse("/cases/rules?saved=applied", status_code=303)
    return _apply_page(request, text=text, report=report, changed_since_check=changed_since_check)


def _pause(request: Request, user: User, db, settings, key: str, paused: bool):
    try:
        with db.write() as db_session:
            rules.set_paused(db_session=db_session, key=key, paused=paused, actor=user,
                             client=client_address(request, settings))
    except rules.RuleNotFound as exc:
        return render(request, "error.html", {"status": 404, "title": "No such rule", "detail": _sentence(exc)},
                      status_code=404)
    return RedirectResponse(f"/cases/rules?saved={'paused' if paused else 'resumed'}", status_code=303)


@router.post("/cases/rules/{key}/pause", include_in_schema=False, dependencies=CSRF)
def pause_rule(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: RuleKey):
    return _pause(request, user, db, settings, key, True)


@router.post("/cases/rules/{key}/resume", include_in_schema=False, dependencies=CSRF)
def resume_rule(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: RuleKey):
    return _pause(request, user, db, settings, key, False)


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def preview_chart(preview: PreviewPublic) -> charts.Chart:
    groups = [charts.BarGroup(f"{week.week.day} {week.week:%b}", ((float(week.cases),
                              f"Week of {week.week:%d %B %Y}: {week.cases:,} cases"),)) for week in preview.weeks]
    return charts.bar_chart(groups, title=f"Cases the rule would have opened each week, {preview.since} to "
                                          f"{preview.until}", y_title="Cases a week", x_title="Week starting")


@router.get("/cases/rules/{key}", include_in_schema=False)
def rule_page(request: Request, user: Reader, db: DbDep, settings: SettingsDep, key: RuleKey, since: Day = "",
              until: Day = "", format: CsvFormat = "html"):
    error = None
    try:
        detail = rules.rule_detail(db, key=key, since=since, until=until, zone=settings.timezone)
    except rules.RuleNotFound as exc:
        return render(request, "error.html", {"status": 404, "title": "No such rule", "detail": _sentence(exc)},
                      status_code=404)
    except DaysError as exc:
        error = exc
        detail = rules.rule_detail(db, key=key, since="", until="", zone=settings.timezone)
    if format == "csv" and error is None:
        return csv_response(f"case-rule-{key}-preview", ["week", "cases"],
                            [[week.week.isoformat(), week.cases] for week in detail.preview.weeks])
    query = urlencode([(name, value) for name, value in (("since", since), ("until", until)) if value])
    return render(request, "cases/cases/rules_rule.html", {
        "detail": detail, "rule": detail.rule, "preview": detail.preview, "chart": preview_chart(detail.preview),
        "since": since, "until": until, "can_change": user.role in ("admin", "manager"),
        "error": (getattr(error, "parameter", None) or "since", _sentence(error)) if error else None,
        "json_href": f"/api/v1/cases/rules/{key}" + (f"?{query}" if query else ""),
        "csv_href": f"/cases/rules/{key}?" + urlencode([*((n, v) for n, v in (("since", since), ("until", until)) if v),
                                                        ("format", "csv")]),
        "timezone": settings.timezone}, status_code=400 if error else 200)


@api.get("/cases/rules/{key}", response_model=RuleDetailPublic, responses=problem_responses(404, 422))
def rule_json(request: Request, user: Reader, db: DbDep, settings: SettingsDep, key: RuleKey, since: Day = "",
              until: Day = ""):
    """One rule with its preview: how many cases it would have opened per week between since and until
    (default: the last 26 weeks), customers' further matches within the open period counted once."""
    try:
        return rules.rule_detail(db, key=key, since=since, until=until, zone=settings.timezone)
    except rules.RuleNotFound as exc:
        return problem(404, _sentence(exc), code="no-such-rule", instance=request.url.path)
    except DaysError as exc:
        return problem(422, _sentence(exc), code="invalid-days", instance=request.url.path)
