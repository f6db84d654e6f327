"""Editing a scorecard on the pages: perspectives (rename, reorder), objectives, measures, targets and thresholds,
links and initiatives, or the whole document as YAML. Each save is a new version, as an applied file is.

Every form changes the stored document (service.export_definition) and applies it with
service.apply_definition(source="edited on the pages"), so a page and a file share one set of checks and one
version history; a DefinitionError's field paths are shown at the fields they name. Removing a part first shows
what would go with it (a dry run) and asks again. Managers and admins only.
"""

from __future__ import annotations

import copy
import json
import math
import re
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import yaml
from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from voxpop.accounts.models import User
from voxpop.analysis.periods import period_label
from voxpop.cases.models import Initiative
from voxpop.scorecard.definition import NEEDS, SCORINGS, DefinitionError, load_definition
from voxpop.scorecard.models import Scorecard, ScorecardVersion
from voxpop.scorecard.service import apply_definition, export_definition, get_scorecard
from voxpop.store.base import utcnow
from voxpop.surveys.schemas import DocumentProblems, read_mapping
from voxpop.web.auth import DbDep, SettingsDep, require_role, verify_csrf
from voxpop.web.problems import problem, problem_responses
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])  # mounted under /api/v1 by the app
CSRF = [Depends(verify_csrf)]
EDITORS = ("admin", "manager")
Editor = Annotated[User, Depends(require_role(*EDITORS))]
Key = Annotated[str, Path(max_length=64, description="The scorecard's key.")]
SOURCE = "edited on the pages"
MAX_FIELD = 200_000  # characters of one form field: the YAML of a large scorecard fits
THRESHOLDS = ("target", "baseline", "minimum", "maximum", "goal", "red_flag", "low", "high")
PARTS = {"perspective": "perspectives", "objective": "objectives", "measure": "measures", "link": "links"}


class EditError(DefinitionError):
    """A form that cannot become a document (an index, a source that is not a mapping): said at its field."""

    def __init__(self, path: str, message: str):
        super().__init__(SOURCE, [(path, message)])


class VersionPublic(BaseModel):
    version: int
    applied_at: datetime
    actor: str | None
    source: str


class ScorecardDocumentPublic(BaseModel):
    """The scorecard's current document (as docs/scorecard-file.md describes it) and its version history."""

    key: str
    version: int
    document: dict
    versions: list[VersionPublic]


class DocumentApply(BaseModel):
    document: dict = Field(description="A whole scorecard document, as the file holds it.")
    dry_run: bool = Field(False, description="Only say what would change.")


class ApplyReportPublic(BaseModel):
    key: str
    version: int
    changed: bool
    dry_run: bool
    changes: list[str]


def field_id(path: str) -> str:
    """The page's field for a document path: measures[3].targets[0].goal -> measures-3-target-goal."""
    path = re.sub(r"targets\[\d+\]", "target", path)
    path = re.sub(r"\.source\..*$", ".source", path)
    return re.sub(r"[^A-Za-z0-9_]+", "-", path).strip("-")


def _number(text: str) -> Any:
    """A number typed in, as a number when it reads as one; otherwise as typed, for the definition to name."""
    text = text.strip().replace(",", "")
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text  # "nan" and "inf" read as floats, but are no threshold


def _index(document: dict, part: str, fields: dict[str, str]) -> int:
    items, raw = document[PARTS[part]], fields.get("index", "")
    if not raw.isdigit() or int(raw) >= len(items):
        raise EditError(PARTS[part], f"there is no {part} number {raw or '(none)'}; reload the page and try again")
    return int(raw)


def _put(item: dict, name: str, text: str, *, number: bool = False, default: Any = None) -> None:
    """Set a field from its form text; an empty text takes the file's default (the field left out)."""
    text = text.strip()
    if text:
        item[name] = _number(text) if number else text
    elif default is not None:
        item[name] = default
    else:
        item.pop(name, None)


def _objective(item: dict, fields: dict[str, str], initiatives: list[str]) -> None:
    for name in ("name", "perspective"):
        item[name] = fields.get(name, "").strip()
    item["description"] = fields.get("description", "").strip()
    _put(item, "owner", fields.get("owner", ""))
    _put(item, "weight", fields.get("weight", ""), number=True, default=1.0)
    item["initiatives"] = [int(i) if i.isdigit() else i for i in initiatives]


