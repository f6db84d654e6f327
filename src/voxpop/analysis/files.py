"""How an export file is read: its kind (text, XLSX or Parquet) and, for text, its encoding, delimiter and quoting.

One sniffer serves every reader, so the importer (which streams records with the csv module) and the metrics
engine (which hands the file to DuckDB) accept the same files: UTF-8 with or without a byte-order mark, UTF-16
with its mark, else Windows-1252 (with a warning); delimited by ',', tab, ';' or '|'. Both skip the rows a
Qualtrics export writes under its column names.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path


class FileError(ValueError):
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
    b"\xd0\xcf\x11\xe0": "an old Excel .xls (or another Office) file; save it as .xlsx or CSV and use that",
    b"%PDF": "a PDF document, not a data export; export the data as CSV, TSV or XLSX",
    b"\x1f\x8b": "a gzip-compressed file; unpack it first",
}
IMPORT_ID = re.compile(r"""^\{\s*["']ImportId["']\s*:""")
# The rows each Qualtrics layout writes under its column names: the question texts, then (since 2016) ImportIds.
QUALTRICS_EXTRA_HEADER_ROWS = {"qualtrics": 2, "qualtrics-legacy": 1}


@dataclass
class ExportFile:
    """What a reader needs to know of one file: its kind and, for text, the encoding and dialect."""

    path: Path
    kind: str  # "text" | "xlsx" | "parquet"
    encoding: str | None = None  # a Python codec: utf-8, utf-8-sig, utf-16 or cp1252
    delimiter: str = ","
    quoting: int = csv.QUOTE_MINIMAL
    ends_with_line_break: bool = True
    extra_header_rows: int = 0  # rows under the column names that are not data (Qualtrics' question texts, ImportIds)
    warnings: list[str] = field(default_factory=list)


def sniff(path: Path) -> ExportFile:
    """Decide how to read `path`, refusing files that are missing, empty, binary or in an unknown encoding."""
    if not path.is_file():
        raise FileError(f"{path} does not exist or is not a file; check the path")
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
        handle.seek(max(size - 2, 0))
        tail = handle.read()
    if not head.strip(b" \t\r\n\xef\xbb\xbf\x00\xff\xfe"):
        raise FileError(f"{path.name} is empty; export the data again and use the new file")
    for magic, what in SIGNATURES.items():
        if head.startswith(magic):
            if what == "xlsx":
                return _sniffed_workbook(path)
            if what == "parquet":
                return ExportFile(path, what)
            raise FileError(f"{path.name} is {what}")
    encoding, warnings = _text_encoding(path, head)
    sniffed = ExportFile(path, "text", encoding=encoding, warnings=warnings,
                         ends_with_line_break=tail.endswith((b"\n", b"\r", b"\n\x00", b"\r\x00")))
    lines = head.decode(encoding, errors="replace").lstrip("\ufeff").splitlines()[:4]
    sniffed.delimiter = _delimiter(lines[0] if lines else "", path, sniffed.warnings)
    # Google Sheets' TSV download quotes nothing (a comment may start with a literal "), while a quoting TSV
    # writer (Qualtrics) quotes its ImportId cells: look for a wholly quoted cell in the first lines.
    if sniffed.delimiter == "\t" and not any(QUOTED.fullmatch(cell) for line in lines for cell in line.split("\t")):
        sniffed.quoting = csv.QUOTE_NONE
    sniffed.extra_header_rows = QUALTRICS_EXTRA_HEADER_ROWS.get(qualtrics_layout(_text_head(sniffed)), 0)
    return sniffed


def qualtrics_layout(head: list[list[str]]) -> str | None:
    """"qualtrics" when a file's third record is mostly ImportIds, "qualtrics-legacy" when its header begins V1,
    V2 (Qualtrics' export before 2016), else None; `head` is the first records, blanks as ""."""
    if len(head) >= 3 and _mostly_import_ids(head[2]):
        return "qualtrics"
    first = [cell.strip() for cell in head[0]] if head else []
    if first[:1] == ["V1"] and len(first) > 1 and re.fullmatch(r"V\d+", first[1]):
        return "qualtrics-legacy"
    return None


def _mostly_import_ids(cells: list[str]) -> bool:
    filled = [cell for cell in cells if cell.strip()]
    return bool(filled) and sum(bool(IMPORT_ID.match(cell.strip())) for cell in filled) * 2 >= len(filled)


def _text_head(sniffed: ExportFile) -> list[list[str]]:
    """The first three records as the csv module reads them (a question text may hold a line break)."""
    with sniffed.path.open(encoding=sniffed.encoding, errors="replace", newline="") as handle:
        records = csv.reader(handle, delimiter=sniffed.delimiter, quoting=sniffed.quoting)
        try:
            return list(islice(records, 3))
        except csv.Error:  # a damaged file: its readers name the row
            return []


def _text_encoding(path: Path, head: bytes) -> tuple[str, list[str]]:
    """UTF-16 or UTF-8 by byte-order mark, else UTF-8 if the whole file decodes, else Windows-1252 (warned)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", []
    if b"\x00" in head:
        raise FileError(f"{path.name} holds binary data (NUL bytes), so it is not a text export; export the data "
                        "as CSV, TSV or XLSX and use that file")
    utf8 = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    bad_offset = first_undecodable_byte(path, "utf-8")
    if bad_offset is None:
        return utf8, []
    if first_undecodable_byte(path, "cp1252") is not None:
        raise FileError(f"{path.name} is neither UTF-8, UTF-16 nor Windows-1252 text (byte offset {bad_offset}); "
                        "save it as CSV UTF-8 and try again")
    return "cp1252", [(f"{path.name} is not UTF-8 (first at byte offset {bad_offset}), so it was read as Windows-1252; "
                      "if accented letters look wrong, save the file as CSV UTF-8 and try again")]


def first_undecodable_byte(path: Path, encoding: str) -> int | None:
    """The offset of the first byte that does not decode, or None; one streamed pass over the file."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            if chunk.isascii() and not decoder.getstate()[0]:  # most of an export: no need to build its text
                offset += len(chunk)
                continue
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


def open_workbook(path: Path):
    """An XLSX workbook in read-only mode, or a FileError saying how to save it again."""
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 (a ZIP that is not a workbook, or a damaged one: its reason is the clue)
        raise FileError(f"{path.name} is not a readable XLSX workbook ({exc}); open it in a spreadsheet "
                        "program and save it as .xlsx or CSV again") from None


def _sniffed_workbook(path: Path) -> ExportFile:
    """An XLSX file's header rows, and a warning when it has sheets that are not read. Calamine (Rust) reads
    them several times faster than openpyxl; a workbook it cannot open gets openpyxl's reason (or is read by it)."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheets = workbook.sheet_names
        head = [[str(value) for value in row] for row in workbook.get_sheet_by_index(0).to_python(nrows=3)]
    except Exception:  # noqa: BLE001 (openpyxl's message says what is wrong with the file)
        sheets, head = _workbook_head(path)
    sniffed = ExportFile(path, "xlsx", extra_header_rows=QUALTRICS_EXTRA_HEADER_ROWS.get(qualtrics_layout(head), 0))
    if len(sheets) > 1:
        sniffed.warnings.append(f"{path.name} has {len(sheets)} sheets; only the first, {sheets[0]!r}, was read")
    return sniffed


def _workbook_head(path: Path) -> tuple[list[str], list[list[str]]]:
    """A workbook's sheet names and first three rows, by openpyxl."""
    workbook = open_workbook(path)
    try:
        return workbook.sheetnames, [["" if value is None else str(value) for value in row]
                                     for row in islice(workbook.worksheets[0].iter_rows(values_only=True), 3)]
    finally:
        workbook.close()


def utf8_copy(text_file: ExportFile, folder: Path) -> Path:
    """The file's text written again as UTF-8 into `folder`, streamed, for a reader that cannot decode its
    encoding itself (DuckDB reads UTF-8 and UTF-16 only)."""
    handle, copy = tempfile.mkstemp(suffix=text_file.path.suffix, dir=folder)
    with (text_file.path.open(encoding=text_file.encoding, newline="") as source,
          os.fdopen(handle, "w", encoding="utf-8", newline="") as target):
        shutil.copyfileobj(source, target, CHUNK_BYTES)
    return Path(copy)
