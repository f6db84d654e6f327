"""Where the engine's data come from: export files and DataFrames (through DuckDB), or the app's store.

Files are read with every column as text, so that a stray "N/A" in a score column becomes a clear error
naming the row, not a silently dropped value or a guessed type.
"""

from __future__ import annotations

import csv
import difflib
import json
import re
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

import duckdb
import ibis
import ibis.expr.types as ir

from voxpop.analysis import engine, file_cache, files, time_formats
from voxpop.analysis.engine import Check, MetricError, MetricNote, MetricSpec, fetch
from voxpop.analysis.questions import QuestionRef

ROW = "_row"  # 1-based data row of a file (the header rows are not counted)
MAX_LISTED_POINTS = 1000  # scales up to this many points are checked as a list of the points
DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16": "utf-16"}  # what DuckDB decodes itself
COPY_MEMORY_MB, COPY_MEMORY_MB_PER_THREAD = 512, 256  # DuckDB's memory while it writes a file's Parquet copy


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
              verbose: bool = False, lazy: bool = False) -> ir.Table:
    """A CSV, TSV, Parquet or XLSX file as an Ibis table on an in-memory DuckDB, all columns as text; a folder
    of CSV files with one header (such as one export per day) is read as one table, its files in name order.
    Each file is sniffed as the importer sniffs it (`analysis.files`: kind, encoding, delimiter, quoting, the
    header rows Qualtrics adds under the column names, which are skipped), and what the sniffing notes is said as
    a MetricNote.

    Text is read by DuckDB's parallel CSV reader where the file allows it, else by its careful one (see
    `_read_text`). With `cache` (a folder), a text or XLSX export is read once into a Parquet copy there that
    later reads of the unchanged file use (`analysis.file_cache`); a big one with no copy kept is read once into a
    temporary Parquet file for this table alone. `tell` hears that a copy was used, and with `verbose` how the
    file was read.

    `lazy` is for a caller whose every query goes through `engine.fetch` and that reads the table a few times
    (the metrics engine: a check, then the counts): a text or Parquet file with no copy to keep is then not read
    in a first pass at all. Each query scans the file itself, on every core, reading only the columns it uses;
    the data rows are numbered (`ROW`) only in a query that names a row, which only an error does. A file the
    parallel CSV reader refuses is read again by the careful one when a query meets the refusal."""
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
    # What DuckDB spills goes to a folder of this connection's, not to ".tmp" in the analyst's folder; DuckDB makes
    # it only if it spills, and it is removed with the connection.
    spill = Path(tempfile.gettempdir()) / f"voxpop-spill-{secrets.token_hex(8)}"
    connection.con.execute(f"SET temp_directory = '{_quoted(spill)}'").fetchall()
    weakref.finalize(connection, shutil.rmtree, spill, True)
    if cache is not None and (copy := file_cache.find(cache, paths)) is not None:
        table = _copy(connection, copy)
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
    if lazy and written is None and kind != "xlsx":
        try:
            table = _lazy_table(connection, sniffed, extra=extra, say=say)
            found = fetch(table.select(table.columns[0]).limit(1))  # stops at the first data row
        except MetricError:
            raise
        except Exception as exc:  # DuckDB's sniffer refusing the file: its first line names the problem
            raise MetricError(f"{path} cannot be read: {_first_line(exc)}") from None
        if not found:
            raise MetricError(f"{path} has a header but no data rows; export the data again, with its rows")
        if extra:
            warnings.warn(MetricNote(notes[-1]), stacklevel=3)
        return table
    if written is None and kind != "parquet" and sum(name.stat().st_size for name in paths) >= file_cache.MIN_BYTES:
        # A big file is read once into Parquet for this command alone, in a folder removed with the connection: its
        # checks and counts then read only their columns, not the whole text again each (twice as fast at 1M rows).
        folder = Path(tempfile.mkdtemp(prefix="voxpop-read-"))
        weakref.finalize(connection, shutil.rmtree, folder, True)
        written = folder / "export.parquet"

    def first_pass(table: ir.Table) -> int:
        """Read the whole table once, into the Parquet copy when one is kept; returns its rows."""
        if written is None and kind == "parquet":
            # A Parquet file's rows are counted from its footer, and a damaged data page would only be met by a
            # later query, as a traceback: reading every value here meets it while it can still be said plainly.
            lengths = {f"length_{i}": table[name].length().sum() for i, name in enumerate(table.columns) if name != ROW}
            return int(fetch(table.aggregate(rows=table.count(), **lengths))[0]["rows"])
        if written is None:
            return int(fetch(table.aggregate(rows=table.count()))[0]["rows"])
        metadata = json.dumps(notes).replace("'", "''")
        # Written in file order without the row numbers, which `_copy` reads back as the Parquet file's own row
        # numbers: numbering the rows as they are written (DuckDB's window) took as long as the rest of the copy.
        rows = table.drop(ROW)
        copy = (f"COPY ({connection.compile(rows)}) TO '{_quoted(written)}' "
                f"(FORMAT parquet, KV_METADATA {{voxpop_notes: '{metadata}'}})")
        # Kept in file order, DuckDB holds the rows its threads have read ahead: about 1 GB for a 10M-row file,
        # against 0.4 GB under a limit, in the same time. A file too wide for the limit is copied without it.
        threads = connection.con.execute("SELECT current_setting('threads')").fetchall()[0][0]
        connection.con.execute(f"SET memory_limit = '{max(COPY_MEMORY_MB, COPY_MEMORY_MB_PER_THREAD * threads)}MB'")
        try:
            return connection.con.execute(copy).fetchall()[0][0]
        except duckdb.OutOfMemoryException:
            connection.con.execute("RESET memory_limit").fetchall()
            return connection.con.execute(copy).fetchall()[0][0]
        finally:
            connection.con.execute("RESET memory_limit").fetchall()

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
        raise MetricError(f"{path} cannot be read: {_first_line(exc)}") from None
    if rows == 0:
        if written is not None:
            written.unlink(missing_ok=True)
        raise MetricError(f"{path} has a header but no data rows; export the data again, with its rows")
    if extra:
        warnings.warn(MetricNote(notes[-1]), stacklevel=3)
    say(f"{path}: {how}")
    if written is not None and not keep:
        say(f"{path}: read once into a temporary Parquet file for this command")
        table = _copy(connection, written)
    elif written is not None:
        copy = file_cache.store(cache, paths, written, key_before=key_before)
        if copy is None:
            raise MetricError(f"{path} changed while it was read; run the command again once it is written completely")
        say(f"{path}: kept a Parquet copy in {cache} for the next commands on it (--no-cache reads the file itself)")
        table = _copy(connection, copy)
    return table


