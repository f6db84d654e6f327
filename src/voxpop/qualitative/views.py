"""Qualitative sources' pages: a focus group or interview, its turns, and each theme across surveys and sessions.

Every page and its JSON twin are filled by one data function returning the twin's schema. Turns are shown redacted,
and escaped like every customer text.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection, select

from voxpop.accounts import service as accounts
from voxpop.accounts.models import User
from voxpop.core.estimates import Estimate
from voxpop.core.wording import as_sentence
from voxpop.qualitative import service, voices
from voxpop.qualitative.models import Turn
from voxpop.qualitative.schemas import (
    EstimatePublic,
    ParticipantPublic,
    QuotePublic,
    SessionPublic,
    SessionThemePublic,
    SessionVoicesPublic,
    SourceImportPublic,
    SourceListPublic,
    SourcePublic,
    SurveyVoicesPublic,
    ThemeAcrossPublic,
    ThemesAcrossPublic,
    ThemeVoicesPublic,
    TurnCorrectionCreate,
    TurnCorrectionPublic,
    TurnPublic,
    TurnThemePublic,
)
from voxpop.qualitative.transcripts import MAX_TRANSCRIPT_BYTES
from voxpop.text.codebook import Codebook
from voxpop.text.codebooks import current_codebook
from voxpop.text.labels import SENTIMENT_WORDS, theme_choices, theme_label, theme_labels
from voxpop.text.pipeline import LANGUAGE_NAMES
from voxpop.text.views import THEME_EDITORS
from voxpop.text.views import _comment as comment_public
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep, client_address, require_role, verify_csrf
from voxpop.web.problems import problem, problem_responses
from voxpop.web.templating import render
from voxpop.web.uploads import upload_name

router = APIRouter()
api = APIRouter()  # the JSON twins, under the app's /api/v1 prefix
IMPORTERS = ("admin", "manager", "analyst")
KIND_WORDS = {"focus_group": "Focus group", "interview": "Interview"}
Importer = Annotated[User, Depends(require_role(*IMPORTERS))]
ThemeEditor = Annotated[User, Depends(require_role(*THEME_EDITORS))]
SourceKey = Annotated[str, Path(max_length=64)]
ThemeKey = Annotated[str, Path(max_length=200, description="Codebook theme key, e.g. delivery.late.")]
TurnId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The turn's id (TurnPublic.id).")]
FORM_FIELDS = ("file", "kind", "title", "held_on", "moderator", "participants", "notes")


# -- data ---------------------------------------------------------------------------------------------------------

def _source(summary: voices.SourceSummary) -> SourcePublic:
    return SourcePublic(key=summary.key, kind=summary.kind, title=summary.title, held_on=summary.held_on,
                        moderator=summary.moderator, participants=summary.participants, turns=summary.turns,
                        file_name=summary.file_name, file_format=summary.file_format,
                        imported_at=summary.imported_at, imported_by=summary.imported_by)


def source_list(connection: Connection) -> SourceListPublic:
    return SourceListPublic(sources=[_source(row) for row in voices.list_sources(connection)])


def session_detail(connection: Connection, key: str, *, theme: str | None, speaker: str | None,
                   codebook: Codebook) -> SessionPublic:
    found = voices.session(connection, key, theme=theme or None, speaker=speaker or None,
                           codebook_version=current_codebook(connection).version)
    labels = theme_labels(codebook)
    source = found.source
    people = [person for person in found.participants if person.role == "participant"]
    summary = voices.SourceSummary(source.key, source.kind, source.title, source.held_on, source.moderator,
                                   len(people), found.total_turns, source.file_name, source.file_format,
                                   source.imported_at, found.imported_by)
    return SessionPublic(
        source=_source(summary), notes=source.notes,
        participants=[ParticipantPublic(label=person.label, role=person.role, customer=person.customer,
                                        segment=person.segment, turns=person.turns) for person in found.participants],
        themes=[SessionThemePublic(theme=key, label=theme_label(labels, key), turns=count)
                for key, count in found.theme_counts.items()],
        total_turns=found.total_turns, outdated_turns=found.outdated_turns,
        turns=[TurnPublic(
            id=turn.id, position=turn.position, speaker=turn.speaker, role=turn.role, start_seconds=turn.start,
            end_seconds=turn.end, text=turn.text, language=turn.language, sentiment_score=turn.sentiment_score,
            sentiment_label=turn.sentiment_label, no_sentiment_reason=turn.no_sentiment_reason,
            personal_data_redacted=list(turn.personal_data),
            themes=[TurnThemePublic(theme=tag.theme, label=theme_label(labels, tag.theme),
                                    matches=[tuple(match) for match in tag.matches], source=tag.source)
                    for tag in turn.themes]) for turn in found.turns])


def _estimate(estimate: Estimate) -> EstimatePublic:
    return EstimatePublic(value=estimate.value, ci_low=estimate.ci_low, ci_high=estimate.ci_high, n=estimate.n,
                          low_base=estimate.low_base, confidence=estimate.confidence)


class UnknownTheme(LookupError):
    """A theme key the codebook in use does not have."""


def theme_voices(connection: Connection, theme: str, *, min_base: int, zone: str) -> ThemeVoicesPublic:
    """One theme in the survey comments (count, share, latest examples) and in the sessions (who said what)."""
    codebook = current_codebook(connection).codebook
    keys = codebook.keys()
    if theme not in keys:
        raise UnknownTheme(f"there is no theme {theme!r} in the codebook; see the themes page for the ones there are")
    labels = theme_labels(codebook)
    surveys = voices.survey_side(connection, theme, keys, min_base=min_base, zone=zone)
    sessions = voices.session_side(connection, theme)
    return ThemeVoicesPublic(
        theme=theme, label=theme_label(labels, theme),
        surveys=SurveyVoicesPublic(analysed_comments=surveys.analysed, comments=surveys.mentioning,
                                   share=_estimate(surveys.share), sentiment=surveys.sentiment,
                                   examples=[comment_public(verbatim, labels) for verbatim in surveys.examples]),
        sessions=SessionVoicesPublic(
            sessions=sessions.sessions, all_sessions=sessions.all_sessions, participants=sessions.participants,
            all_participants=sessions.all_participants, turns=sessions.turns, sentiment=sessions.sentiment,
            quotes=[QuotePublic(turn_id=quote.turn_id, text=quote.text, speaker=quote.speaker, customer=quote.customer,
                                segment=quote.segment, sentiment_label=quote.sentiment_label,
                                start_seconds=quote.start, source=quote.source_key, source_title=quote.source_title,
                                kind=quote.kind, held_on=quote.held_on, position=quote.position,
                                themes=list(quote.themes)) for quote in sessions.quotes]))


def themes_across(connection: Connection, *, min_base: int) -> ThemesAcrossPublic:
    codebook = current_codebook(connection).codebook
    labels = theme_labels(codebook)
    rows = voices.themes_across(connection, codebook.keys(), min_base=min_base)
    sources = voices.list_sources(connection)
    return ThemesAcrossPublic(
        analysed_comments=voices.analysed_comments(connection), all_sessions=len(sources),
        all_participants=sum(source.participants for source in sources),
        themes=[ThemeAcrossPublic(theme=row.theme, label=theme_label(labels, row.theme), comments=row.comments,
                                  share=_estimate(row.share), turns=row.turns, participants=row.participants,
                                  sessions=row.sessions, heard_in=row.heard_in) for row in rows])


# -- the list and the import --------------------------------------------------------------------------------------

def _audit(db, request: Request, settings, user: User, action: str, target: str, **details) -> None:
    with db.write() as db_session:
        accounts.audit(db_session=db_session, actor=user, action=action, target=target,
                       client=client_address(request, settings), **details)


def _held_on(text: str) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise service.SourceRefused(f"the date must be a day such as 2026-11-20, not {text!r}",
                                    field="held_on") from None


def run_import(db, *, upload: UploadFile, kind: str, title: str, held_on: str, moderator: str, participants: str,
               notes: str, user: User) -> SourceImportPublic:
    """Read the upload and import it in one transaction; SourceRefused names the field that settles a refusal."""
    day = _held_on(held_on)
    links = service.parse_participants(participants.splitlines())
    data = upload.file.read(MAX_TRANSCRIPT_BYTES + 1) if upload is not None else b""
    if not data:
        raise service.SourceRefused("choose the transcript file (.txt, .vtt, .srt or .docx)", field="file")
    with db.write() as db_session:
        imported = service.import_transcript(db_session, data=data, filename=upload_name(upload.filename, ""), kind=kind,
                                             title=title, held_on=day, moderator=moderator, participants=links,
                                             user=user, notes=notes)
    return SourceImportPublic(**imported.__dict__)


def _list_page(request: Request, user: User, db, settings, *, status: int = 200, error: str | None = None,
               field: str | None = None, form: dict | None = None):
    with db.read_connection() as connection:
        listed = source_list(connection)
    return render(request, "qualitative/sources.html", {
        "listed": listed, "kinds": list(KIND_WORDS.items()), "kind_words": KIND_WORDS,
        "can_import": user.role in IMPORTERS, "error": (field, error) if error and field in FORM_FIELDS else error,
        "field_error": {field: error} if error and field else {},
        "form": form or {"kind": "focus_group", "title": "", "held_on": "", "moderator": "", "participants": "",
                         "notes": ""},
        # A page's upload is bounded by the request body limit too (VOXPOP_MAX_BODY_BYTES).
        "max_bytes": min(MAX_TRANSCRIPT_BYTES, settings.max_body_bytes),
    }, status_code=status)


@router.get("/sources", include_in_schema=False)
def sources_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep):
    return _list_page(request, user, db, settings)


@api.get("/sources", tags=["staff"], response_model=SourceListPublic, responses=problem_responses(401))
def sources_json(user: CurrentUser, db: DbDep):
    """Every focus group and interview, latest session first."""
    with db.read_connection() as connection:
        return source_list(connection)


@router.post("/sources", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def import_page(request: Request, user: Importer, db: DbDep, settings: SettingsDep,
                file: Annotated[UploadFile | None, File()] = None,
                kind: Annotated[str, Form(max_length=32)] = "",
                title: Annotated[str, Form(max_length=1000)] = "",
                held_on: Annotated[str, Form(max_length=32)] = "",
                moderator: Annotated[str, Form(max_length=200)] = "",
                participants: Annotated[str, Form(max_length=20_000)] = "",
                notes: Annotated[str, Form(max_length=service.MAX_NOTES)] = ""):
    form = {"kind": kind, "title": title, "held_on": held_on, "moderator": moderator, "participants": participants,
            "notes": notes}
    try:
        imported = run_import(db, upload=file, kind=kind, title=title, held_on=held_on, moderator=moderator,
                              participants=participants, notes=notes, user=user)
    except service.SourceRefused as exc:
        return _list_page(request, user, db, settings, status=400, error=as_sentence(str(exc)), field=exc.field, form=form)
    _audit(db, request, settings, user, "source.import", imported.key, file=upload_name(file.filename, ""), turns=imported.turns)
    return RedirectResponse(f"/sources/{imported.key}", status_code=303)


@api.post("/sources", tags=["staff"], dependencies=[Depends(verify_csrf)], status_code=201,
          response_model=SourceImportPublic, responses=problem_responses(401, 403, 413, 422))
def import_json(request: Request, user: Importer, db: DbDep, settings: SettingsDep,
                file: Annotated[UploadFile | None, File(description="The transcript: .txt, .vtt, .srt or .docx.")] = None,
                kind: Annotated[str, Form(max_length=32, description="focus_group or interview.")] = "",
                title: Annotated[str, Form(max_length=1000)] = "",
                held_on: Annotated[str, Form(max_length=32, description="The session's day, e.g. 2026-11-20.")] = "",
                moderator: Annotated[str, Form(max_length=200, description="The moderator's speaker label.")] = "",
                participants: Annotated[str, Form(max_length=20_000, description="One per line: Label=CUSTOMER-ID or "
                                                                                  "Label=segment:NAME.")] = "",
                notes: Annotated[str, Form(max_length=service.MAX_NOTES)] = ""):
    """Import a transcript as a qualitative source (multipart form with csrf_token, or X-CSRF-Token). Turns are
    redacted and analysed like comments; a refused import stores nothing and names the field."""
    try:
        imported = run_import(db, upload=file, kind=kind, title=title, held_on=held_on, moderator=moderator,
                              participants=participants, notes=notes, user=user)
    except service.SourceRefused as exc:
        return problem(422, as_sentence(str(exc)), code="source-refused", instance=request.url.path,
                       errors=[{"field": exc.field, "message": as_sentence(str(exc))}])
    _audit(db, request, settings, user, "source.import", imported.key, file=upload_name(file.filename, ""), turns=imported.turns)
    return imported


# -- the qualitative view (declared before /sources/{key}: "themes" is no source key, keys begin with a date) ----

def _across_page(request, db, settings):
    with db.read_connection() as connection:
        across = themes_across(connection, min_base=settings.min_base)
    return render(request, "qualitative/themes.html", {"across": across, "min_base": settings.min_base})


@router.get("/sources/themes", include_in_schema=False)
def across_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep):
    return _across_page(request, db, settings)


@api.get("/sources/themes", tags=["staff"], response_model=ThemesAcrossPublic, responses=problem_responses(401))
def across_json(user: CurrentUser, db: DbDep, settings: SettingsDep):
    """Every theme that comes up in survey comments or sessions: comments and their share, and the turns,
    participants and sessions that raised it; most participants first."""
    with db.read_connection() as connection:
        return themes_across(connection, min_base=settings.min_base)


@router.get("/themes/{theme}/voices", include_in_schema=False)
def voices_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, theme: ThemeKey):
    with db.read_connection() as connection:
        try:
            found = theme_voices(connection, theme, min_base=settings.min_base, zone=settings.timezone)
        except UnknownTheme as exc:
            return render(request, "error.html", {"status": 404, "title": "No such theme",
                                                  "detail": as_sentence(str(exc))}, status_code=404)
    return render(request, "qualitative/voices.html", {
        "found": found, "min_base": settings.min_base, "kind_words": KIND_WORDS, "sentiment_words": SENTIMENT_WORDS,
        "timezone": settings.timezone, "languages": LANGUAGE_NAMES,
        "json_href": f"/api/v1/themes/{theme}/voices"})


@api.get("/themes/{theme}/voices", tags=["staff"], response_model=ThemeVoicesPublic,
         responses=problem_responses(401, 404))
def voices_json(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, theme: ThemeKey):
    """One theme across the survey comments (count, share with its interval, the latest examples) and the focus
    groups and interviews (who raised it, in which session, in their words)."""
    with db.read_connection() as connection:
        try:
            return theme_voices(connection, theme, min_base=settings.min_base, zone=settings.timezone)
        except UnknownTheme as exc:
            return problem(404, as_sentence(str(exc)), code="unknown-theme", instance=request.url.path)


# -- one session ----------------------------------------------------------------------------------------------

@router.get("/sources/{key}", include_in_schema=False)
def source_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, key: SourceKey,
                theme: Annotated[str, Query(max_length=200)] = "",
                speaker: Annotated[str, Query(max_length=200)] = ""):
    with db.read_connection() as connection:
        codebook = current_codebook(connection).codebook
        try:
            found = session_detail(connection, key, theme=theme, speaker=speaker, codebook=codebook)
        except voices.UnknownSource as exc:
            return render(request, "error.html", {"status": 404, "title": "No such source",
                                                  "detail": as_sentence(str(exc))}, status_code=404)
    query = urlencode([(name, value) for name, value in (("theme", theme), ("speaker", speaker)) if value])
    return render(request, "qualitative/source.html", {
        "found": found, "kind_words": KIND_WORDS, "sentiment_words": SENTIMENT_WORDS, "languages": LANGUAGE_NAMES,
        "themes": theme_choices(codebook), "theme": theme, "speaker": speaker,
        "speakers": [(person.label, person.label) for person in found.participants],
        "filtered": bool(theme or speaker), "here": f"/sources/{key}" + (f"?{query}" if query else ""),
        "json_href": f"/api/v1/sources/{key}" + (f"?{query}" if query else ""),
        "can_correct": user.role in THEME_EDITORS, "can_delete": user.role in ("admin", "manager"),
    })


@api.get("/sources/{key}", tags=["staff"], response_model=SessionPublic, responses=problem_responses(401, 404))
def source_json(request: Request, user: CurrentUser, db: DbDep, key: SourceKey,
                theme: Annotated[str, Query(max_length=200, description="Theme key; includes its sub-themes.")] = "",
                speaker: Annotated[str, Query(max_length=200, description="A speaker's label.")] = ""):
    """One focus group or interview: its participants, its themes and its turns (redacted), optionally only those
    on a theme or by one speaker."""
    with db.read_connection() as connection:
        try:
            return session_detail(connection, key, theme=theme, speaker=speaker,
                                  codebook=current_codebook(connection).codebook)
        except voices.UnknownSource as exc:
            return problem(404, as_sentence(str(exc)), code="unknown-source", instance=request.url.path)


class RefusedCorrection(ValueError):
    """A turn's theme correction that cannot be recorded."""


