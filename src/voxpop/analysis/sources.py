"""Where the engine's data come from: export files and DataFrames (through DuckDB), or the app's store.

Files are read with every column as text, so that a stray "N/A" in a score column becomes a clear error
naming the row, not a silently dropped value or a guessed type.
"""

from __future__ import annotations

import csv
import difflib
import json
import secrets
import shutil
import tempfile
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from voxpop.analysis import file_cache, files, time_formats
from voxpop.analysis.engine import MetricError, MetricNote, MetricSpec, fetch
from voxpop.analysis.questions import QuestionRef

ROW = "_row"  # 1-based data row of a file (the header rows are not counted)
MAX_LISTED_POINTS = 1000  # scales up to this many points are checked as a list of the points
DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16": "utf-16"}  # what DuckDB decodes itself


@dataclass(frozen=True)
class Export:
    """An export file and how to read it, as the command line asks: `cache` is the folder of Parquet copies
    (None reads the file itself), `tell` hears what an analyst should see on the terminal (a copy was used) and,
    with `verbose`, how the file was read."""

    path: Path
    cache: Path | None = None
    tell: Callable[[str], None] | None = None
    verbose: bool = False


def read_file(path: Path, *, cache: Path | None = None, tell: Callable[[str], None] | None = None,
              verbose: bool = False) -> ir.Table:
    """A CSV, TSV, Parquet or XLSX file as an Ibis table on an in-memory DuckDB, all columns as text; a folder
    of CSV files with one header (such as one export per day) is read as one table, its files in name order.
    Each file is sniffed as the importer sniffs it (`analysis.files`: kind, encoding, delimiter, quoting, the
    header rows Qualtrics adds under the column names, which are skipped), and what the sniffing notes is said as
    a MetricNote.

    Text is read by DuckDB's parallel CSV reader where the file allows it, else by its careful one (see
    `_read_text`). With `cache` (a folder), a text or XLSX export is read once into a Parquet copy there that
    later reads of the unchanged file use (`analysis.file_cache`); a big one with no copy kept is read once into a
    temporary Parquet file for this table alone. `tell` hears that a copy was used, and with `verbose` how the
    file was read."""
    def say(message: str, *, always: bool = False) -> None:
        if tell is not None and (always or verbose):
            tell(message)

    if not path.exists():
        raise MetricError(f"{path} does not exist; check the path")
    paths = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not paths:
        raise MetricError(f"{path} holds no .csv files; give a file, or a folder of CSV exports")
    connection = ibis.duckdb.connect()
    connection.con.execute("SET enable_progress_bar = false").fetchall()  # it would print into --format json
    if cache is not None and (copy := file_cache.find(cache, paths)) is not None:
        table = connection.read_parquet(copy)
        for note in json.loads(_kept_notes(connection, copy)):
            warnings.warn(MetricNote(note), stacklevel=3)
        say(f"{path}: read the Parquet copy an earlier command kept in {cache} (the file has not changed since); "
            "--no-cache reads the file itself", always=True)
        return table
    try:
        sniffed = [files.sniff(name) for name in paths]
    except files.FileError as exc:
        raise MetricError(str(exc)) from None
    if path.is_dir() and (other := next((file for file in sniffed if file.kind != "text"), None)):
        raise MetricError(f"{other.path} is {other.kind.upper()}, not CSV; a folder must hold CSV exports only")
    if len(sniffed) > 1 and (qualtrics := next((file for file in sniffed if file.extra_header_rows), None)):
        raise MetricError(f"{qualtrics.path} is a Qualtrics export with header rows under its column names, which "
                          "voxpop reads in a single file only; give the files one at a time")
    notes = list(dict.fromkeys(note for file in sniffed for note in file.warnings))
    for note in notes:
        warnings.warn(MetricNote(note), stacklevel=3)
    extra, kind = sniffed[0].extra_header_rows, sniffed[0].kind
    if extra:
        skipped = ("the 2 header rows Qualtrics adds under the column names (question texts and ImportIds) were"
                   if extra == 2 else "the header row Qualtrics adds under the column names (question texts) was")
        notes.append(f"{path.name}: {skipped} skipped")
    keep = cache is not None and kind != "parquet" and file_cache.worth_keeping(paths)
    key_before = file_cache.key(paths) if keep else None
    written = None
    if keep:
        try:
            written = file_cache.temporary(cache)
        except OSError as exc:  # a data directory that cannot be written: read the file itself
            keep = False
            say(f"{path}: no Parquet copy is kept, since {cache} cannot be written ({exc.strerror})")
    if written is None and kind != "parquet" and sum(name.stat().st_size for name in paths) >= file_cache.MIN_BYTES:
        # A big file is read once into Parquet for this command alone, in a folder removed with the connection: its
        # checks and counts then read only their columns, not the whole text again each (twice as fast at 1M rows).
        folder = Path(tempfile.mkdtemp(prefix="voxpop-read-"))
        weakref.finalize(connection, shutil.rmtree, folder, True)
        written = folder / "export.parquet"

    def first_pass(table: ir.Table) -> int:
        """Read the whole table once, into the Parquet copy when one is kept; returns its rows."""
        if written is None:
            return int(fetch(table.aggregate(rows=table.count()))[0]["rows"])
        metadata = json.dumps(notes).replace("'", "''")
        return connection.con.execute(f"COPY ({connection.compile(table)}) TO '{_quoted(written)}' "
                                      f"(FORMAT parquet, KV_METADATA {{voxpop_notes: '{metadata}'}})").fetchall()[0][0]

    try:
        if kind == "parquet":
            table = connection.read_parquet(path)
            table = _numbered(connection, table.mutate(**{name: table[name].cast("string") for name in table.columns}))
            how, rows = "read as Parquet", first_pass(table)
        elif kind == "xlsx":
            import pandas as pd

            # Calamine gives the same text as openpyxl (tests compare them) about ten times faster.
            frame = pd.read_excel(path, dtype=str, engine="calamine", skiprows=range(1, 1 + extra))
            table = _numbered(connection, connection.create_table("export", frame.dropna(how="all")))
            how, rows = "read by calamine, every column as text", first_pass(table)
        else:
            table, how, rows = _read_text(connection, sniffed, extra=extra, first_pass=first_pass)
    except Exception as exc:  # DuckDB's own first line names the problem (quoting, ...)
        if written is not None:
            written.unlink(missing_ok=True)
        raise MetricError(f"{path} cannot be read: {str(exc).strip().splitlines()[0]}") from None
    if rows == 0:
        if written is not None:
            written.unlink(missing_ok=True)
        raise MetricError(f"{path} has a header but no data rows; export the data again, with its rows")
    if extra:
        warnings.warn(MetricNote(notes[-1]), stacklevel=3)
    say(f"{path}: {how}")
    if written is not None and not keep:
        say(f"{path}: read once into a temporary Parquet file for this command")
        table = connection.read_parquet(written)
    elif written is not None:
        copy = file_cache.store(cache, paths, written, key_before=key_before)
        if copy is None:
            raise MetricError(f"{path} changed while it was read; run the command again once it is written completely")
        say(f"{path}: kept a Parquet copy in {cache} for the next commands on it (--no-cache reads the file itself)")
        table = connection.read_parquet(copy)
    return table