def _copy(connection, path: Path) -> ir.Table:
    """A Parquet copy written by `read_file`, its data rows numbered as `ROW` by their place in the copy, which
    keeps the file's order."""
    view = f"copy_{secrets.token_hex(6)}"
    connection.con.execute(f'CREATE TEMP VIEW "{view}" AS SELECT * EXCLUDE (file_row_number), file_row_number + 1 '
                           f"AS \"{ROW}\" FROM read_parquet('{_quoted(path)}', file_row_number = true)").fetchall()
    return connection.table(view)


def _numbered(connection, table: ir.Table, *, extra: int = 0, name: str | None = None) -> ir.Table:
    """The table with its data rows numbered in file order as `ROW` (1-based, after `extra` header rows, which
    are left out), as a view: `name` (replaced if it exists) or a new one. DuckDB streams a plain ROW_NUMBER()
    OVER () in file order without holding the rows (Ibis writes it with a frame, which DuckDB holds), and leaves
    it out of a query that does not use it."""
    name = name or f"numbered_{secrets.token_hex(6)}"
    where = f' WHERE "{ROW}" >= 1' if extra else ""  # only with header rows to leave out: a filter always numbers
    connection.con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * FROM (SELECT *, ROW_NUMBER() OVER () '
                           f'- {extra} AS "{ROW}" FROM ({connection.compile(table)})){where}').fetchall()
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
    names, options, converted = _csv_options(connection, sniffed)
    try:
        table = _numbered(connection, connection.read_csv(names, parallel=True, **options), extra=extra)
        rows = first_pass(table)
        how = f"read by DuckDB's parallel CSV reader{converted}, every column as text"
    except Exception as exc:  # noqa: BLE001 (the careful reader reads what the parallel one refuses, or says why not)
        reason = _first_line(exc)  # the line and DuckDB's reason, as the lazy path says it
        table = _numbered(connection, connection.read_csv(names, parallel=False, **options), extra=extra)
        rows = first_pass(table)
        how = (f"read by DuckDB's careful CSV reader (one thread){converted}, every column as text, because the "
               f"parallel reader refused it ({reason})")
    return table, how, rows