def record_correction(request: Request, db, settings, user: User, key: str, turn_id: int,
                      correction: TurnCorrectionCreate) -> TurnCorrectionPublic:
    """Record a person's correction of one theme of one turn, in the audit log too."""
    with db.read_connection() as connection:
        codebook = current_codebook(connection).codebook
    if correction.theme not in codebook.keys():
        raise RefusedCorrection(f"there is no theme {correction.theme!r} in the codebook; choose one of "
                                f"{', '.join(codebook.keys())}")
    with db.write() as db_session:
        turn = db_session.scalar(select(Turn).join(voices.QualitativeSource,
                                                   voices.QualitativeSource.id == Turn.source_id)
                                 .where(Turn.id == turn_id, voices.QualitativeSource.key == key))
        if turn is None:
            raise RefusedCorrection(f"source {key} has no turn {turn_id}; it may have been deleted")
        service.correct_turn_theme(db_session, turn_id=turn_id, theme=correction.theme, present=correction.present,
                                   user_id=user.id)
        accounts.audit(db_session=db_session, actor=user, action="source.turn.theme", target=f"{key}/{turn_id}",
                       client=client_address(request, settings), theme=correction.theme, present=correction.present)
    return TurnCorrectionPublic(turn_id=turn_id, theme=correction.theme, present=correction.present,
                                label=theme_label(theme_labels(codebook), correction.theme))


