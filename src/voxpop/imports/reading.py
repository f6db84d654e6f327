"""The records of an export file: one streamed record reader per kind (the csv module, openpyxl in read-only
mode, pyarrow batches), on the kind, encoding, delimiter and quoting that `analysis.files.sniff` found, the same
sniffing the metrics engine reads files with.

Cells come back as text exactly as given; nothing here guesses what a cell means.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from pathlib import Path
from typing import BinaryIO

from voxpop.analysis.files import CHUNK_BYTES, ExportFile, FileError, open_workbook, sniff
from voxpop.core.wording import first_line


class ImportFileError(FileError):
    """A file voxpop cannot import; the message says what is wrong and what to do."""


@dataclass
class FileSource(ExportFile):
    """How to read one file's records again and again."""

    def records(self, start: int = 0, end: int | None = None) -> Iterator[list[str | None]]:
        """Every record of the file, header rows included, as a list of cells; for a text file, optionally
        only those between two byte offsets that are record boundaries (see `record_boundary`)."""
        if self.kind == "xlsx":
            return _xlsx_records(self)
        if self.kind == "parquet":
            return _parquet_records(self.path)
        return _text_records(self, start, end)

    def record_boundary(self, near: int) -> int | None:
        """A byte offset at or after `near` where a record seems to begin: just after a line break outside
        quotes, judged by the parity of the quote characters before it. None when the file's encoding or line
        breaks do not allow the guess. It is a guess (a stray quote inside an unquoted value fools it): a reader
        of the records before it confirms it by ending outside a quoted value."""
        if self.kind != "text" or self.encoding not in ("utf-8", "utf-8-sig", "cp1252"):
            return None  # a quote or a line break is one byte only in these
        quoted = self.quoting != csv.QUOTE_NONE
        with self.path.open("rb") as handle:
            quotes = 0
            while quoted and handle.tell() < near:
                quotes += handle.read(min(CHUNK_BYTES, near - handle.tell())).count(b'"')
            handle.seek(near)
            offset = near
            while chunk := handle.read(CHUNK_BYTES):
                for line in chunk.splitlines(keepends=True):
                    offset += len(line)
                    quotes += line.count(b'"') if quoted else 0
                    if line.endswith(b"\n") and quotes % 2 == 0:
                        return offset
                if offset - near > 64 * CHUNK_BYTES:
                    return None
        return None


def inspect(path: Path) -> FileSource:
    """Decide how to read `path`, refusing files that are missing, empty, binary or in an unknown encoding."""
    try:
        sniffed = sniff(path)
    except FileError as exc:
        raise ImportFileError(str(exc)) from None
    return FileSource(**{name.name: getattr(sniffed, name.name) for name in fields(ExportFile)})


class _Bounded(io.RawIOBase):
    """The bytes of a binary file up to an offset."""

    def __init__(self, raw: BinaryIO, end: int):
        self.raw, self.end = raw, end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(max(0, min(len(buffer), self.end - self.raw.tell())))
        buffer[:len(data)] = data
        return len(data)


def _text_records(source: FileSource, start: int = 0, end: int | None = None) -> Iterator[list[str | None]]:
    """The csv module's records, its errors turned into sentences naming the row."""
    raw = source.path.open("rb")
    raw.seek(start)
    # A byte-order mark is only at the start of the file.
    encoding = "utf-8" if start and source.encoding == "utf-8-sig" else source.encoding
    stream = io.BufferedReader(_Bounded(raw, end)) if end is not None else raw
    with raw, io.TextIOWrapper(stream, encoding=encoding, newline="") as handle:
        records = csv.reader(handle, delimiter=source.delimiter, quoting=source.quoting, strict=True)
        number = 0
        try:
            for cells in records:
                number += 1
                yield cells
        except csv.Error as exc:
            raise ImportFileError(_csv_problem(source.path, number + 1, records.line_num, str(exc))) from None


def _csv_problem(path: Path, row: int, line: int, reason: str) -> str:
    where = f"{path.name}, row {row} (line {line})"
    if "unexpected end of data" in reason:
        return (f"{where}: the file ends inside a quoted value, so it looks cut off; download or export it "
                "again and import the complete file")
    if "field larger than field limit" in reason:
        return (f"{where}: a value is longer than {csv.field_size_limit() // 1024} KiB, which usually means a quote "
                "that is never closed; check the quotes around that row")
    if "NUL" in reason:
        return f"{where}: the file holds binary data (NUL bytes); export the responses as CSV, TSV or XLSX"
    return (f"{where}: the file is not valid CSV ({reason}); a quote inside a quoted value must be doubled (\"\"): "
            "fix that row or export the file again")


def _xlsx_records(source: FileSource) -> Iterator[list[str | None]]:
    """The first sheet's rows, numbers and datetimes written as text the way a person reads them."""
    try:
        workbook = open_workbook(source.path)
    except FileError as exc:
        raise ImportFileError(str(exc)) from None
    try:
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            yield [cell_text(value) for value in values]
    finally:
        workbook.close()


def _parquet_records(path: Path) -> Iterator[list[str | None]]:
    """A header record of column names, then the rows, read in batches so memory stays bounded."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 (pyarrow's reason names the damage)
        raise ImportFileError(f"{path.name} is not a readable Parquet file ({first_line(exc)}); write it again") from None
    names = [name for name in parquet.schema_arrow.names if name != "__index_level_0__"]
    yield list(names)
    batches = parquet.iter_batches(batch_size=10_000, columns=names)
    while True:
        try:  # the footer read, but a data page further in may be damaged: met only when its batch is read
            batch = next(batches)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 (pyarrow's reason names the damage)
            raise ImportFileError(f"{path.name} is not a readable Parquet file ({first_line(exc)}); write it again") from None
        for values in zip(*(column.to_pylist() for column in batch.columns), strict=True):
            yield [cell_text(value) for value in values]


def cell_text(value: object) -> str | None:
    """A spreadsheet or Parquet value as the text a person sees: 10.0 as "10", datetimes in ISO 8601."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)