def _csv_options(connection, sniffed: list[files.ExportFile]) -> tuple[str | list[str], dict[str, Any], str]:
    """The file names and `read_csv` options of DuckDB's CSV reader for the sniffed files, and what was done to
    them first. DuckDB decodes UTF-8 and UTF-16 itself; a file in another encoding (Windows-1252) is copied to
    UTF-8 first, as the importer decodes it, into a folder removed with the connection."""
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
    return names, options, converted


def _lazy_table(connection, sniffed: list[files.ExportFile], *, extra: int,
                say: Callable[[str], None]) -> ir.Table:
    """The files as a view that each query reads anew, every column as text, numbered as `ROW` (DuckDB leaves
    the numbering out of a query that does not use it). Text goes to the parallel CSV reader; when a query meets
    its refusal (short rows padded after a quoted line break), the view is pointed at the careful reader and the
    query runs again (`engine.read_again_on`). Another reading error is a MetricError naming the file."""
    view = f"export_{secrets.token_hex(6)}"
    name = sniffed[0].path if len(sniffed) == 1 else sniffed[0].path.parent
    if sniffed[0].kind == "parquet":
        source = connection.read_parquet(sniffed[0].path)
        table = _numbered(connection, source.mutate(**{column: source[column].cast("string")
                                                       for column in source.columns}), name=view)
        say(f"{name}: read as Parquet by each query (no first pass), every column as text")
        engine.read_again_on(connection, lambda exc: _unreadable(name, exc))  # a damaged file, met in a query
        return table
    names, options, converted = _csv_options(connection, sniffed)
    table = _numbered(connection, connection.read_csv(names, parallel=True, **options), extra=extra, name=view)
    say(f"{name}: read by DuckDB's parallel CSV reader{converted} in each query (no first pass), every column as text")
    careful = []
    # The hook holds the connection weakly, so that the connection (and the folders removed with it) goes when its
    # last table does.
    connected = weakref.ref(connection)

    def read_again(exc: Exception) -> bool:
        if not _reading_error(exc) or careful:
            return _unreadable(name, exc)
        careful.append(True)
        _numbered(connected(), connected().read_csv(names, parallel=False, **options), extra=extra, name=view)
        say(f"{name}: read again by DuckDB's careful CSV reader (one thread){converted}, every column as text, "
            f"because the parallel reader refused it ({_first_line(exc)})")
        return True

    engine.read_again_on(connection, read_again)
    return table


# DuckDB's errors in a query itself (a name it does not know, SQL it cannot run, a bug of its own or of ours), as
# against its errors reading a file: the engine's queries on a file's text fail only in reading it.
QUERY_ERRORS = (duckdb.BinderException, duckdb.CatalogException, duckdb.ParserException, duckdb.SyntaxException,
                duckdb.NotImplementedException, duckdb.InternalException, duckdb.OutOfMemoryException)


def _reading_error(exc: Exception) -> bool:
    """Whether DuckDB failed reading the file (its CSV reader's errors, a damaged Parquet page's), not running the
    query."""
    if "CSV Error" in str(exc) or "csv" in type(exc).__name__.lower():
        return True
    return isinstance(exc, duckdb.Error) and not isinstance(exc, QUERY_ERRORS)


