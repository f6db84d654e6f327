"""The survey builder: create and edit survey definitions in the browser.

Every page works without JavaScript: structural edits (add, remove, move a question) are submit buttons that
re-render the form from what it posted, so nothing typed is lost between steps. Everything is saved through the
parser and `service.apply` that `voxpop survey apply` uses, so a live survey gets a new version when its meaning
changes, and answers already given keep the version they were given on.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.datastructures import FormData

from voxpop.accounts import service as accounts
from voxpop.accounts.models import User
from voxpop.surveys import builder, service
from voxpop.surveys.models import Survey
from voxpop.surveys.schemas import SurveyDefinition, text_in
from voxpop.surveys.service import SurveyFileError
from voxpop.surveys.views import SURVEY_EDITORS
from voxpop.web.auth import DbDep, SettingsDep, client_address, require_role, verify_csrf
from voxpop.web.templating import render

router = APIRouter()
Editor = Annotated[User, Depends(require_role(*SURVEY_EDITORS))]
FORMATS = ("yaml", "json")
# A form field longer than this is not a survey text (the longest a text may be is 2,000 characters).
MAX_FIELD = 100_000


def _fields(form: FormData) -> dict[str, str]:
    """The posted fields as text (the last value of a repeated name), refusing what no survey text can be."""
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    too_long = next((name for name, value in fields.items() if len(value) > MAX_FIELD), None)
    if too_long is not None:
        raise HTTPException(400, f"The field {too_long!r} is longer than {MAX_FIELD:,} characters; shorten it.")
    return fields


def _survey(db_session, key: str) -> Survey:
    survey = service.get_by_key(db_session=db_session, key=key)
    if survey is None or survey.current_version is None:
        raise HTTPException(404, f"There is no survey with the key {key!r}.")
    return survey


def _current(db, key: str) -> tuple[SurveyDefinition, str, int]:
    """The survey's current definition (with its status now), its status and its version number."""
    with db.read() as db_session:
        survey = _survey(db_session, key)
        version = survey.current_version
        return service.definition_of(version, status=survey.status), survey.status, version.number


def _saved_note(db, key: str, version: int | None, new: bool) -> dict[str, Any]:
    """What the page says after a save: the version written and, for a new one, what changed from the one before."""
    if version is None:
        return {}
    with db.read() as db_session:
        survey = _survey(db_session, key)
        earlier = [item for item in survey.versions if item.number < version]
        written = next((item for item in survey.versions if item.number == version), None)
        if written is None:
            return {}
        changed = (builder.changes(service.definition_of(earlier[-1]), service.definition_of(written))
                   if new and earlier else [])
    return {"saved": {"version": version, "new": new, "changes": changed}}


def _page(request: Request, template: str, *, key: str, status: str, number: int, status_code: int = 200,
          **context: Any):
    return render(request, f"surveys/{template}", {"key": key, "status": status, "number": number} | context,
                  status_code=status_code)


def _title(definition: SurveyDefinition) -> str:
    return text_in(definition.title, definition.languages[0], definition.languages[0])


def _save(request: Request, *, db, settings, user: User, definition: SurveyDefinition, before: SurveyDefinition,
          status: str, number: int, publish: bool, confirmed: bool, again: dict[str, Any]):
    """Apply the definition and redirect to the form; or, when a live or closed survey would get a new version
    and the user has not confirmed it yet, return what the page shows instead: what changes, and the confirm button."""
    definition = definition.model_copy(update={"status": "live" if publish else status})
    meaning_changes = service.fingerprint(definition) != service.fingerprint(before)
    if meaning_changes and status != "draft" and not confirmed:
        # The edit stays on screen with what it changes; the same form posted again with `confirm` saves it.
        return again | {"changes": builder.changes(before, definition), "confirm": "publish" if publish else "save"}
    with db.write() as db_session:
        result = service.apply(db_session=db_session, definition=definition)
        accounts.audit(db_session=db_session, actor=user, action="survey.edit", target=definition.key,
                       client=client_address(request, settings), before_version=number,
                       after_version=result.version.number, status=definition.status)
        written, new = result.version.number, result.new_version
    return RedirectResponse(f"/surveys/{definition.key}/edit?version={written}&new={int(new)}", status_code=303)


# Starting a survey

@router.get("/surveys/new", include_in_schema=False)
def new_page(request: Request, user: Editor, db: DbDep):
    """Choose a starting point, or a survey to copy, and the new survey's key and title."""
    return _new_page(request, db, form={"start": "transactional-csat"})


