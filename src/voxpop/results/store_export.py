"""The whole store as a folder of Parquet files that Spark, DuckDB, Trino or a warehouse read as they are.

The layout is Hive's, survey first, then the month of submission in the workspace's time zone:

    PATH/_voxpop_export.json                              what was exported: surveys, columns, labels, counts
    PATH/survey=post-purchase/month=2026-01/part-0.parquet
    PATH/survey=post-purchase/month=2026-02/part-0.parquet
    PATH/survey=onboarding/month=2026-01/part-0.parquet

Survey first because each survey has its own columns (its questions and attributes): a survey's folder is then one
table of one schema, which Trino's `external_location` and Spark's path take as it is, and the month folders below
it let a reader skip the months a query does not ask for. `survey` and `month` are in the folder names only, as Hive
lays out partition columns; the readers add them as columns. The manifest's name begins with an underscore, which
Spark, Hive and Trino skip as a hidden file.

Each survey is read as `survey export-responses` reads it (export.response_chunks: keyset chunks in order of id,
pivoted into one row per response); each chunk's rows go to their month's buffer, and when the buffers together
hold more than BUFFER_BYTES of Arrow data the largest is written to its month's file as a row group. A month's
file stays open until its survey is done, since ids need not follow the time of submission (an import of older
responses). So memory is bounded by the buffer, however many responses the store holds.

The folder is written under a hidden name beside PATH and renamed to PATH when complete: a reader never sees half
an export, and a failed one leaves nothing behind. Everything is read in one snapshot of the store, so a response
submitted while the export runs is in it entirely or not at all, and each response is in it once.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from voxpop.collection.filters import ResponseFilter
from voxpop.results.export import (
    CHUNK_SIZE,
    ExportError,
    ExportLayout,
    arrow_schema,
    arrow_table,
    count_responses,
    export_layout,
    response_chunks,
)
from voxpop.surveys.models import Survey

MANIFEST = "_voxpop_export.json"
PARTITIONS = ("survey", "month")  # the folders' keys, so no column may take their names
BUFFER_BYTES = 64 * 1024 * 1024  # Arrow data held before the largest month is written: a row group of up to this
FILE_NAME = "part-0.parquet"

Chunks = Iterator[list[list[Any]]]


@dataclass(frozen=True)
class SurveyExport:
    """One survey's part of the export: its columns, and how many responses each month holds."""

    layout: ExportLayout
    responses: int
    months: tuple[tuple[str, int], ...] = ()