def _first_line(exc: Exception) -> str:
    """What an error says first. DuckDB's CSV errors give the line there, then the line itself (which may be
    megabytes long: left out), then the reason, whose first sentence is kept."""
    lines = [line.strip() for line in str(exc).strip().splitlines()
             if line.strip() and not line.strip().startswith("Original Line:")]
    if not lines:
        return type(exc).__name__
    if re.search(r"CSV Error on Line: \d+$", lines[0]) and len(lines) > 1:
        return f"{lines[0]}: {lines[1].split('. ')[0].rstrip('.')[:300]}"
    return lines[0].rstrip(".")[:300]


def _unreadable(name: Path, exc: Exception) -> bool:
    """A reading error as the MetricError a file that cannot be read gives; other errors go on as they are."""
    if _reading_error(exc):
        raise MetricError(f"{name} cannot be read: {_first_line(exc)}") from None
    return False


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
                   scale_parameter: str = "scale", summary: dict[str, Any] | None = None,
                   checks: list[Check] | None = None) -> ir.Table:
    """The table with `column` as numbers; a non-number or a value outside the scale is an error naming
    the row, the value and the scale (and `scale_parameter`, which states another). Blank cells are skipped
    answers. `summary`, if given, receives the answers' count `n` and `lowest` value, from the same scan. With
    `checks`, the check is counted by `engine.compute` instead (see `checked_columns`)."""
    if checks is not None:
        return checked_columns(table, {column: spec}, source, scale_parameters={column: scale_parameter},
                               checks=checks)
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
                    summary: dict[str, dict[str, Any]] | None = None,
                    checks: list[Check] | None = None) -> ir.Table:
    """Several columns checked in one pass over the table: a column with a spec as `checked_scores` checks it, one
    with None as `checked_numbers` does; the first column, in order, with a refused value is the error. `summary`,
    if given, receives each column's count of numbers `n` and `lowest` value.

    With `checks` (a list), nothing is read here: the check is appended to it, for `engine.compute` to count in
    its own query over the rows it analyses, and the table gets a true-or-false column per checked column for
    that. A refused value found there is then looked for over the whole table, and said as here."""
    if checks is not None:
        if summary is not None:
            raise ValueError("a check counted with the statistics has no summary of its own")
        flags = {f"refused_{secrets.token_hex(6)}": column for column in columns}

        def verify(counts: dict[str, int]) -> None:
            if any(counts.values()):
                checked_columns(table, columns, source, scale_parameters=scale_parameters)  # raises, naming the row

        checks.append(Check(counts={flag: flag for flag in flags}, verify=verify))
        parsed, verdicts = _verdicts(table, columns)
        return table.mutate(**parsed, **{flag: verdicts[column] for flag, column in flags.items()})
    parsed, verdicts = _verdicts(table, columns)
    projected: dict[str, ir.Value] = {ROW: table[ROW]}
    for i, column in enumerate(columns):
        raw = table[column].cast("string")
        projected |= {f"value_{i}": raw, f"number_{i}": parsed[column], f"bad_{i}": verdicts[column]}
    # Each row's numbers and verdicts computed once (a projection), then counted: one pass over the file. The
    # rows are not numbered in it (numbering a file's rows keeps its scan in file order): only when a value is
    # refused does a second pass find the first such row.
    rows = table.select(**projected)
    measures: dict[str, ir.Value] = {}
    for i in range(len(columns)):
        bad, number = rows[f"bad_{i}"], rows[f"number_{i}"]
        measures |= {f"count_{i}": bad.ifelse(1, 0).sum(), f"n_{i}": number.count(), f"lowest_{i}": number.min()}
    counted = fetch(rows.aggregate(**measures))[0]
    for i, (column, spec) in enumerate(columns.items()):
        if not (count := int(counted[f"count_{i}"] or 0)):
            continue
        bad = rows[f"bad_{i}"]
        first = fetch(rows.aggregate(row=rows[ROW].min(where=bad), value=rows[f"value_{i}"].argmin(rows[ROW], where=bad)))[0]
        row, value = int(first["row"]), first["value"]
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


