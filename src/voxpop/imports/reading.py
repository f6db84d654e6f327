"""The bytes of an export file as records of cells: which kind of file it is, its text encoding, delimiter and
quoting, and one streamed record reader per kind (the csv module, openpyxl in read-only mode, pyarrow batches).

Cells come back as text exactly as given; nothing here guesses what a cell means.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import BinaryIO


class ImportFileError(ValueError):
    """A file voxpop cannot read; the message says what is wrong and what to do."""


SNIFF_BYTES = 1 << 16
CHUNK_BYTES = 1 << 20
DELIMITERS = (",", "\t", ";", "|")
QUOTED = re.compile(r'"(?:[^"]|"")*"')
DELIMITER_NAMES = {",": "','", "\t": "tab", ";": "';'", "|": "'|'"}
# Magic numbers of the binary files people most often pick by mistake, and what to tell them.
SIGNATURES = {
    b"PK\x03\x04": "xlsx",
    b"PAR1": "parquet",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls (or another Office) file; save it as .xlsx or CSV and import that",
    b"%PDF": "a PDF document, not a data export; export the responses as CSV, TSV or XLSX",
    b"\x1f\x8b": "a gzip-compressed file; unpack it first",
}


@dataclass
class FileSource:
    """How to read one file's records again and again: its kind and, for text, the encoding and dialect."""

    path: Path
    kind: str  # "text" | "xlsx" | "parquet"
    encoding: str | None = None
    delimiter: str = ","
    quoting: int = csv.QUOTE_MINIMAL
    ends_with_line_break: bool = True
    warnings: list[str] = field(default_factory=list)

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
    """Decide how to read `path`, refusing files that are empty, binary or in an unknown encoding."""
    if not path.is_file():
        raise ImportFileError(f"{path} does not exist or is not a file; check the path")
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
        handle.seek(max(size - 2, 0))
        tail = handle.read()
    if not head.strip(b" \t\r\n\xef\xbb\xbf\x00\xff\xfe"):
        raise ImportFileError(f"{path.name} is empty; export the responses again and import the new file")
    for magic, what in SIGNATURES.items():
        if head.startswith(magic):
            if what == "xlsx":
                return FileSource(path, what, warnings=_sheet_warnings(path))
            if what == "parquet":
                return FileSource(path, what)
            raise ImportFileError(f"{path.name} is {what}")
    encoding, warnings = _text_encoding(path, head)
    source = FileSource(path, "text", encoding=encoding, warnings=warnings,
                        ends_with_line_break=tail.endswith((b"\n", b"\r", b"\n\x00", b"\r\x00")))
    lines = _first_lines(head, encoding)
    source.delimiter = _delimiter(lines[0] if lines else "", path, source.warnings)
    # Google Sheets' TSV download quotes nothing (a comment may start with a literal "), while a quoting TSV
    # writer (Qualtrics) quotes its ImportId cells: look for a wholly quoted cell in the first lines.
    if source.delimiter == "\t" and not any(QUOTED.fullmatch(cell) for line in lines for cell in line.split("\t")):
        source.quoting = csv.QUOTE_NONE
    return source


def _text_encoding(path: Path, head: bytes) -> tuple[str, list[str]]:
    """UTF-16 or UTF-8 by byte-order mark, else UTF-8 if the whole file decodes, else Windows-1252 (warned)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", []
    if b"\x00" in head:
        raise ImportFileError(f"{path.name} holds binary data (NUL bytes), so it is not a text export; export the "
                              "responses as CSV, TSV or XLSX and import that file")
    utf8 = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    bad_offset = _first_undecodable_byte(path, "utf-8")
    if bad_offset is None:
        return utf8, []
    if _first_undecodable_byte(path, "cp1252") is not None:
        raise ImportFileError(f"{path.name} is neither UTF-8, UTF-16 nor Windows-1252 text (byte offset {bad_offset}); "
                              "save it as CSV UTF-8 and import it again")
    return "cp1252", [(f"{path.name} is not UTF-8 (first at byte offset {bad_offset}), so it was read as Windows-1252; "
                      "if accented letters look wrong, save the file as CSV UTF-8 and import it again")]


def _first_undecodable_byte(path: Path, encoding: str) -> int | None:
    """The offset of the first byte that does not decode, or None; one streamed pass over the file."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset + exc.start
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset
    return None


def _first_lines(head: bytes, encoding: str) -> list[str]:
    return head.decode(encoding, errors="replace").lstrip("\ufeff").splitlines()[:4]


def _delimiter(first_line: str, path: Path, warnings: list[str]) -> str:
    """The delimiter that splits the header line into the most columns; the file name breaks ties."""
    expected = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    counts = {candidate: len(next(csv.reader([first_line], delimiter=candidate), [])) for candidate in DELIMITERS}
    best = max(counts.values())
    if counts[expected] == best:
        return expected
    chosen = next(candidate for candidate in DELIMITERS if counts[candidate] == best)
    warnings.append(f"{path.name} is delimited by {DELIMITER_NAMES[chosen]}, not {DELIMITER_NAMES[expected]}, "
                    f"so it was read that way ({best} columns)")
    return chosen


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
    workbook = _open_workbook(source.path)
    try:
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            yield [cell_text(value) for value in values]
    finally:
        workbook.close()


def _open_workbook(path: Path):
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 (a ZIP that is not a workbook, or a damaged one: its reason is the clue)
        raise ImportFileError(f"{path.name} is not a readable XLSX workbook ({exc}); open it in a spreadsheet "
                              "program and save it as .xlsx or CSV again") from None


def _sheet_warnings(path: Path) -> list[str]:
    workbook = _open_workbook(path)
    try:
        sheets = workbook.sheetnames
    finally:
        workbook.close()
    if len(sheets) > 1:
        return [f"{path.name} has {len(sheets)} sheets; only the first, {sheets[0]!r}, was read"]
    return []


def _parquet_records(path: Path) -> Iterator[list[str | None]]:
    """A header record of column names, then the rows, read in batches so memory stays bounded."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 (pyarrow's reason names the damage)
        raise ImportFileError(f"{path.name} is not a readable Parquet file ({exc}); write it again") from None
    names = [name for name in parquet.schema_arrow.names if name != "__index_level_0__"]
    yield list(names)
    for batch in parquet.iter_batches(batch_size=10_000, columns=names):
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
