"""The upload page for staff (admin, manager) and its API twin: the same import as `voxpop import responses`."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from voxpop.accounts import service as accounts
from voxpop.accounts.models import User
from voxpop.imports.formats import ImportFileError, layout_name, open_export
from voxpop.imports.mapping import describe, detect_mapping
from voxpop.imports.merges import MergeError, merge_option, mergeable_questions, undo_merge
from voxpop.imports.samples import sample_table
from voxpop.imports.schemas import (
    MergeableQuestionPublic,
    OptionMergeCreate,
    OptionMergePublic,
    OptionMergeUndo,
    ResponsesImportPublic,
    SurveyMergesPublic,
    TransactionsImportPublic,
)
from voxpop.imports.service import QUESTION_ROLES, import_responses
from voxpop.surveys import service as surveys
from voxpop.surveys.models import Survey
from voxpop.surveys.views import SURVEY_EDITORS
from voxpop.web.auth import (
    DbDep,
    SettingsDep,
    client_address,
    require_role,
    verify_csrf,
)
from voxpop.web.problems import problem, problem_responses
from voxpop.web.templating import render
from voxpop.web.uploads import upload_name

router = APIRouter()
api = APIRouter()  # mounted under /api/v1 by the app
SOURCES = ("auto", "qualtrics", "surveymonkey", "typeform", "googleforms", "limesurvey", "csv")
SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".parquet")
SHOWN_REJECTS = 200  # rows listed on the page and in the API answer; the count is always complete
# How the page and the API give what settles an import's problem (ImportParameterError and Advice name it).
ON_THE_COMMAND_LINE = "a mapping file is given on the command line: voxpop import responses FILE --mapping MAPPING"
PAGE_FIELDS = {"skip_invalid": "tick “Import the valid rows and list the rejected ones”",
               "mapping": ON_THE_COMMAND_LINE, "timezone": "under “Time zone of the file's times”",
               "source_format": "choose “auto” under “Written by”", "survey_key": "under “Survey key”",
               "merge_option": "merge them under “Merge misspelt options” once imported"}
API_FIELDS = {"skip_invalid": "send skip_invalid=true", "mapping": ON_THE_COMMAND_LINE,
              "timezone": "send it as timezone, e.g. Europe/Berlin", "source_format": "send from=auto",
              "survey_key": "send survey=KEY", "merge_option": "merge them with POST /api/v1/imports/merges"}
# The transaction upload's fields, as the page labels them and the API names them alike (`from` is the API's).
TRANSACTION_FIELDS = {"source_format": "the layout (from)"}
Importer = Annotated[User, Depends(require_role(*SURVEY_EDITORS))]


class UploadRefused(ValueError):
    """An upload that cannot be imported as sent."""


def _run(upload: UploadFile, *, db, settings, source: str, survey: str | None, title: str, timezone: str,
         dry_run: bool, skip_invalid: bool, fields: dict[str, str]) -> ResponsesImportPublic:
    """Spool the upload to a temporary file (formats are read from disk, streamed) and import it; the warnings
    name what settles them in the words of the page or the API (`fields`)."""
    if source not in SOURCES:
        raise UploadRefused(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    zone = timezone.strip() or settings.timezone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UploadRefused(f"unknown time zone {zone!r}; use an IANA name such as Europe/Berlin or UTC") from None
    with tempfile.TemporaryDirectory(prefix="voxpop-import-") as folder:
        path = _spooled(upload, folder)
        rejects = io.StringIO() if skip_invalid else None
        export = open_export(path, source=source)
        mapping = detect_mapping(export, timezone=zone)
        summary = import_responses(db, export, mapping, survey_key=(survey or "").strip() or None,
                                   title=title, zone=settings.timezone, max_text_length=settings.max_text_length, dry_run=dry_run,
                                   rejects=rejects)
    rejected = list(csv.DictReader(io.StringIO(rejects.getvalue()))) if rejects is not None else []
    return ResponsesImportPublic(
        file=path.name, format=export.format, layout=layout_name(export), survey=summary.survey, title=summary.title,
        survey_created=summary.survey_created,
        dry_run=dry_run, rows=summary.rows, new=summary.new, present=summary.present, rejected=summary.rejected,
        summary=summary.sentence(), warnings=[_sentence(warning, fields, path.name) for warning in summary.warnings],
        mapping=describe(mapping), samples=summary.samples,
        rejects=[{key: row[key] for key in ("row", "column", "value", "reason")} for row in rejected[:SHOWN_REJECTS]],
    )


def _sentence(message: Exception | str, fields: dict[str, str], file_name: str | None) -> str:
    """An import's error or warning as the page or the API says it: with the field that settles it, as a sentence
    (a capital letter, unless it begins with the file's name, and a full stop)."""
    text = str(message)
    if parameter := getattr(message, "parameter", None):
        text += f" ({fields[parameter]})"
    name = Path(file_name or "").name
    if not (name and text.startswith(name)):
        text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def _page(request: Request, user: User, settings, *, status: int = 200, **shown: Any):
    """The import page, with what the last form did (`result`, `transactions`, `error`, `form`)."""
    context = {"sources": SOURCES, "result": None, "error": None,
               "transactions": None, "max_upload": settings.max_upload_bytes,
               "form": {"source": "auto", "survey": "", "title": "", "timezone": settings.timezone,
                        "dry_run": True}} | shown
    if context["result"] is not None:
        result = context["result"]
        questions = {column.key: column.label for column in result.mapping if column.role in QUESTION_ROLES}
        context["samples"] = sample_table([sample.model_dump() for sample in result.samples], questions)
    return render(request, "imports/imports.html", context, status_code=status)


def _audit(db, request: Request, settings, user: User, action: str, target: str, **details: Any) -> None:
    """Record an import in the audit log."""
    with db.write() as db_session:
        accounts.audit(db_session=db_session, actor=user, action=action, target=target,
                       client=client_address(request, settings), **details)


def _audit_responses(db, request: Request, settings, user: User, result: ResponsesImportPublic) -> None:
    """Record a responses import; a dry run changes nothing, so it is not recorded."""
    if not result.dry_run:
        _audit(db, request, settings, user, "import.responses", result.survey, file=result.file,
               format=result.format, new=result.new, present=result.present, rejected=result.rejected)


@router.get("/imports", include_in_schema=False)
def upload_page(request: Request, user: Importer, settings: SettingsDep):
    return _page(request, user, settings)


@router.post("/imports", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def upload(
    request: Request,
    user: Importer,
    db: DbDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    source: Annotated[str, Form()] = "auto",
    survey: Annotated[str, Form(max_length=200)] = "",
    title: Annotated[str, Form(max_length=2000)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
    dry_run: Annotated[bool, Form()] = False,
    skip_invalid: Annotated[bool, Form()] = False,
):
    """Check (dry run) or import an uploaded export; the page shows the mapping, samples and the outcome, with the
    survey's key and title filled in as suggested, to keep or change before importing."""
    form = {"source": source, "survey": survey, "title": title, "timezone": timezone or settings.timezone,
            "dry_run": dry_run, "skip_invalid": skip_invalid}
    try:
        result = _run(file, db=db, settings=settings, source=source, survey=survey, title=title, timezone=timezone,
                      dry_run=dry_run, skip_invalid=skip_invalid, fields=PAGE_FIELDS)
    except (ImportFileError, UploadRefused) as exc:
        error = _sentence(exc, PAGE_FIELDS, upload_name(file.filename, ""))
        invalid = {"survey": error} if getattr(exc, "parameter", None) == "survey_key" else {}
        return _page(request, user, settings, status=400, error=error, invalid=invalid, form=form)
    _audit_responses(db, request, settings, user, result)
    return _page(request, user, settings, result=result, form=form | {"survey": result.survey, "title": result.title})


@api.post("/imports/responses", tags=["staff"], dependencies=[Depends(verify_csrf)],
          responses=problem_responses(422))
def upload_api(
    request: Request,
    user: Importer,
    db: DbDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="The export file as the tool wrote it.")],
    source: Annotated[str, Form(alias="from")] = "auto",
    survey: Annotated[str, Form(max_length=200, description="The survey's key (default: one made from the file name).")] = "",
    title: Annotated[str, Form(max_length=2000, description="The title of a survey the import creates (default: one made from the file name).")] = "",
    timezone: Annotated[str, Form(max_length=64, description="Zone of times given without one (default: the workspace's).")] = "",
    dry_run: Annotated[bool, Form()] = False,
    skip_invalid: Annotated[bool, Form()] = False,
) -> ResponsesImportPublic:
    """Import survey responses from an export (multipart form: file, from, survey, dry_run, skip_invalid,
    csrf_token). All-or-nothing unless skip_invalid; re-importing adds nothing. A bad file or row is a 422
    problem naming the row, column and value."""
    try:
        result = _run(file, db=db, settings=settings, source=source, survey=survey, title=title, timezone=timezone,
                      dry_run=dry_run, skip_invalid=skip_invalid, fields=API_FIELDS)
    except (ImportFileError, UploadRefused) as exc:
        return problem(422, _sentence(exc, API_FIELDS, upload_name(file.filename, "")), code="import-refused",
                       instance=request.url.path)
    _audit_responses(db, request, settings, user, result)
    return result


def _spooled(upload: UploadFile, folder: str) -> Path:
    """The upload written to a fresh temporary folder under its name made safe (upload_name: what messages and the
    suggested survey key read); refused unless it is a data file."""
    name = upload_name(upload.filename, "upload.csv")
    if Path(name).suffix.lower() not in SUFFIXES:
        raise UploadRefused(f"{name!r} is not an export file voxpop reads; upload a CSV, TSV, TXT, XLSX or Parquet file")
    path = Path(folder) / name
    with path.open("wb") as handle:
        shutil.copyfileobj(upload.file, handle, 1 << 20)
    return path


def _run_transactions(upload: UploadFile, *, db, source: str, customer: str, date_column: str,
                      amount: str) -> TransactionsImportPublic:
    """Check and store an uploaded transaction file (CDNOW, Online Retail, or named columns)."""
    from voxpop.analysis.engine import MetricError
    from voxpop.customers.service import import_transactions
    from voxpop.customers.transaction_files import read_transactions

    if source not in ("auto", "cdnow", "csv"):
        raise UploadRefused(f"unknown source {source!r}; choose auto, cdnow or csv")
    with tempfile.TemporaryDirectory(prefix="voxpop-import-") as folder:
        path = _spooled(upload, folder)
        try:
            read = read_transactions(path, source_format=source, customer=customer.strip() or "customer",  # type: ignore[arg-type]
                                     date_column=date_column.strip() or "date", amount=amount.strip() or "amount")
            summary = import_transactions(db, read)
        except MetricError as exc:
            # Name the file, not the temporary folder, and the form's field, not the Python parameter.
            text = str(exc).replace(folder + "/", "")
            if exc.parameter in TRANSACTION_FIELDS:
                text = text.replace(f"`{exc.parameter}`", TRANSACTION_FIELDS[exc.parameter])
            raise UploadRefused(text) from None
    return TransactionsImportPublic(file=path.name, format=read.source_format, summary=summary.sentence(),
                                    **vars(summary))


@router.post("/imports/transactions", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def upload_transactions(
    request: Request,
    user: Importer,
    db: DbDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    source: Annotated[str, Form()] = "auto",
    customer: Annotated[str, Form(max_length=200)] = "",
    date_column: Annotated[str, Form(max_length=200)] = "",
    amount: Annotated[str, Form(max_length=200)] = "",
):
    """Import purchase lines from an upload; the page shows the counts or what to fix."""
    try:
        result = _run_transactions(file, db=db, source=source, customer=customer, date_column=date_column,
                                   amount=amount)
    except UploadRefused as exc:
        return _page(request, user, settings, status=400, error=_sentence(exc, PAGE_FIELDS, upload_name(file.filename, "")))
    _audit(db, request, settings, user, "import.transactions", result.file, new=result.new, present=result.present)
    return _page(request, user, settings, transactions=result)


@api.post("/imports/transactions", tags=["staff"], dependencies=[Depends(verify_csrf)],
          responses=problem_responses(422))
def upload_transactions_api(
    request: Request,
    user: Importer,
    db: DbDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="CDNOW text, Online Retail CSV, or a file with named columns.")],
    source: Annotated[str, Form(alias="from")] = "auto",
    customer: Annotated[str, Form(max_length=200, description="Column of the customer id (default customer).")] = "",
    date_column: Annotated[str, Form(alias="date", max_length=200)] = "",
    amount: Annotated[str, Form(max_length=200)] = "",
) -> TransactionsImportPublic:
    """Import purchase lines (multipart: file, from, customer, date, amount, csrf_token). The whole file is
    checked first; a bad line is a 422 problem naming its row; importing it again adds nothing."""
    try:
        result = _run_transactions(file, db=db, source=source, customer=customer, date_column=date_column,
                                   amount=amount)
    except UploadRefused as exc:
        return problem(422, _sentence(exc, API_FIELDS, upload_name(file.filename, "")), code="import-refused",
                       instance=request.url.path)
    _audit(db, request, settings, user, "import.transactions", result.file, new=result.new, present=result.present)
    return result