def _measure(item: dict, fields: dict[str, str], path: str, running: str) -> None:
    for name in ("name", "objective", "direction", "period", "scoring"):
        item[name] = fields.get(name, "").strip()
    for name in ("unit", "owner"):
        _put(item, name, fields.get(name, ""))
    _put(item, "weight", fields.get("weight", ""), number=True, default=1.0)
    try:
        source = yaml.safe_load(fields.get("source", "") or "{kind: manual}")
    except yaml.YAMLError:
        source = None
    if not isinstance(source, dict):
        raise EditError(f"{path}.source", "write the source as a mapping, such as {kind: survey, survey: "
                                          "relationship-nps, metric: nps, question: nps} or {kind: manual}")
    item["source"] = source
    _target(item, fields, running)


def _target(item: dict, fields: dict[str, str], running: str) -> None:
    """Set the thresholds from a period on: that period's row changes, or a new row starts there (earlier periods
    keep the targets they were scored against)."""
    start = fields.get("from", "").strip() or running
    typed = {name: fields.get(name, "") for name in THRESHOLDS if name in fields}
    if not any(text.strip() for text in typed.values()):
        return
    targets = item.setdefault("targets", [])
    row = next((t for t in targets if t.get("from") == start), None)
    if row is not None:
        for name, text in typed.items():
            _put(row, name, text, number=True)
        return
    in_force = [t for t in targets if str(t.get("from", "")) <= start]
    before = max(in_force, key=lambda t: t["from"]) if in_force else {"from": start}
    row = copy.deepcopy(before)
    for name, text in typed.items():
        _put(row, name, text, number=True)
    if row != before:  # the same thresholds again are no new row: saving a measure leaves its targets alone
        row["from"] = start
        targets.append(row)
        targets.sort(key=lambda t: str(t.get("from", "")))


def _link(item: dict, fields: dict[str, str]) -> None:
    for name in ("cause", "effect", "polarity", "strength"):
        item[name] = fields.get(name, "").strip()
    _put(item, "lag", fields.get("lag", ""), number=True, default=0)
    if isinstance(item.get("lag"), float) and item["lag"].is_integer():
        item["lag"] = int(item["lag"])


def edited_document(document: dict, action: str, fields: dict[str, str], initiatives: list[str], *,
                    running: dict[str, str]) -> dict:
    """The document with one form's change made (not yet checked: apply_definition does that). `running` holds the
    running month and quarter, where a target typed in without a period starts."""
    document = copy.deepcopy(document)
    part, _, verb = action.partition(".")
    if action == "scorecard":
        document["name"] = fields.get("name", "").strip()
        document["description"] = fields.get("description", "").strip()
        return document
    if part not in PARTS or verb not in ("save", "add", "remove", "up", "down"):
        raise EditError("(form)", "this form's button is not one the page offers; reload the page and try again")
    items = document.setdefault(PARTS[part], [])
    if verb == "add":
        item = {"key": fields.get("key", "").strip()} if part != "link" else {}
        items.append(item)
        index = len(items) - 1
    else:
        index = _index(document, part, fields)
        item = items[index]
    if verb == "remove":
        del items[index]
    elif verb in ("up", "down"):
        other = index - 1 if verb == "up" else index + 1
        if 0 <= other < len(items):
            items[index], items[other] = items[other], items[index]
    elif part == "perspective":
        item["name"] = fields.get("name", "").strip()
    elif part == "objective":
        _objective(item, fields, initiatives)
    elif part == "measure":
        _measure(item, fields, f"measures[{index}]", running.get(fields.get("period", "month"), running["month"]))
    else:
        _link(item, fields)
    return document


# ---- the page ----------------------------------------------------------------------------------------------------


def _versions(db_session, scorecard: Scorecard) -> list[VersionPublic]:
    rows = db_session.execute(select(ScorecardVersion, User).outerjoin(User, User.id == ScorecardVersion.actor_id)
                              .where(ScorecardVersion.scorecard_id == scorecard.id)
                              .order_by(ScorecardVersion.version.desc())).all()
    return [VersionPublic(version=row.version, applied_at=row.applied_at, source=row.source,
                          actor=(user.name or user.email) if user else None) for row, user in rows]


def _running(settings) -> dict[str, str]:
    """The month and quarter running now, where a target typed in without a period starts."""
    today = utcnow().astimezone(ZoneInfo(settings.timezone)).date()
    return {"month": period_label(today, "month"), "quarter": period_label(today, "quarter")}


def _choices(db_session) -> dict[str, list]:
    people = db_session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.name, User.email))
    initiatives = db_session.scalars(select(Initiative).where(Initiative.draft.is_(False))
                                     .order_by(Initiative.title))
    return {"people": [(user.email, user.name or user.email) for user in people],
            "initiatives": [(item.id, item.title, item.stage) for item in initiatives]}