def _numbered(connection, table: ir.Table, *, extra: int = 0) -> ir.Table:
    """The table with its data rows numbered in file order as `ROW` (1-based, after `extra` header rows, which
    are left out). DuckDB streams a plain ROW_NUMBER() OVER () in file order without holding the rows (Ibis
    writes it with a frame, which DuckDB holds)."""
    name = f"numbered_{secrets.token_hex(6)}"
    connection.con.execute(f'CREATE TEMP VIEW "{name}" AS SELECT * FROM (SELECT *, ROW_NUMBER() OVER () - {extra} '
                           f'AS "{ROW}" FROM ({connection.compile(table)})) WHERE "{ROW}" >= 1').fetchall()
    return connection.table(name)


def _read_text(connection, sniffed: list[files.ExportFile], *, extra: int,
               first_pass: Callable[[ir.Table], int]) -> tuple[ir.Table, str, int]:
    """Delimited text through DuckDB's CSV reader, in the sniffed dialect: the table, how it was read, and its
    rows. DuckDB decodes UTF-8 and UTF-16 itself; a file in another encoding (Windows-1252) is copied to UTF-8
    first, as the importer decodes it, into a folder removed with the connection.

    The parallel reader (every core) reads it where it can. It refuses to pad short rows once a quoted value
    holds a line break (survey comments do), and does so loudly; the careful reader (one thread) then reads the
    file. `first_pass` reads the whole file once (counting it, or copying it to Parquet), so the choice is made
    before any figure is computed."""
    encodings = {DUCKDB_ENCODINGS.get(file.encoding) for file in sniffed}
    converted = ""
    if len(encodings) == 1 and None not in encodings:
        paths, encoding = [file.path for file in sniffed], encodings.pop()
    else:
        folder = Path(tempfile.mkdtemp(prefix="voxpop-utf8-"))
        weakref.finalize(connection, shutil.rmtree, folder, True)
        paths = [file.path if DUCKDB_ENCODINGS.get(file.encoding) == "utf-8" else files.utf8_copy(file, folder)
                 for file in sniffed]
        encoding, converted = "utf-8", " (copied to UTF-8 first)"
    quote = "" if sniffed[0].quoting == csv.QUOTE_NONE else '"'
    names = [str(name) for name in paths] if len(paths) > 1 else str(paths[0])
    options = dict(all_varchar=True, delim=sniffed[0].delimiter, header=True, quote=quote, escape=quote,
                   null_padding=True, strict_mode=False, encoding=encoding)
    try:
        table = _numbered(connection, connection.read_csv(names, parallel=True, **options), extra=extra)
        rows = first_pass(table)
        how = f"read by DuckDB's parallel CSV reader{converted}, every column as text"
    except Exception as exc:  # noqa: BLE001 (the careful reader reads what the parallel one refuses, or says why not)
        reason = str(exc).strip().splitlines()[0].rstrip(".")
        table = _numbered(connection, connection.read_csv(names, parallel=False, **options), extra=extra)
        rows = first_pass(table)
        how = (f"read by DuckDB's careful CSV reader (one thread){converted}, every column as text, because the "
               f"parallel reader refused it ({reason})")
    return table, how, rows