def _mergeable(db, survey: str) -> tuple[list[tuple[str, str]], SurveyMergesPublic | None]:
    """Every survey as (key, title), and the chosen one's single-choice questions with their merges (None when
    there is no such survey)."""
    with db.read() as db_session:
        every = [(key, title) for key, title in db_session.execute(select(Survey.key, Survey.title).order_by(Survey.key))]
        found = surveys.get_by_key(db_session=db_session, key=survey) if survey else None
        if found is None or found.current_version is None:
            return every, None
        questions = [MergeableQuestionPublic(**vars(question))
                     for question in mergeable_questions(db_session=db_session, survey=found)]
    return every, SurveyMergesPublic(survey=survey, questions=questions)


def _merges_page(request: Request, db, survey: str, *, status: int = 200, error: str | None = None):
    every, chosen = _mergeable(db, survey)
    if survey and chosen is None:
        status, error = 404, f"There is no survey {survey[:64]!r}; choose one from the list."
    context = {"surveys": every, "survey": survey, "chosen": chosen, "error": error}
    return render(request, "imports/merges.html", context, status_code=status)


@router.get("/imports/merges", include_in_schema=False)
def merges_page(request: Request, user: Importer, db: DbDep, survey: str = ""):
    """A survey's single-choice questions, their options in order, and the merges of misspelt options."""
    return _merges_page(request, db, survey.strip())


