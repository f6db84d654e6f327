"""The codebook page: read the themes, edit them as YAML with a preview, accept discovered themes; and its API.

Every member of staff may read the codebook and its proposals; admins and managers change it. A change is a new
version (text/codebooks.py), written to the audit log; the comments are re-tagged in the background.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from voxpop.accounts import service as accounts
from voxpop.accounts.models import User
from voxpop.text.codebook import (
    MAX_CODEBOOK_CHARS,
    CodebookError,
    add_theme,
    codebook_from_yaml,
    walk,
)
from voxpop.text.codebooks import (
    CodebookConflict,
    codebook_definition,
    codebook_history,
    current_codebook,
    preview_codebook,
    save_codebook,
    untagged_comments,
)
from voxpop.text.discovery import propose_themes
from voxpop.text.embeddings import EmbeddingsUnavailable
from voxpop.text.service import count_retag
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
CODEBOOK_EDITORS = ("admin", "manager")
Editor = Annotated[User, Depends(require_role(*CODEBOOK_EDITORS))]
# A backstop for the form field (FastAPI answers 422 above it); the codebook's own, lower limit gives the sentence.
FIELD_LIMIT = 2 * MAX_CODEBOOK_CHARS
METHODS = ("nmf", "embeddings")


def _state(db) -> dict[str, Any]:
    """The codebook in use, its themes as a tree, its history, and how many comments still await re-tagging."""
    with db.read_connection() as connection:
        stored = current_codebook(connection)
        return {"stored": stored, "history": codebook_history(connection),
                "retag_pending": count_retag(connection, stored.version),
                "themes": [{"key": theme.key, "label": theme.label, "description": theme.description,
                            "depth": theme.key.count(".")} for theme in walk(stored.codebook.themes)]}


def _page(request: Request, user: User, db, *, status: int = 200, **extra):
    context = _state(db) | {"can_edit": user.role in CODEBOOK_EDITORS, "draft": None, "error": None,
                            "preview": None, "note": "", "saved": None, "error_title": None} | extra
    return render(request, "text/codebook.html", context, status_code=status)


def _save(request: Request, db, settings, user: User, definition: str, base_version: int, note: str,
          action: str = "codebook.save") -> int:
    with db.write() as db_session:
        version = save_codebook(db_session, definition, base_version=base_version, note=note, user_id=user.id)
        accounts.audit(db_session=db_session, actor=user, action=action, target=str(version),
                       client=client_address(request, settings), note=note[:500])
    return version


@router.get("/codebook", include_in_schema=False)
def codebook_page(request: Request, user: CurrentUser, db: DbDep,
                  saved: Annotated[int | None, Query(ge=0)] = None,
                  load: Annotated[int | None, Query(ge=0, description="An earlier version to edit")] = None):
    """The codebook; `load=N` puts version N in the editor, to bring it back by saving it as the next version."""
    if load is None:
        return _page(request, user, db, saved=saved)
    with db.read_connection() as connection:
        earlier = codebook_definition(connection, load)
    if earlier is None:
        return _page(request, user, db, status=404, error_title="No such version",
                     error=f"there is no codebook version {load}; pick one from the list of versions")
    return _page(request, user, db, draft=earlier, note=f"back to version {load}")


@router.post("/codebook", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def codebook_post(request: Request, user: Editor, db: DbDep, settings: SettingsDep,
                  definition: Annotated[str, Form(max_length=FIELD_LIMIT)],
                  base_version: Annotated[int, Form(ge=0)],
                  note: Annotated[str, Form(max_length=500)] = "",
                  action: Annotated[str, Form(max_length=16)] = "preview"):
    """Preview the draft against the latest comments, or save it as the next version."""
    kept = {"draft": definition, "note": note, "base_version": base_version}
    try:
        if action == "save":  # save_codebook checks the draft itself
            version = _save(request, db, settings, user, definition, base_version, note)
            return RedirectResponse(f"/codebook?saved={version}", status_code=303)
        draft = codebook_from_yaml(definition)
    except CodebookConflict as exc:
        return _page(request, user, db, status=409, error=str(exc), **kept)
    except CodebookError as exc:
        return _page(request, user, db, status=400, error=str(exc), **kept)
    with db.read_connection() as connection:
        preview = preview_codebook(connection, draft)
    return _page(request, user, db, preview=preview, **kept)


def _proposals(db, method: str, themes: int) -> tuple[list, int]:
    with db.read_connection() as connection:
        comments = untagged_comments(connection)
    return propose_themes(comments, themes=themes, method=method), len(comments)


def _suggested_key(terms: tuple[str, ...]) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", terms[0].lower()).strip("_")[:40] if terms else ""
    return key or "new_theme"


@router.get("/codebook/proposals", include_in_schema=False)
def proposals_page(request: Request, user: CurrentUser, db: DbDep,
                   method: Annotated[str, Query(max_length=16)] = "nmf",
                   themes: Annotated[int, Query(ge=2, le=20)] = 8):
    error, proposals, searched = None, [], 0
    if method not in METHODS:
        error = f"method must be nmf or embeddings, not {method!r}"
    else:
        try:
            proposals, searched = _proposals(db, method, themes)
        except EmbeddingsUnavailable as exc:
            error = str(exc)
    with db.read_connection() as connection:
        stored = current_codebook(connection)
    return render(request, "text/codebook_proposals.html", {
        "error": error, "searched": searched, "method": method,
        "proposals": [{"proposal": proposal, "key": _suggested_key(proposal.terms)} for proposal in proposals],
        "parents": stored.codebook.keys(), "version": stored.editing[0], "can_edit": user.role in CODEBOOK_EDITORS,
        "count": themes,
    }, status_code=400 if error else 200)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in re.split(r"[\n,]", text) if line.strip()]


@router.post("/codebook/themes", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def accept_theme(request: Request, user: Editor, db: DbDep, settings: SettingsDep,
                 key: Annotated[str, Form(max_length=60)], base_version: Annotated[int, Form(ge=0)],
                 phrases: Annotated[str, Form(max_length=5000)] = "",
                 label: Annotated[str, Form(max_length=200)] = "",
                 parent: Annotated[str, Form(max_length=200)] = "",
                 terms: Annotated[str, Form(max_length=2000)] = ""):
    """Accept a discovery proposal, as the person edited it, into the codebook as a new version."""
    definition = {"key": key.strip(), **({"label": label.strip()} if label.strip() else {}),
                  "phrases": _lines(phrases)}
    where = f" under {parent}" if parent else ""
    note = f"accepted the discovered theme {key.strip()}{where} (top terms: {terms[:300]})"
    with db.read_connection() as connection:
        stored = current_codebook(connection)
    try:
        if not definition["phrases"]:
            raise CodebookError("give the theme at least one phrase, one per line")
        updated = add_theme(stored.editing[1], definition, parent or None)
        version = _save(request, db, settings, user, updated, base_version, note, action="codebook.accept")
    except CodebookError as exc:
        return render(request, "text/codebook_accept.html", {
            "error": str(exc), "key": key, "label": label,
            "phrases": phrases, "parent": parent, "terms": terms, "parents": stored.codebook.keys(),
            "version": stored.editing[0]}, status_code=409 if isinstance(exc, CodebookConflict) else 400)
    return RedirectResponse(f"/codebook?saved={version}", status_code=303)


@router.get("/api/v1/codebook", tags=["staff"])
def codebook_json(user: CurrentUser, db: DbDep) -> dict[str, Any]:
    """The codebook in use: its version, YAML definition and themes, its saved versions, and how many comments
    still wait to be re-tagged with it."""
    state = _state(db)
    stored = state.pop("stored")
    return {"version": stored.version, "definition": stored.definition, "note": stored.note,
            "newest_version": stored.editing[0], "newest_definition": stored.editing[1], "problem": stored.problem,
            "saved_by": stored.saved_by, "saved_at": stored.saved_at.isoformat() if stored.saved_at else None,
            **state}


@router.put("/api/v1/codebook", tags=["staff"], dependencies=[Depends(verify_csrf)])
def codebook_put(request: Request, user: Editor, db: DbDep, settings: SettingsDep,
                 definition: Annotated[str, Body(max_length=FIELD_LIMIT, description="The codebook as YAML.")],
                 base_version: Annotated[int, Body(ge=0, description="The version this edit started from: "
                                                                     "newest_version from GET; if a newer one was "
                                                                     "saved since, 409.")],
                 note: Annotated[str, Body(max_length=500, description="What changed and why.")] = ""):
    """Save a new codebook version (admins and managers; send the CSRF token in X-CSRF-Token). Comments are
    re-tagged with it in the background."""
    try:
        version = _save(request, db, settings, user, definition, base_version, note)
    except CodebookConflict as exc:
        return problem(409, str(exc), code="codebook-conflict", instance=request.url.path)
    except CodebookError as exc:
        return problem(422, str(exc), code="invalid-codebook", instance=request.url.path)
    return {"version": version}


@router.get("/api/v1/codebook/proposals", tags=["staff"])
def proposals_json(request: Request, user: CurrentUser, db: DbDep,
                   method: Annotated[str, Query(max_length=16, description="nmf, or embeddings with the "
                                                                           "voxpop[embeddings] extra.")] = "nmf",
                   themes: Annotated[int, Query(ge=2, le=20, description="How many themes to look for.")] = 8):
    """Themes proposed from the latest comments no theme covers: top terms, size and typical comments."""
    if method not in METHODS:
        return problem(422, f"method must be nmf or embeddings, not {method!r}", code="invalid-method",
                       instance=request.url.path)
    try:
        proposals, searched = _proposals(db, method, themes)
    except EmbeddingsUnavailable as exc:
        return problem(422, str(exc), code="embeddings-unavailable", instance=request.url.path)
    return {"searched_comments": searched, "proposals": [
        {"terms": list(proposal.terms), "size": proposal.size, "examples": list(proposal.examples),
         "suggested_key": _suggested_key(proposal.terms)} for proposal in proposals]}