@router.post("/sources/{key}/turns/{turn_id}/themes", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def correct_page(request: Request, key: SourceKey, turn_id: TurnId, user: ThemeEditor, db: DbDep, settings: SettingsDep,
                 theme: Annotated[str, Form(max_length=200)], present: Annotated[bool, Form()],
                 back: Annotated[str, Form(max_length=2000)] = ""):
    try:
        record_correction(request, db, settings, user, key, turn_id, TurnCorrectionCreate(theme=theme, present=present))
    except RefusedCorrection as exc:
        return render(request, "error.html", {"status": 400, "title": "Not corrected", "detail": as_sentence(str(exc))},
                      status_code=400)
    # Only back to this source's page, never to another site.
    page = f"/sources/{key}"
    target = back if back == page or back.startswith(page + "?") else page
    return RedirectResponse(f"{target}#turn-{turn_id}", status_code=303)


@api.post("/sources/{key}/turns/{turn_id}/themes", tags=["staff"], dependencies=[Depends(verify_csrf)],
          response_model=TurnCorrectionPublic, responses=problem_responses(401, 403, 422))
def correct_json(request: Request, key: SourceKey, turn_id: TurnId, user: ThemeEditor, db: DbDep, settings: SettingsDep,
                 correction: TurnCorrectionCreate):
    """Correct one theme of one turn (send the CSRF token in X-CSRF-Token); kept when the turn is analysed again."""
    try:
        return record_correction(request, db, settings, user, key, turn_id, correction)
    except RefusedCorrection as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-correction", instance=request.url.path)


@router.post("/sources/{key}/delete", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def delete_page(request: Request, key: SourceKey, user: Annotated[User, Depends(require_role("admin", "manager"))],
                db: DbDep, settings: SettingsDep):
    with db.write() as db_session:
        deleted = service.delete_source(db_session, key)
        if deleted:
            accounts.audit(db_session=db_session, actor=user, action="source.delete", target=key,
                           client=client_address(request, settings))
    if not deleted:
        return render(request, "error.html", {"status": 404, "title": "No such source",
                                              "detail": f"There is no source {key}; it may have been deleted."},
                      status_code=404)
    return RedirectResponse("/sources", status_code=303)