def _new_page(request: Request, db, *, form: dict[str, str], problems: list[tuple[str, str]] | None = None,
              status_code: int = 200):
    with db.read() as db_session:
        surveys = [(key, f"{title} ({key})") for key, title in db_session.execute(
            select(Survey.key, Survey.title).where(Survey.versions.any()).order_by(Survey.title, Survey.key))]
    return render(request, "surveys/builder_new.html", {
        "starters": builder.STARTERS, "surveys": surveys, "form": form, "problems": problems or [],
        "places": dict(problems or []),
    }, status_code=status_code)


@router.post("/surveys/new", include_in_schema=False, dependencies=[Depends(verify_csrf)])
async def create(request: Request, user: Editor, db: DbDep, settings: SettingsDep):
    """Create the survey as a draft from its starting point and open it in the builder."""
    form = _fields(await request.form())
    key, title, start = form.get("key", "").strip(), form.get("title", "").strip(), form.get("start", "")
    problems = []
    with db.read() as db_session:
        taken = service.get_by_key(db_session=db_session, key=key)
        problem = builder.key_problem(key, taken_by=taken.title if taken else None)
        if problem:
            problems.append(("key", problem))
        if not title:
            problems.append(("title", "Give the survey a title: respondents see it at the top of the page."))
        elif len(title) > 300:
            problems.append(("title", "A title is at most 300 characters."))
        original = None
        if start == "copy":
            copied = service.get_by_key(db_session=db_session, key=form.get("copy_of", ""))
            if copied is None or copied.current_version is None:
                problems.append(("copy_of", "Choose the survey to copy."))
            else:
                original = service.definition_of(copied.current_version)
        elif start not in {name for name, _, _ in builder.STARTERS}:
            problems.append(("start", "Choose a starting point."))
    if problems:
        return _new_page(request, db, form=form, problems=problems, status_code=400)
    if original is not None:
        draft = builder.duplicate(original, key=key, title=title)
    else:
        draft = builder.starter(start, key=key, title=title, organisation=form.get("organisation", ""))
    definition = builder.validated(draft).model_copy(update={"status": "draft"})
    with db.write() as db_session:
        result = service.apply(db_session=db_session, definition=definition)
        accounts.audit(db_session=db_session, actor=user, action="survey.create", target=key,
                       client=client_address(request, settings), start=form.get("copy_of") if original else start)
    return RedirectResponse(f"/surveys/{key}/edit?version={result.version.number}&new=1", status_code=303)


# The form

def _edit_page(request: Request, *, key: str, status: str, number: int, draft: dict,
               problems: list[tuple[str, str]] | None = None, status_code: int = 200, **context: Any):
    return _page(request, "builder_edit.html", key=key, status=status, number=number, status_code=status_code,
                 draft=draft, values=builder.form_values(draft), places=builder.problem_places(problems or []),
                 problems=builder.problem_list(problems or [], draft), kinds=builder.KIND_LABELS,
                 languages=builder.languages_of(draft),
                 tests=builder.CONDITION_TESTS, flags=builder.QUESTION_FLAGS, **context)


@router.get("/surveys/{key}/edit", include_in_schema=False)
def edit_page(request: Request, key: str, user: Editor, db: DbDep,
              version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
              new: Annotated[int, Query(ge=0, le=1)] = 0):
    """The whole survey as a form."""
    definition, status, number = _current(db, key)
    return _edit_page(request, key=key, status=status, number=number, draft=builder.draft_of(definition),
                      **_saved_note(db, key, version, bool(new)))


@router.post("/surveys/{key}/edit", include_in_schema=False, dependencies=[Depends(verify_csrf)])
async def edit(request: Request, key: str, user: Editor, db: DbDep, settings: SettingsDep):
    """Re-render after a structural edit, check, or save (through the same parser as `survey apply`)."""
    form = _fields(await request.form())
    before, status, number = _current(db, key)
    draft, form_problems = builder.draft_from_form(form)
    draft["key"] = key  # the address names the survey; a key typed into the form cannot move it
    action = form.get("action", "check")
    if action in ("add", "refresh") or action.partition(":")[0] in ("remove", "up", "down"):
        return _edit_page(request, key=key, status=status, number=number,
                          draft=builder.edited(draft, action, new_kind=form.get("new_kind", "text")))
    try:
        definition = builder.validated(draft, form_problems)
    except SurveyFileError as error:
        return _edit_page(request, key=key, status=status, number=number, draft=draft, problems=error.problems,
                          status_code=400)
    if action == "preview":
        return _page(request, "builder_preview.html", key=key, status=status, number=number, title=_title(definition),
                     languages=definition.languages, draft_text=service.dump_definition(definition, format="yaml"))
    if action == "check":
        return _edit_page(request, key=key, status=status, number=number, draft=draft, checked=True,
                          changes=builder.changes(before, definition))
    shown = _save(request, db=db, settings=settings, user=user, definition=definition, before=before, status=status,
                  number=number, publish=action in ("publish", "confirm-publish"),
                  confirmed=action.startswith("confirm"), again={})
    if isinstance(shown, dict):
        return _edit_page(request, key=key, status=status, number=number, draft=draft, **shown)
    return shown


