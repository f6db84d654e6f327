"""Exporting a survey's responses, filtered, as CSV, XLSX, Parquet or SPSS .sav: the export page, its JSON twin,
and the files. A CSV streams as it is read, so the browser's download progress shows at once; the other formats
are written to a temporary file first (removed once sent) and then sent with their length."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from voxpop.accounts.models import User
from voxpop.collection.filter_params import FilterDep, FilterQuery, filter_form
from voxpop.collection.filters import FilterError, ResponseFilter
from voxpop.results.export import (
    FORMATS,
    MAX_SAV_ROWS,
    MEDIA_TYPES,
    ExportError,
    ExportLayout,
    count_responses,
    csv_chunks,
    export_layout,
    response_chunks,
    write_file,
)
from voxpop.results.export_schemas import ExportColumnPublic, ExportPublic
from voxpop.text.labels import as_sentence
from voxpop.text.views import filter_error
from voxpop.web.auth import DbDep, require_role
from voxpop.web.problems import problem, problem_responses
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])
EXPORTERS = ("admin", "manager", "analyst")
Exporter = Annotated[User, Depends(require_role(*EXPORTERS))]
FileFormat = Literal["csv", "xlsx", "parquet", "sav"]
LARGE = 100_000  # responses from which the page says the file takes a while to build


def _layout(db, key: str, zone: str) -> ExportLayout:
    with db.read_connection() as connection:
        layout = export_layout(connection, survey_key=key, zone=zone)
    if layout is None:
        raise HTTPException(404, f"There is no survey {key!r}; check the link, or choose one on the dashboard.")
    return layout


def export_summary(db, *, key: str, query: FilterQuery, prefix: str = "") -> ExportPublic:
    """What an export of this survey with this filter holds, and where its files are; raises FilterError."""
    response_filter = query.parse()
    layout = _layout(db, key, query.zone)
    with db.read_connection() as connection:
        total = count_responses(connection, layout, response_filter)
    query_string = f"?{urlencode(response_filter.query())}" if response_filter.query() else ""
    return ExportPublic(
        survey=key, responses=total, filter=response_filter.describe(),
        columns=[ExportColumnPublic(key=column.key, label=column.label, type=column.type,
                                    value_labels={str(value): label for value, label in column.value_labels})
                 for column in layout.columns],
        downloads={file_format: f"{prefix}/surveys/{key}/export.{file_format}{query_string}" for file_format in FORMATS},
        sav_limit=MAX_SAV_ROWS)


def export_file(db, *, key: str, file_format: str, response_filter: ResponseFilter, zone: str):
    """The file as a response: a CSV streamed chunk by chunk, the others built in a temporary folder that is
    removed once sent; raises ExportError (a .sav too large, an XLSX past Excel's rows)."""
    layout = _layout(db, key, zone)
    today = datetime.now(ZoneInfo(zone)).date().isoformat()
    name = f"{key}-responses-{today}.{file_format}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if file_format == "csv":
        def stream():
            with db.read_connection() as connection:
                yield from csv_chunks(layout, response_chunks(connection, layout, response_filter))

        return StreamingResponse(stream(), media_type=MEDIA_TYPES["csv"], headers=disposition)
    folder = Path(tempfile.mkdtemp(prefix="voxpop-export-"))
    try:
        with db.read_connection() as connection:
            total = count_responses(connection, layout, response_filter) if file_format == "sav" else 0
            write_file(layout, response_chunks(connection, layout, response_filter), folder / name,
                       file_format=file_format, total=total)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(folder / name, media_type=MEDIA_TYPES[file_format], filename=name,
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


@router.get("/surveys/{key}/export", include_in_schema=False)
def export_page(request: Request, key: str, user: Exporter, db: DbDep, query: FilterDep):
    summary, error, field_error = None, None, {}
    with db.read() as db_session:
        form = filter_form(query, db_session, survey=key)
    try:
        summary = export_summary(db, key=key, query=query)
    except FilterError as exc:
        error, field_error = filter_error(exc, form)  # worded as the form labels its fields
        _layout(db, key, query.zone)  # an unknown survey is a 404 before a bad filter is a 400
    return render(request, "results/export.html", {
        "key": key, "summary": summary, "error": error, "form": form, "large": LARGE,
        "field_error": field_error,
        "json_href": f"/api/v1/surveys/{key}/export" + (f"?{request.url.query}" if request.url.query else ""),
    }, status_code=400 if error else 200)


@router.get("/surveys/{key}/export.{file_format}", include_in_schema=False)
def download_page(key: str, file_format: FileFormat, user: Exporter, db: DbDep, query: FilterDep):
    try:
        return export_file(db, key=key, file_format=file_format, response_filter=query.parse(), zone=query.zone)
    except (FilterError, ExportError) as exc:
        raise HTTPException(400, as_sentence(str(exc))) from None


@api.get("/surveys/{key}/export", response_model=ExportPublic, responses=problem_responses(401, 403, 404, 422))
def export_json(request: Request, key: str, user: Exporter, db: DbDep, query: FilterDep):
    """What an export of the survey's responses holds with this filter: the number of responses (rows), the
    columns with their labels and value labels, and the URL of each format's file."""
    try:
        return export_summary(db, key=key, query=query, prefix="/api/v1")
    except FilterError as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-filter", instance=request.url.path,
                       errors=[{"field": exc.parameter or "", "message": as_sentence(str(exc))}])


@api.get("/surveys/{key}/export.{file_format}", response_class=FileResponse,
         responses={200: {"description": "The responses, one row per response.",
                           "content": {media_type: {} for media_type in MEDIA_TYPES.values()}},
                    **problem_responses(401, 403, 404, 422)})
def download_json(request: Request, key: str, file_format: FileFormat, user: Exporter, db: DbDep, query: FilterDep):
    """The survey's responses with this filter as a file, one row per response: csv (streamed), xlsx, parquet or
    sav (at most sav_limit responses)."""
    try:
        return export_file(db, key=key, file_format=file_format, response_filter=query.parse(), zone=query.zone)
    except (FilterError, ExportError) as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-export", instance=request.url.path,
                       errors=[{"field": getattr(exc, "parameter", None) or "format", "message": as_sentence(str(exc))}])