def _verdicts(table: ir.Table, columns: dict[str, MetricSpec | None]) -> tuple[dict[str, ir.Value],
                                                                                dict[str, ir.BooleanValue]]:
    """Each column's text as a number (blank gives NULL), and whether it is refused: not a number, or (with a spec)
    outside the scale."""
    parsed: dict[str, ir.Value] = {}
    refused: dict[str, ir.BooleanValue] = {}
    for column, spec in columns.items():
        raw = table[column].cast("string")
        # DuckDB's cast reads a number with blanks around it; stripping every cell first took as long as the scan.
        number = raw.try_cast("float64")
        # Each condition names the number once: DuckDB parses the text once per mention, most of a file's scan.
        # A verdict is NULL where the text is not a number: such a cell is refused unless it is blank, which is
        # looked at only there (COALESCE evaluates its second argument only where the first is NULL).
        if spec is None:
            valid = number.abs() < float("inf")  # NaN is above infinity in DuckDB
        elif spec.high - spec.low <= MAX_LISTED_POINTS:
            valid = number.isin([float(point) for point in range(spec.low, spec.high + 1)])
        else:
            valid = (number >= spec.low) & (number <= spec.high) & (number == number.round(0))
        parsed[column] = number  # every text that is not blank is a number once checked; blank gives NULL
        refused[column] = ~valid.fill_null(raw.isnull() | (raw.strip() == ""))
    return parsed, refused


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _first_bad(bad: ir.Table, raw: ir.Column) -> tuple[int, str, str] | None:
    """The first refused row's number and value, and how many more there are, said as a phrase: one aggregate
    counts them, and a second, only when there are some, finds the first."""
    count = int(fetch(bad.aggregate(count=bad.count()))[0]["count"])  # no row numbers unless one is refused
    if not count:
        return None
    found = fetch(bad.aggregate(row=bad[ROW].min(), value=raw.cast("string").argmin(bad[ROW])))[0]
    return int(found["row"]), found["value"], f" ({count} such values in all)" if count > 1 else ""


def blank_as_missing(table: ir.Table, columns: list[str]) -> ir.Table:
    """Blank or whitespace-only group values are missing values, one group, not two."""
    return table.mutate(**{name: table[name].cast("string").strip().nullif("") for name in dict.fromkeys(columns)})


class JudgedFromTheHead(Exception):  # noqa: N818 (not an error: a request to judge again)
    """The time format was judged from the file's head, and the column holds values further down that the head
    does not: the caller runs again with `whole=True`, judging it from the whole column (as the importer does)."""