@router.post("/imports/merges", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def merge_on_page(
    request: Request,
    user: Importer,
    db: DbDep,
    settings: SettingsDep,
    survey: Annotated[str, Form(max_length=64)],
    question: Annotated[str, Form(max_length=64)],
    from_option: Annotated[str, Form(max_length=2000)],
    to_option: Annotated[str, Form(max_length=2000)] = "",
    undo: Annotated[bool, Form()] = False,
):
    """Merge an option into another, or undo a merge; the page then shows the survey's merges."""
    try:
        with db.write() as db_session:
            if undo:
                undo_merge(db_session=db_session, survey_key=survey, question=question, from_option=from_option,
                           actor=user, client=client_address(request, settings))
            else:
                merge_option(db_session=db_session, survey_key=survey, question=question, from_option=from_option,
                             to_option=to_option, actor=user, client=client_address(request, settings))
    except MergeError as exc:
        return _merges_page(request, db, survey, status=400, error=_sentence(exc, {}, None))
    return RedirectResponse(f"/imports/merges?survey={quote(survey)}", status_code=303)


@api.get("/imports/merges", tags=["staff"], responses=problem_responses(404))
def merges_api(request: Request, user: Importer, db: DbDep, survey: str) -> SurveyMergesPublic:
    """A survey's single-choice questions with their options, the answered texts not among them, and the merges."""
    _, chosen = _mergeable(db, survey.strip())
    if chosen is None:
        return problem(404, f"There is no survey {survey[:64]!r}.", code="not-found", instance=request.url.path)
    return chosen


@api.post("/imports/merges", tags=["staff"], dependencies=[Depends(verify_csrf)], responses=problem_responses(422))
def merge_api(request: Request, user: Importer, db: DbDep, settings: SettingsDep,
              merge: OptionMergeCreate) -> OptionMergePublic:
    """Count a question's answers of from_option as to_option when results are read; the answers keep their text,
    and the merge is recorded in the audit log. Undo it with POST /api/v1/imports/merges/undo."""
    try:
        with db.write() as db_session:
            merge_option(db_session=db_session, survey_key=merge.survey, question=merge.question,
                         from_option=merge.from_option, to_option=merge.to_option, actor=user,
                         client=client_address(request, settings))
    except MergeError as exc:
        return problem(422, _sentence(exc, {}, None), code="merge-refused", instance=request.url.path)
    return OptionMergePublic(**merge.model_dump())


@api.post("/imports/merges/undo", tags=["staff"], dependencies=[Depends(verify_csrf)],
          responses=problem_responses(422))
def undo_merge_api(request: Request, user: Importer, db: DbDep, settings: SettingsDep,
                   merge: OptionMergeUndo) -> OptionMergePublic:
    """Count a merged option's answers as themselves again; recorded in the audit log."""
    try:
        with db.write() as db_session:
            undone = undo_merge(db_session=db_session, survey_key=merge.survey, question=merge.question,
                                from_option=merge.from_option, actor=user, client=client_address(request, settings))
            to_option = undone.to_option
    except MergeError as exc:
        return problem(422, _sentence(exc, {}, None), code="merge-refused", instance=request.url.path)
    return OptionMergePublic(survey=merge.survey, question=merge.question, from_option=merge.from_option,
                             to_option=to_option)