def _targets_now(document: dict, running: dict[str, str]) -> dict[str, dict]:
    """Each measure's target row in force in the running period (what its form shows)."""
    shown = {}
    for measure in document.get("measures", []):
        start = running.get(measure.get("period", "month"), running["month"])
        rows = [t for t in measure.get("targets", []) if str(t.get("from", "")) <= start]
        shown[measure.get("key", "")] = {"from": start} | ({k: v for k, v in max(rows, key=lambda t: t["from"]).items()
                                                             if k != "from"} if rows else {})
    return shown


def _edit_page(request: Request, db, settings, key: str, *, document: dict | None = None,
               error: DefinitionError | None = None, confirm: dict | None = None, status_code: int = 200):
    with db.read() as db_session:
        scorecard = get_scorecard(db_session=db_session, key=key)
        if scorecard is None:
            raise HTTPException(404)
        stored = export_definition(db_session=db_session, scorecard=scorecard)
        context = {"versions": _versions(db_session, scorecard), "version": scorecard.version} | _choices(db_session)
    document = document or stored
    running = _running(settings)
    problems = error.problems if error else []
    return render(request, "scorecard/edit.html", context | {
        "key": key, "document": document, "yaml_text": yaml.safe_dump(stored, sort_keys=False, allow_unicode=True),
        "problems": [(field_id(path), f"{path}: {message}") for path, message in problems],
        "field_errors": {field_id(path): message for path, message in reversed(problems)},
        "targets_now": _targets_now(document, running), "running": running, "confirm": confirm,
        "sources": {m.get("key", ""): json.dumps(m.get("source", {})) for m in document.get("measures", [])},
        "scorings": [(name, name.replace("_", " ")) for name in SCORINGS], "needs": NEEDS, "thresholds": THRESHOLDS,
        "field_id": field_id,
        "saved": request.query_params.get("saved", ""), "timezone": settings.timezone,
        "json_href": f"/api/v1/scorecards/{key}/edit",
    }, status_code=status_code)


async def form_fields(request: Request) -> tuple[dict[str, str], list[str]]:
    """The posted form's single fields, and the ticked initiatives (an objective's form)."""
    form = await request.form()
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    too_long = [name for name, value in fields.items() if len(value) > MAX_FIELD]
    if too_long:
        raise HTTPException(413, f"The field {too_long[0]} is longer than {MAX_FIELD:,} characters.")
    return fields, [value for value in form.getlist("initiative") if isinstance(value, str)][:100]


Posted = Annotated[tuple[dict[str, str], list[str]], Depends(form_fields)]


@router.get("/scorecards/{key}/edit", include_in_schema=False)
def edit_page(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: Key):
    return _edit_page(request, db, settings, key)


def _apply(db, user, document: dict, *, dry_run: bool = False):
    with db.write() as db_session:
        return apply_definition(db_session=db_session, document=document, actor=user, source=SOURCE, dry_run=dry_run)


@router.post("/scorecards/{key}/edit", include_in_schema=False, dependencies=CSRF)
def edit_save(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: Key, posted: Posted):
    """Make one form's change to the document and apply it: a new version, or the errors at their fields."""
    fields, initiatives = posted
    action = fields.get("action", "")
    with db.read() as db_session:
        scorecard = get_scorecard(db_session=db_session, key=key)
        if scorecard is None:
            raise HTTPException(404)
        stored = export_definition(db_session=db_session, scorecard=scorecard)
    document = stored
    try:
        if action == "yaml":
            document = _yaml_document(fields.get("text", ""), key)
        else:
            document = edited_document(stored, action, fields, initiatives, running=_running(settings))
        if action.endswith(".remove") and fields.get("confirm") != "yes":
            report = _apply(db, user, document, dry_run=True)
            return _edit_page(request, db, settings, key, confirm={"fields": fields, "lines": report.lines()})
        report = _apply(db, user, document)
    except DefinitionError as exc:
        return _edit_page(request, db, settings, key, document=document if action != "yaml" else None, error=exc,
                          status_code=422)
    saved = f"version-{report.version}" if report.changed else "unchanged"
    part = action.partition(".")[0]
    anchor = PARTS.get(part, "yaml" if action == "yaml" else "scorecard")
    return RedirectResponse(f"/scorecards/{key}/edit?saved={saved}#{anchor}", status_code=303)


def _yaml_document(text: str, key: str) -> dict:
    """The YAML editor's document, checked on its own; it must stay this scorecard's."""
    document = load_definition(text, source=SOURCE)
    if document["key"] != key:
        raise EditError("key", f"this page edits the scorecard {key}; keep its key, or make a new scorecard for "
                               f"{document['key']}")
    return document


# ---- a new scorecard ---------------------------------------------------------------------------------------------