def parse_times(table: ir.Table, column: str, source: str, *, checks: list[Check] | None = None,
                whole: bool = False) -> ir.Table:
    """The table with `column` as timestamps, in the format `analysis.time_formats` detects from its values
    (the importer's rule). A time that does not read in that format is an error naming the row; a blank one is
    a missing time.

    With `checks`, the times that do not read are counted by `engine.compute`, as `checked_columns` does, and
    unless `whole`, the format is judged from the file's head when the head holds fewer distinct values than the
    rule looks at: the count then also finds any value the head does not hold, and the check raises
    JudgedFromTheHead if there is one (the head's values, which come first in the file, are otherwise the first
    distinct values in order, so the judgement is the importer's). Its notes are given once the count is in."""
    if table[column].type().is_timestamp():
        return table
    raw = table[column].cast("string")
    values, head = _first_values(table, raw, whole=whole or checks is None)
    if not values:
        raise MetricError(f"{source}: column {column!r} has no times to group by; name the column that holds the "
                          "answers' times with `time`", parameter="time")
    time_format, ambiguous = time_formats.detect_format(values)
    if time_format is None:
        raise MetricError(f"{source}: column {column!r} holds times in a format voxpop does not know, e.g. "
                          f"{values[0]!r}; write them like {time_formats.example(time_formats.ISO)}")

    def note() -> None:
        if ambiguous:
            warnings.warn(MetricNote(f"column {column!r}: every date reads both as month/day and as day/month, so "
                                     "it was read month first; if the day comes first, write the dates as "
                                     "YYYY-MM-DD"), stacklevel=4)

    # The text as it is first, and stripped only where that does not read (COALESCE evaluates its second argument
    # only there): stripping every cell took longer than reading the file. The blank test is spelled otherwise, so
    # that DuckDB does not take the two for one expression and strip every cell once for both.
    parsed = timestamps(raw, time_format).coalesce(timestamps(raw.strip(), time_format))
    unread = parsed.isnull().ifelse(~(raw.isnull() | (raw.lstrip().rstrip() == "")), False)

    def refuse() -> None:
        """The first time that does not read, as an error naming its row, if there is one."""
        if found := _first_bad(table.filter(unread), table[column]):
            row, value, more = found
            raise MetricError(f"{source}: column {column!r} has the value {value!r} in data row {row}, which is not "
                              f"a time like the other rows' {time_formats.example(time_format)}{more}; fix it, or "
                              "leave the cell blank if the time is not known")

    if ROW not in table.columns or checks is None:
        note()
        if ROW in table.columns:
            refuse()
        return table.mutate(**{column: parsed})
    flags = {f"refused_{secrets.token_hex(6)}": unread}
    if head is not None:
        flags[f"unseen_{secrets.token_hex(6)}"] = ~raw.isin(sorted(value for value in head if value is not None)).fill_null(True)
    refused, *unseen = flags

    def verify(counts: dict[str, int]) -> None:
        if unseen and counts[unseen[0]]:
            raise JudgedFromTheHead(column)
        note()
        if counts[refused]:
            refuse()

    checks.append(Check(counts={flag: flag for flag in flags}, verify=verify))
    return table.mutate(**{column: parsed}, **flags)


HEAD_ROWS = 100_000  # the rows of a file's head whose time values are looked at first


def _first_values(table: ir.Table, raw: ir.StringValue, *, whole: bool) -> tuple[list[str], set[str] | None]:
    """The column's first `time_formats.DISTINCT` distinct values, stripped, blanks left out, in the order they
    first appear (the importer's rule), and None; or, when the file's head holds fewer and `whole` is False, the
    head's and the raw values it holds (the caller makes sure no other value follows). They are looked for in the
    file's head first; judged `whole`, a column with fewer distinct values there (dates, say) is grouped whole.
    Either way DuckDB groups the raw values, each with its first row, and they are ordered by it and tidied here:
    stripping each cell in the query took as long as reading the file."""
    wanted = time_formats.DISTINCT
    if ROW not in table.columns:  # a DataFrame's order is not the file's: any distinct values
        text = raw.strip()
        return [row["value"] for row in fetch(table.filter(text.notnull() & (text != "")).select(value=text)
                                              .distinct().limit(wanted))], None
    head = table.select(value=raw, row=table[ROW]).limit(HEAD_ROWS)
    groups = fetch(head.group_by("value").aggregate(first=head.row.min(), rows=head.count()).order_by("first"))
    found = _tidied(groups)
    if len(found) >= wanted or sum(group["rows"] for group in groups) < HEAD_ROWS:
        return found[:wanted], None
    if not whole:
        return found, {group["value"] for group in groups}
    firsts = table.group_by(value=raw).aggregate(first=table[ROW].min()).order_by("first")
    limit = wanted + 16  # room for blank and untidy values, which are left out or merged here
    while True:
        groups = fetch(firsts.limit(limit))
        found = _tidied(groups)
        if len(found) >= wanted or len(groups) < limit:
            return found[:wanted], None
        limit *= 2


def _tidied(groups: list[dict[str, Any]]) -> list[str]:
    """The groups' values, in their order, stripped, blanks left out, each once."""
    return list(dict.fromkeys(value.strip() for group in groups if (value := group["value"]) and value.strip()))


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