def _hold_snapshot(connection: Connection) -> None:
    """Read everything that follows in one snapshot of the store. PostgreSQL: a REPEATABLE READ transaction.
    SQLite: the read connections run without BEGIN (each statement its own snapshot), so open one; in WAL mode
    the writers go on, and the WAL is checkpointed past this snapshot once the export ends."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")
    else:
        connection.execution_options(isolation_level="REPEATABLE READ")


def plan_store_export(connection: Connection, *, zone: str, response_filter: ResponseFilter,
                      survey_keys: tuple[str, ...] = ()) -> list[SurveyExport]:
    """The surveys to export (all, by key, or those of `survey_keys`) with their columns and the responses the
    filter keeps. Call it first on a fresh connection: it opens the snapshot that `write_store_export` then reads."""
    _hold_snapshot(connection)
    known = connection.scalars(select(Survey.key).order_by(Survey.key)).all()
    unknown = [key for key in survey_keys if key not in set(known)]
    if unknown:
        raise ExportError(f"there is no survey {', '.join(map(repr, unknown))}; check the key "
                          "(`voxpop survey list` shows every survey)")
    surveys = []
    for key in (sorted(set(survey_keys)) if survey_keys else known):
        layout = export_layout(connection, survey_key=key, zone=zone, reserved=PARTITIONS)
        columns = tuple(replace(column, label="Submitted at (UTC)") if column.key == "submitted_at" else column
                        for column in layout.columns)
        layout = replace(layout, columns=columns)
        surveys.append(SurveyExport(layout, count_responses(connection, layout, response_filter)))
    return surveys


def check_folder(path: Path, *, data_dir: Path | None = None) -> bool:
    """Whether PATH holds an earlier export (which `replace_existing` replaces); ExportError when the export cannot go
    there: PATH is the filesystem's root, the home folder, the folder the process is in or one holding it (the
    export would be written inside itself, a replacement would take the folder away from under the shell), `data_dir`
    or one holding it, a file, in a missing folder, or a folder holding other files."""
    path = path.resolve()  # "." and "" have no name to write beside; a symlink is the folder it points to
    here = Path.cwd().resolve()
    data = data_dir.resolve() if data_dir is not None else None
    instead = "name a new folder for the export instead, such as voxpop-export inside the folder you are in"
    if path == Path(path.anchor):
        raise ExportError(f"{path} is the filesystem's root; {instead}")
    if path == Path.home().resolve():
        raise ExportError(f"{path} is your home folder; {instead}")
    if path == here:
        raise ExportError(f"{path} is the folder you are in; {instead}")
    if path in here.parents:
        raise ExportError(f"{path} holds the folder you are in ({here}); {instead}")
    if data is not None and (path == data or path in data.parents):
        raise ExportError(f"{path} is voxpop's data folder (VOXPOP_DATA_DIR); {instead}" if path == data else
                          f"{path} holds voxpop's data folder {data} (VOXPOP_DATA_DIR); {instead}")
    if path.exists() and not path.is_dir():
        raise ExportError(f"{path} is a file; name a folder for the export (it is made if it does not exist)")
    if not path.parent.is_dir():
        raise ExportError(f"the folder {path.parent} does not exist; create it or choose another place")
    if not path.is_dir() or not any(path.iterdir()):
        return False
    if not (path / MANIFEST).is_file():
        raise ExportError(f"{path} holds files that are not a voxpop export (it has no {MANIFEST}); choose a new "
                          "or empty folder")
    return True


def write_store_export(connection: Connection, surveys: list[SurveyExport], path: Path, *,
                       response_filter: ResponseFilter, replace_existing: bool = False,
                       advance: Callable[[Chunks], Chunks] = lambda chunks: chunks, chunk_size: int = CHUNK_SIZE,
                       buffer_bytes: int = BUFFER_BYTES) -> list[SurveyExport]:
    """Write the surveys' responses to PATH, one Parquet file per survey and month; an earlier export there is
    replaced only with `replace_existing`. `advance` wraps each survey's chunks (a progress bar). Returns the
    surveys with their months' counts. When it fails, the exception says in a note what is left behind, if
    anything is."""
    path = path.resolve()
    if check_folder(path) and not replace_existing:
        raise ExportError(f"{path} holds an earlier export; choose a new folder, or replace it (--replace, or "
                          "replace_existing=True from Python)")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent))
    except OSError as exc:
        raise ExportError(f"cannot write in {path.parent} ({exc.strerror}); choose a folder you can write to") from None
    try:
        written = [replace(survey, months=_write_survey(survey.layout, staging, advance(
            response_chunks(connection, survey.layout, response_filter, chunk_size=chunk_size)), buffer_bytes))
            for survey in surveys]
        (staging / MANIFEST).write_text(json.dumps(_manifest(written, response_filter), indent=2, ensure_ascii=False),
                                        encoding="utf-8")
        _put_in_place(staging, path)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if staging.exists():
            exc.add_note(f"the unfinished export is left in {staging}; delete it")
        raise
    return written


def _write_survey(layout: ExportLayout, folder: Path, chunks: Chunks,
                  buffer_bytes: int) -> tuple[tuple[str, int], ...]:
    """A survey's responses into folder/survey=KEY/month=YYYY-MM/part-0.parquet; returns each month's count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(layout, time_zone="UTC")
    survey_folder = folder / f"survey={layout.survey_key}"
    writers: dict[str, pq.ParquetWriter] = {}
    buffers: dict[str, list[pa.Table]] = {}
    buffered: Counter[str] = Counter()  # bytes per month
    counts: Counter[str] = Counter()

    def flush(month: str) -> None:
        if month not in writers:
            (survey_folder / f"month={month}").mkdir(parents=True)
            writers[month] = pq.ParquetWriter(survey_folder / f"month={month}" / FILE_NAME, schema)
        writers[month].write_table(pa.concat_tables(buffers.pop(month)))
        del buffered[month]

    try:
        for rows in chunks:
            by_month: dict[str, list[list[Any]]] = {}
            for row in rows:
                local = row[1]  # submitted_at, in the workspace's zone: its month names the partition
                by_month.setdefault(f"{local.year:04d}-{local.month:02d}", []).append(row)
            for month, month_rows in by_month.items():
                table = arrow_table(schema, month_rows)
                buffers.setdefault(month, []).append(table)
                buffered[month] += table.nbytes
                counts[month] += len(month_rows)
            while buffered.total() > buffer_bytes:
                flush(max(buffered, key=buffered.__getitem__))
        for month in list(buffers):
            flush(month)
    finally:
        for writer in writers.values():
            writer.close()
    return tuple(sorted(counts.items()))


def _manifest(surveys: list[SurveyExport], response_filter: ResponseFilter) -> dict:
    """What the folder holds, for a person or a script making a warehouse's table definitions."""
    zone = surveys[0].layout.zone if surveys else None
    return {
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "time_zone": zone,
        "partitions": list(PARTITIONS),
        "filter": response_filter.describe(),  # in words; [] for every response
        "surveys": [{
            "key": survey.layout.survey_key,
            "responses": sum(count for _, count in survey.months),
            "months": dict(survey.months),
            "columns": [{"key": column.key, "label": column.label, "type": column.type,
                         "value_labels": {str(value): label for value, label in column.value_labels}}
                        for column in survey.layout.columns],
        } for survey in surveys],
    }


def _put_in_place(staging: Path, path: Path) -> None:
    """Rename the finished folder to PATH, replacing an empty folder or an earlier export (checked before). The
    earlier export is moved aside first and put back if the rename fails."""
    if not (path.is_dir() and any(path.iterdir())):
        if path.is_dir():
            path.rmdir()
        staging.rename(path)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{path.name}.replaced-", dir=path.parent))
    try:
        path.rename(aside / path.name)
    except BaseException:
        aside.rmdir()
        raise
    try:
        staging.rename(path)
    except BaseException as exc:
        try:
            (aside / path.name).rename(path)
            aside.rmdir()
        except OSError:
            exc.add_note(f"the earlier export is in {aside / path.name}; move it back to {path}")
        raise
    shutil.rmtree(aside, ignore_errors=True)  # the new export is in place: a failure here must not undo it