def _new_page(request: Request, *, values: dict | None = None, error: DefinitionError | None = None,
              status_code: int = 200):
    problems = error.problems if error else []
    return render(request, "scorecard/edit_new.html", {
        "values": values or {}, "problems": [(field_id(path), f"{path}: {message}") for path, message in problems],
        "field_errors": {field_id(path): message for path, message in reversed(problems)},
    }, status_code=status_code)


@router.get("/scorecards/new", include_in_schema=False)
def new_page(request: Request, user: Editor):
    return _new_page(request)


def _new_document(db, fields: dict[str, str]) -> dict:
    key = fields.get("key", "").strip()
    if fields.get("text", "").strip():
        try:
            document = read_mapping(fields["text"], expected="a mapping with key, name, objectives and measures")
        except DocumentProblems as exc:
            raise DefinitionError(SOURCE, exc.problems) from None
        key = str(document.get("key", ""))
    else:
        document = {"key": key, "name": fields.get("name", "").strip(),
                    "description": fields.get("description", "").strip()}
    with db.read() as db_session:
        if key and get_scorecard(db_session=db_session, key=key) is not None:
            raise EditError("key", f"there is a scorecard {key} already; edit it at /scorecards/{key}/edit, or "
                                   "choose another key")
    return document


@router.post("/scorecards/new", include_in_schema=False, dependencies=CSRF)
def new_save(request: Request, user: Editor, db: DbDep, settings: SettingsDep, posted: Posted):
    """Make a new scorecard (the four perspectives by default), then edit it on its page."""
    fields, _ = posted
    try:
        document = _new_document(db, fields)
        report = _apply(db, user, document)
    except DefinitionError as exc:
        return _new_page(request, values=fields, error=exc, status_code=422)
    return RedirectResponse(f"/scorecards/{report.key}/edit?saved=version-{report.version}", status_code=303)


# ---- JSON twins --------------------------------------------------------------------------------------------------


def _report_public(report) -> ApplyReportPublic:
    return ApplyReportPublic(key=report.key, version=report.version, changed=report.changed, dry_run=report.dry_run,
                             changes=[change.sentence() for change in report.changes])


def _invalid(request: Request, exc: DefinitionError):
    return problem(422, f"The scorecard was not changed: {len(exc.problems)} problem"
                        f"{'' if len(exc.problems) == 1 else 's'} in the document.", code="invalid-scorecard",
                   instance=request.url.path, errors=[{"field": path, "message": message}
                                                      for path, message in exc.problems])


@api.get("/scorecards/{key}/edit", response_model=ScorecardDocumentPublic, responses=problem_responses(404))
def edit_json(user: Editor, db: DbDep, key: Key):
    """The scorecard's current document and its versions (managers and admins)."""
    with db.read() as db_session:
        scorecard = get_scorecard(db_session=db_session, key=key)
        if scorecard is None:
            raise HTTPException(404)
        return ScorecardDocumentPublic(key=key, version=scorecard.version, versions=_versions(db_session, scorecard),
                                       document=export_definition(db_session=db_session, scorecard=scorecard))


@api.post("/scorecards/{key}/edit", response_model=ApplyReportPublic, dependencies=CSRF,
          responses=problem_responses(404, 422))
def edit_apply_json(request: Request, user: Editor, db: DbDep, settings: SettingsDep, key: Key, change: DocumentApply):
    """Apply a whole changed document to this scorecard (send the CSRF token in X-CSRF-Token): a new version when
    something changed; each problem's field is the document path."""
    with db.read() as db_session:
        if get_scorecard(db_session=db_session, key=key) is None:
            raise HTTPException(404)
    if change.document.get("key") != key:
        return _invalid(request, EditError("key", f"this address edits the scorecard {key}; keep its key"))
    try:
        return _report_public(_apply(db, user, change.document, dry_run=change.dry_run))
    except DefinitionError as exc:
        return _invalid(request, exc)


@api.post("/scorecards", response_model=ApplyReportPublic, status_code=201, dependencies=CSRF,
          responses=problem_responses(409, 422))
def new_json(request: Request, user: Editor, db: DbDep, settings: SettingsDep, change: DocumentApply):
    """Make a new scorecard from a document (managers and admins); 409 when the key is taken."""
    key = str(change.document.get("key", ""))
    with db.read() as db_session:
        if key and get_scorecard(db_session=db_session, key=key) is not None:
            return problem(409, f"There is a scorecard {key} already; change it with POST /api/v1/scorecards/{key}/"
                                "edit.", code="scorecard-exists", instance=request.url.path)
    try:
        return _report_public(_apply(db, user, change.document, dry_run=change.dry_run))
    except DefinitionError as exc:
        return _invalid(request, exc)