def _kept_notes(connection, copy: Path) -> str:
    """The notes the reading of a kept copy's export gave, as JSON."""
    found = connection.con.execute(f"SELECT value FROM parquet_kv_metadata('{_quoted(copy)}') "
                                   "WHERE key = 'voxpop_notes'").fetchall()
    return found[0][0].decode() if found else "[]"


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def from_dataframe(frame) -> ir.Table:
    """A pandas DataFrame as an Ibis table on DuckDB (values kept as they are)."""
    connection = ibis.duckdb.connect()
    table = connection.create_table("frame", frame)
    return table.mutate(**{ROW: ibis.row_number() + 1})


def require_columns(table: ir.Table, names: list[str], source: str) -> None:
    """Refuse a column that is not there, suggesting the closest one."""
    columns = [name for name in table.columns if name != ROW]
    for name in names:
        if name not in columns:
            close = difflib.get_close_matches(name, columns, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else f"; the columns are: {', '.join(map(repr, columns[:30]))}"
            raise MetricError(f"{source} has no column {name!r}{hint}")


def checked_scores(table: ir.Table, column: str, spec: MetricSpec, source: str, *,
                   scale_parameter: str = "scale", summary: dict[str, Any] | None = None) -> ir.Table:
    """The table with `column` as numbers; a non-number or a value outside the scale is an error naming
    the row, the value and the scale (and `scale_parameter`, which states another). Blank cells are skipped
    answers. `summary`, if given, receives the answers' count `n` and `lowest` value, from the same scan."""
    found: dict[str, dict[str, Any]] = {}
    table = checked_columns(table, {column: spec}, source, scale_parameters={column: scale_parameter}, summary=found)
    if summary is not None:
        summary.update(found[column])
    return table


def checked_numbers(table: ir.Table, column: str, source: str) -> ir.Table:
    """The table with `column` as numbers on no stated scale (a price, a count, a measurement); text that
    is not a finite number is an error naming the row. Blank cells are missing values."""
    return checked_columns(table, {column: None}, source)


def checked_columns(table: ir.Table, columns: dict[str, MetricSpec | None], source: str, *,
                    scale_parameters: dict[str, str] | None = None,
                    summary: dict[str, dict[str, Any]] | None = None) -> ir.Table:
    """Several columns checked in one pass over the table: a column with a spec as `checked_scores` checks it, one
    with None as `checked_numbers` does; the first column, in order, with a refused value is the error. `summary`,
    if given, receives each column's count of numbers `n` and `lowest` value."""
    parsed: dict[str, ir.Value] = {}
    projected: dict[str, ir.Value] = {ROW: table[ROW]}
    for i, (column, spec) in enumerate(columns.items()):
        raw = table[column]
        text = raw.cast("string").strip()
        blank = raw.isnull() | (text == "")
        number = text.try_cast("float64")
        # Each condition names the number once: DuckDB parses the text once per mention, most of a file's scan.
        if spec is None:
            valid = (number.abs() < float("inf")).fill_null(False)  # NaN is above infinity in DuckDB
        elif spec.high - spec.low <= MAX_LISTED_POINTS:
            valid = number.isin([float(point) for point in range(spec.low, spec.high + 1)]).fill_null(False)
        else:
            valid = ~(number.isnull() | (number < spec.low) | (number > spec.high) | (number != number.round(0)))
        parsed[column] = number  # every text that is not blank is a number once checked; blank gives NULL
        projected |= {f"value_{i}": raw.cast("string"), f"number_{i}": number, f"bad_{i}": ~blank & ~valid}
    # Each row's numbers and verdicts computed once (a projection), then counted: one pass over the file.
    rows = table.select(**projected)
    measures: dict[str, ir.Value] = {}
    for i in range(len(columns)):
        bad, number = rows[f"bad_{i}"], rows[f"number_{i}"]
        measures |= {f"count_{i}": bad.ifelse(1, 0).sum(), f"row_{i}": rows[ROW].min(where=bad),
                     f"value_{i}": rows[f"value_{i}"].argmin(rows[ROW], where=bad), f"n_{i}": number.count(),
                     f"lowest_{i}": number.min()}
    counted = fetch(rows.aggregate(**measures))[0]
    for i, (column, spec) in enumerate(columns.items()):
        if not (count := int(counted[f"count_{i}"] or 0)):
            continue
        row, value = int(counted[f"row_{i}"]), counted[f"value_{i}"]
        more = f" ({count} such values in all)" if count > 1 else ""
        if spec is None:
            raise MetricError(f"{source}: column {column!r} has the value {value!r} in data row {row}, which is not "
                              f"a number{more}; fix the file, or leave the cell blank if there is no answer")
        parameter = (scale_parameters or {}).get(column, "scale")
        raise MetricError(
            f"{source}: column {column!r} has the value {value!r} in data row {row}, outside the "
            f"{spec.low}–{spec.high} {spec.metric.upper() if spec.metric != 'mean' else 'rating'} scale{more}; "
            f"fix the file, or state the real scale with `{parameter}`", parameter=parameter
        )
    if summary is not None:
        # No number at all: NaN as the lowest, which compares false with any bound (as it did from pandas).
        summary |= {column: {"n": int(counted[f"n_{i}"]), "lowest": _or_nan(counted[f"lowest_{i}"])}
                    for i, column in enumerate(columns)}
    return table.mutate(**parsed)


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _first_bad(bad: ir.Table, raw: ir.Column) -> tuple[int, str, str] | None:
    """The first refused row's number and value, and how many more there are, said as a phrase: one aggregate
    over the scan, whatever the number of bad values."""
    found = fetch(bad.aggregate(count=bad.count(), row=bad[ROW].min(), value=raw.cast("string").argmin(bad[ROW])))[0]
    count = int(found["count"])
    if not count:
        return None
    return int(found["row"]), found["value"], f" ({count} such values in all)" if count > 1 else ""


def blank_as_missing(table: ir.Table, columns: list[str]) -> ir.Table:
    """Blank or whitespace-only group values are missing values, one group, not two."""
    return table.mutate(**{name: table[name].cast("string").strip().nullif("") for name in dict.fromkeys(columns)})


def parse_times(table: ir.Table, column: str, source: str) -> ir.Table:
    """The table with `column` as timestamps, in the format `analysis.time_formats` detects from its values
    (the importer's rule). A time that does not read in that format is an error naming the row; a blank one is
    a missing time."""
    if table[column].type().is_timestamp():
        return table
    text = table[column].cast("string").strip()
    written = table.filter(text.notnull() & (text != ""))
    if ROW in table.columns:  # the distinct values in the order they first appear, as the importer sees them
        firsts = written.group_by(value=text).aggregate(first=written[ROW].min()).order_by("first")
    else:
        firsts = written.select(value=text).distinct()
    values = [row["value"] for row in fetch(firsts.limit(time_formats.DISTINCT))]
    if not values:
        raise MetricError(f"{source}: column {column!r} has no times to group by; name the column that holds the "
                          "answers' times with `time`", parameter="time")
    time_format, ambiguous = time_formats.detect_format(values)
    if time_format is None:
        raise MetricError(f"{source}: column {column!r} holds times in a format voxpop does not know, e.g. "
                          f"{values[0]!r}; write them like {time_formats.example(time_formats.ISO)}")
    if ambiguous:
        warnings.warn(MetricNote(f"column {column!r}: every date reads both as month/day and as day/month, so it "
                                 "was read month first; if the day comes first, write the dates as YYYY-MM-DD"),
                      stacklevel=3)
    parsed = timestamps(text, time_format)
    if ROW in table.columns and (found := _first_bad(written.filter(parsed.isnull()), table[column])):
        row, value, more = found
        raise MetricError(f"{source}: column {column!r} has the value {value!r} in data row {row}, which is not a "
                          f"time like the other rows' {time_formats.example(time_format)}{more}; fix it, or leave the "
                          "cell blank if the time is not known")
    return table.mutate(**{column: parsed})


@ibis.udf.scalar.builtin
def try_strptime(text: str, format: str) -> datetime:
    """DuckDB's strptime that gives NULL for text it cannot read, so a bad time can be traced to its row."""


def timestamps(text: ir.StringValue, time_format: str) -> ir.TimestampValue:
    """Text read as timestamps in a format of `analysis.time_formats`: NULL where it does not read, on DuckDB
    (where files and DataFrames are read); other backends parse with their own functions."""
    if time_format == time_formats.ISO:
        return text.try_cast("timestamp")
    if ibis.get_backend(text).name != "duckdb":
        return text.as_timestamp(time_format)
    parsed = try_strptime(text, time_format)
    if "%S" in time_format:  # fractions of a second, which the importer's %S reads too
        parsed = parsed.coalesce(try_strptime(text, time_format.replace("%S", "%S.%f")))
    return parsed


def store_connection(url):
    """An Ibis connection to the app's store (the same database SQLAlchemy uses); `url` is a string or a
    SQLAlchemy URL. Open one per unit of work and disconnect it: SQLite connections stay in their thread."""
    from sqlalchemy.engine import make_url  # not at the top: SQLAlchemy takes a quarter second to import

    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        return ibis.sqlite.connect(parsed.database)
    if parsed.get_backend_name() == "postgresql":
        return ibis.postgres.connect(host=parsed.host or "localhost", port=parsed.port or 5432, user=parsed.username,
                                     password=parsed.password, database=parsed.database)
    raise MetricError(f"The metrics engine does not read {parsed.get_backend_name()} stores yet; use SQLite or "
                      "PostgreSQL")


def question_catalogue(connection) -> ir.Table:
    """Each question row with its survey's key: question_id, survey, question, kind, scale_min, scale_max,
    ces_version."""
    questions = connection.table("questions")
    versions = connection.table("survey_versions").select(version_id="id", survey_id="survey_id")
    surveys = connection.table("surveys").select(survey_id="id", survey="key")
    return (questions.select(question_id="id", version_id="version_id", question="key", kind="kind",
                             scale_min="scale_min", scale_max="scale_max", ces_version="ces_version")
            .join(versions, "version_id").join(surveys, "survey_id")
            .select("question_id", "survey", "question", "kind", "scale_min", "scale_max", "ces_version"))


def survey_answers(connection, *, survey: str, kind: str, question: str | None, attributes: list[str],
                   filters: dict[str, list[str]] | None = None) -> tuple[ir.Table, QuestionRef]:
    """One scored question's answers of a survey, with the response time and the requested attributes as
    columns `score`, `submitted_at` and one per attribute. Returns the table and the question."""
    catalogue = question_catalogue(connection)
    chosen = catalogue.filter(catalogue.survey == survey, catalogue.kind == kind)
    if question:
        chosen = chosen.filter(chosen.question == question)
    found = chosen.select("question", "scale_min", "scale_max", "ces_version").distinct().execute()
    if found.empty:
        what = f"question {question!r} of kind {kind}" if question else f"{kind} question"
        raise MetricError(f"Survey {survey!r} has no {what} (or there is no such survey); check the survey's key "
                          "and its questions", parameter="survey")
    if found["question"].nunique() > 1:
        keys = ", ".join(sorted(found["question"]))
        raise MetricError(f"Survey {survey!r} has several {kind} questions ({keys}); choose one with `question`",
                          parameter="question")
    if len(found) > 1:
        raise MetricError(f"Question {found['question'].iloc[0]!r} changed its scale between survey versions, so "
                          "its answers cannot be pooled into one metric; analyse each version's export file instead")
    info = found.iloc[0]
    question_ref = QuestionRef(info["question"], kind, int(info["scale_min"]), int(info["scale_max"]),
                               info["ces_version"] if isinstance(info["ces_version"], str) else None)
    ids = chosen.filter(chosen.question == question_ref.key).select("question_id")
    responses = connection.table("responses").select(response_id="id", submitted_at="submitted_at")
    table = (connection.table("answers").select("question_id", "response_id", "score")
             .join(ids, "question_id").join(responses, "response_id")
             .select("score", "submitted_at", "response_id"))
    for name in [*attributes, *(name for name in filters or {} if name not in attributes)]:
        attribute = connection.table("response_attributes")
        attribute = attribute.filter(attribute.name == name).select(rid=attribute.response_id, **{name: attribute.value})
        table = table.left_join(attribute, table.response_id == attribute.rid).drop("rid")
    for name, values in (filters or {}).items():
        table = table.filter(table[name].isin(values))
    return table, question_ref


def survey_scores_wide(connection, *, survey: str, questions: list[str]) -> tuple[ir.Table, dict[str, QuestionRef]]:
    """One row per response of `survey` and one score column per named question (missing when skipped), for
    analyses across questions such as key drivers; the pivot runs in the database. Returns the table and
    the questions by key."""
    catalogue = question_catalogue(connection)
    chosen = catalogue.filter(catalogue.survey == survey, catalogue.question.isin(questions),
                              catalogue.kind.isin(["nps", "csat", "ces", "rating"]))
    found = chosen.select("question", "kind", "scale_min", "scale_max").distinct().execute()
    missing = sorted(set(questions) - set(found["question"]))
    if missing:
        raise MetricError(f"Survey {survey!r} has no scored question {', '.join(map(repr, missing))} "
                          "(or there is no such survey); name questions of kind nps, csat, ces or rating")
    if found["question"].duplicated().any():
        changed = sorted(set(found.loc[found["question"].duplicated(), "question"]))
        raise MetricError(f"Question {changed[0]!r} changed its scale between survey versions, so its answers cannot "
                          "be pooled; analyse each version's export file instead")
    refs = {row.question: QuestionRef(row.question, row.kind, int(row.scale_min), int(row.scale_max))
            for row in found.itertuples()}
    answers = (connection.table("answers").select("question_id", "response_id", "score")
               .join(chosen.select("question_id", "question"), "question_id"))
    wide = answers.group_by("response_id").aggregate(
        **{key: answers.score.max(where=answers.question == key) for key in questions})
    return wide.select(*questions), refs


def store_transactions(connection) -> ir.Table:
    """The store's transactions as the customer measures read them: customer (the organisation's id), date,
    amount, cost and kind (sale, cancellation or non_product)."""
    lines = connection.table("transactions")
    customers = connection.table("customers").select(customer_id="id", customer="external_id")
    return lines.join(customers, "customer_id").select("customer", date=lines.day, amount=lines.amount,
                                                       cost=lines.cost, kind=lines.kind)
