"""The codebook page: read the themes, edit them as YAML with a preview, accept discovered themes; and its API.

Every member of staff may read the codebook and its proposals; admins and managers change it. A change is a new
version (text/codebooks.py), written to the audit log; the comments are re-tagged in the background.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection

from voxpop.accounts import service as accounts
from voxpop.accounts.models import User
from voxpop.text.codebook import CodebookError, add_theme, codebook_from_yaml, walk
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
from voxpop.text.labels import as_sentence, theme_choices, theme_labels
from voxpop.text.schemas import (
    DEFINITION_LIMIT,
    CodebookPublic,
    CodebookSavedPublic,
    CodebookThemePublic,
    CodebookVersionCreate,
    CodebookVersionPublic,
    ThemeProposalPublic,
    ThemeProposalsPublic,
)
from voxpop.text.service import count_retag
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep, client_address, require_role, verify_csrf
from voxpop.web.problems import problem, problem_responses
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter()  # the JSON twins, under the app's /api/v1 prefix
CODEBOOK_EDITORS = ("admin", "manager")
Editor = Annotated[User, Depends(require_role(*CODEBOOK_EDITORS))]
METHODS = ("nmf", "embeddings")


def codebook_state(connection: Connection) -> CodebookPublic:
    """The codebook in use, its themes as a tree, its history, and how many comments still await re-tagging."""
    stored = current_codebook(connection)
    newest_version, newest_definition = stored.editing
    return CodebookPublic(
        version=stored.version, definition=stored.definition, note=stored.note, newest_version=newest_version,
        newest_definition=newest_definition, problem=stored.problem, saved_by=stored.saved_by,
        saved_at=stored.saved_at,
        history=[CodebookVersionPublic.model_validate(row) for row in codebook_history(connection)],
        retag_pending=count_retag(connection, stored.version),
        themes=[CodebookThemePublic(key=theme.key, label=theme.label, description=theme.description,
                                    depth=theme.key.count(".")) for theme in walk(stored.codebook.themes)])


def _page(request: Request, user: User, db, *, status: int = 200, **extra):
    with db.read_connection() as connection:
        state = codebook_state(connection)
    context = {"state": state, "can_edit": user.role in CODEBOOK_EDITORS, "draft": None, "error": None,
               "preview": None, "preview_labels": {}, "note": "", "saved": None, "error_title": None,
               "base_version": state.newest_version} | extra
    if context["error"]:
        context["error"] = as_sentence(context["error"])
    return render(request, "text/codebook.html", context, status_code=status)


def _save(request: Request, db, settings, user: User, definition: str, base_version: int, note: str,
          action: str = "codebook.save") -> CodebookSavedPublic:
    with db.write() as db_session:
        version = save_codebook(db_session, definition, base_version=base_version, note=note, user_id=user.id)
        accounts.audit(db_session=db_session, actor=user, action=action, target=str(version),
                       client=client_address(request, settings), note=note[:500])
    return CodebookSavedPublic(version=version)


@router.get("/codebook", include_in_schema=False)
def codebook_page(request: Request, user: CurrentUser, db: DbDep,
                  saved: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
                  load: Annotated[int | None, Query(ge=0, le=2**31 - 1, description="An earlier version to edit")] = None):
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
                  definition: Annotated[str, Form(max_length=DEFINITION_LIMIT)],
                  base_version: Annotated[int, Form(ge=0)],
                  note: Annotated[str, Form(max_length=500)] = "",
                  action: Annotated[str, Form(max_length=16)] = "preview"):
    """Preview the draft against the latest comments, or save it as the next version."""
    kept = {"draft": definition, "note": note, "base_version": base_version}
    try:
        if action == "save":  # save_codebook checks the draft itself
            saved = _save(request, db, settings, user, definition, base_version, note)
            return RedirectResponse(f"/codebook?saved={saved.version}", status_code=303)
        draft = codebook_from_yaml(definition)
    except CodebookConflict as exc:
        return _page(request, user, db, status=409, error=str(exc), **kept)
    except CodebookError as exc:
        return _page(request, user, db, status=400, error=str(exc), **kept)
    with db.read_connection() as connection:
        preview = preview_codebook(connection, draft)
        labels = theme_labels(current_codebook(connection).codebook) | theme_labels(draft)
    return _page(request, user, db, preview=preview, preview_labels=labels, **kept)


class NoProposals(ValueError):
    """Discovery cannot run as asked, said in a sentence."""


def _suggested_key(terms: tuple[str, ...]) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", terms[0].lower()).strip("_")[:40] if terms else ""
    return key or "new_theme"


def theme_proposals(db, *, method: str, themes: int) -> ThemeProposalsPublic:
    """Themes proposed from the latest comments no theme covers; NoProposals when the method cannot run."""
    if method not in METHODS:
        raise NoProposals(f"method must be nmf or embeddings, not {method!r}")
    with db.read_connection() as connection:
        comments = untagged_comments(connection)
    try:
        found = propose_themes(comments, themes=themes, method=method)
    except EmbeddingsUnavailable as exc:
        raise NoProposals(str(exc)) from None
    return ThemeProposalsPublic(searched_comments=len(comments), proposals=[
        ThemeProposalPublic(terms=list(proposal.terms), size=proposal.size, examples=list(proposal.examples),
                            suggested_key=_suggested_key(proposal.terms)) for proposal in found])


Method = Annotated[str, Query(max_length=16, description="nmf, or embeddings with the voxpop[embeddings] extra.")]
Count = Annotated[int, Query(ge=2, le=20, description="How many themes to look for.")]


@router.get("/codebook/proposals", include_in_schema=False)
def proposals_page(request: Request, user: CurrentUser, db: DbDep, method: Method = "nmf", themes: Count = 8):
    found, error = ThemeProposalsPublic(searched_comments=0, proposals=[]), None
    try:
        found = theme_proposals(db, method=method, themes=themes)
    except NoProposals as exc:
        error = ("method", as_sentence(str(exc).replace("method must be nmf or embeddings",
                                                     "the method must be TF-IDF + NMF or embeddings")))
    with db.read_connection() as connection:
        stored = current_codebook(connection)
    return render(request, "text/codebook_proposals.html", {
        "error": error, "found": found, "method": method, "count": themes,
        "parents": theme_choices(stored.codebook), "version": stored.editing[0],
        "can_edit": user.role in CODEBOOK_EDITORS,
    }, status_code=400 if error else 200)


@api.get("/codebook/proposals", tags=["staff"], response_model=ThemeProposalsPublic,
         responses=problem_responses(401, 422))
def proposals_json(request: Request, user: CurrentUser, db: DbDep, method: Method = "nmf", themes: Count = 8):
    """Themes proposed from the latest comments no theme covers: top terms, size and typical comments."""
    try:
        return theme_proposals(db, method=method, themes=themes)
    except NoProposals as exc:
        code = "invalid-method" if method not in METHODS else "embeddings-unavailable"
        return problem(422, as_sentence(str(exc)), code=code, instance=request.url.path)


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
        saved = _save(request, db, settings, user, updated, base_version, note, action="codebook.accept")
    except CodebookError as exc:
        return render(request, "text/codebook_accept.html", {
            "error": as_sentence(str(exc)), "key": key, "label": label, "phrases": phrases, "parent": parent,
            "terms": terms, "parents": theme_choices(stored.codebook), "version": stored.editing[0],
        }, status_code=409 if isinstance(exc, CodebookConflict) else 400)
    return RedirectResponse(f"/codebook?saved={saved.version}", status_code=303)


@api.get("/codebook", tags=["staff"], response_model=CodebookPublic, responses=problem_responses(401))
def codebook_json(user: CurrentUser, db: DbDep):
    """The codebook in use: its version, YAML definition and themes, its saved versions, and how many comments
    still wait to be re-tagged with it."""
    with db.read_connection() as connection:
        return codebook_state(connection)


@api.put("/codebook", tags=["staff"], dependencies=[Depends(verify_csrf)],
         response_model=CodebookSavedPublic, responses=problem_responses(400, 401, 403, 409, 413, 422))
def codebook_put(request: Request, user: Editor, db: DbDep, settings: SettingsDep, edit: CodebookVersionCreate):
    """Save a new codebook version (admins and managers; send the CSRF token in X-CSRF-Token). Comments are
    re-tagged with it in the background."""
    try:
        return _save(request, db, settings, user, edit.definition, edit.base_version, edit.note)
    except CodebookConflict as exc:
        return problem(409, as_sentence(str(exc)), code="codebook-conflict", instance=request.url.path)
    except CodebookError as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-codebook", instance=request.url.path)


# Until web/app.py mounts `api` under its API_PREFIX with the other domains' JSON routes, the page router carries
# it there (the layers keep web.app out of reach here, hence the literal).