@router.get("/surveys/{key}/edit/preview", include_in_schema=False)
def preview_page(request: Request, key: str, user: Editor, db: DbDep):
    """The saved survey as the customer sees it, at phone and desktop width, in each of its languages."""
    definition, status, number = _current(db, key)
    return _page(request, "builder_preview.html", key=key, status=status, number=number, title=_title(definition),
                 languages=definition.languages)


# The file as text

@router.get("/surveys/{key}/source", include_in_schema=False)
def source_page(request: Request, key: str, user: Editor, db: DbDep,
                format: Annotated[str, Query(pattern="^(yaml|json)$")] = "yaml"):
    """The survey file as YAML or JSON, to edit as text."""
    definition, status, number = _current(db, key)
    return _page(request, "builder_source.html", key=key, status=status, number=number, format=format,
                 title=_title(definition), text=service.dump_definition(definition, format=format))


@router.post("/surveys/{key}/source", include_in_schema=False, dependencies=[Depends(verify_csrf)])
async def save_source(request: Request, key: str, user: Editor, db: DbDep, settings: SettingsDep):
    """Save the survey file as typed, through the same parser and apply as `voxpop survey apply`."""
    form = _fields(await request.form())
    before, status, number = _current(db, key)
    text, action = form.get("definition", ""), form.get("action", "save")
    file_format = form.get("format") if form.get("format") in FORMATS else "yaml"
    again = {"format": file_format, "text": text, "title": _title(before)}
    try:
        definition = service.parse_definition(text, source="the text")
        if definition.key != key:
            raise SurveyFileError("the text", [("key", f"the text says key {definition.key!r}, but this page edits "
                                                       f"{key!r}; to make another survey, copy it on the New survey page")])
    except SurveyFileError as error:
        return _page(request, "builder_source.html", key=key, status=status, number=number, status_code=400,
                     problems=error.problems, **again)
    shown = _save(request, db=db, settings=settings, user=user, definition=definition, before=before, status=status,
                  number=number, publish=action in ("publish", "confirm-publish"),
                  confirmed=action.startswith("confirm"), again=again)
    if isinstance(shown, dict):
        return _page(request, "builder_source.html", key=key, status=status, number=number, **shown)
    return shown


# Translations side by side

def _translate_page(request: Request, *, key: str, status: str, number: int, draft: dict,
                    problems: list[tuple[str, str]] | None = None, status_code: int = 200, **context: Any):
    rows = builder.text_rows(draft)
    missing = builder.missing_texts(rows)
    return _page(request, "builder_translate.html", key=key, status=status, number=number, status_code=status_code,
                 rows=rows, languages=builder.languages_of(draft), missing=missing, cell_id=builder.cell_id,
                 title=text_in(draft.get("title"), builder.languages_of(draft)[0], builder.languages_of(draft)[0]),
                 problems=builder.problem_list(problems or [], draft), **context)


@router.get("/surveys/{key}/translate", include_in_schema=False)
def translate_page(request: Request, key: str, user: Editor, db: DbDep):
    """Every text of the survey in a row, one column per language, the missing ones marked."""
    definition, status, number = _current(db, key)
    return _translate_page(request, key=key, status=status, number=number, draft=builder.draft_of(definition))


@router.post("/surveys/{key}/translate", include_in_schema=False, dependencies=[Depends(verify_csrf)])
async def translate(request: Request, key: str, user: Editor, db: DbDep, settings: SettingsDep):
    """Add a language, or save the texts, through the same parser and apply as every other save."""
    form = _fields(await request.form())
    before, status, number = _current(db, key)
    languages = builder.split_names(form.get("languages", "")) or before.languages
    added = builder.split_names(form.get("add_language", ""))
    languages += [language for language in added if language not in languages]
    texts = {(name.split("|")[1], name.split("|")[2]): value for name, value in form.items()
             if name.startswith("text|") and name.count("|") == 2}
    draft = builder.with_texts(builder.draft_of(before), texts, languages)
    action = form.get("action", "add")
    if action == "add":
        return _translate_page(request, key=key, status=status, number=number, draft=draft)
    try:
        definition = builder.validated(draft)
    except SurveyFileError as error:
        return _translate_page(request, key=key, status=status, number=number, draft=draft, problems=error.problems,
                               status_code=400)
    shown = _save(request, db=db, settings=settings, user=user, definition=definition, before=before, status=status,
                  number=number, publish=False, confirmed=action == "confirm-save", again={})
    if isinstance(shown, dict):
        return _translate_page(request, key=key, status=status, number=number, draft=draft, **shown)
    return shown
