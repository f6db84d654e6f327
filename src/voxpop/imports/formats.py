"""The export layouts of the survey tools voxpop imports from, recognised from a file's first rows.

Each layout is a distinct, documented format:

- ``qualtrics``: Qualtrics' current CSV/TSV export. Three header rows: export tags (``StartDate``, ``Q1``,
  ``Q2_3``), question texts, and ImportIds, as JSON (``{"ImportId":"QID1"}``, sometimes with a
  ``"timeZone"``) or in the 2016 single-quoted style (``{'ImportId': 'QID2-1'}``). TSVs are UTF-16. ``-99``
  means the question was seen but not answered.
- ``qualtrics-legacy``: Qualtrics' export before 2016. Two header rows: ``V1..V10`` (ResponseID, ResponseSet,
  Name, ...) plus export tags, then the texts. A UTF-8 byte-order mark, and often a comma ending every line,
  which adds an unnamed empty column that is dropped with a warning.
- ``surveymonkey``: SurveyMonkey's CSV or XLSX. Two header rows: question texts, blank for a question's
  further columns, and sub-labels (``Response``, ``Open-Ended Response``, an option's text, or a comment
  box's prompt, which belongs to the question before it). Metadata columns ``Respondent ID``,
  ``Collector ID``, ``Start Date``, ``End Date`` in ``MM/DD/YYYY hh:mm:ss AM/PM``.
- ``typeform``: Typeform's CSV. A ``#`` response token first, question texts as headers (so repeated
  headers such as ``Other``), one column per option of a multi-select holding the option's text, and
  ``Start Date (UTC)``, ``Submit Date (UTC)``, ``Network ID`` last.
- ``googleforms``: a Google Forms response sheet as CSV, TSV or XLSX. A ``Timestamp`` first column in
  ``M/D/YYYY H:MM:SS`` (the form's time zone, unstated), question texts as headers, and multi-select answers
  joined with ``", "`` in one cell. Google Sheets' TSV download quotes nothing.
- ``limesurvey``: LimeSurvey's CSV with question codes as headers: ``id``, ``submitdate``, ``lastpage``,
  ``startlanguage``, ``seed``, then codes such as ``Q1`` and ``Q2[SQ001]`` (one column per subquestion,
  ``Y`` when a multiple-choice option was ticked).
- ``csv``: any other CSV, TSV, XLSX or Parquet file with one header row; a mapping file says what the
  columns are when detection cannot.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path

from voxpop.analysis.files import QUALTRICS_EXTRA_HEADER_ROWS, qualtrics_layout
from voxpop.core.wording import counted
from voxpop.imports.reading import FileSource, ImportFileError, inspect

__all__ = ["FORMATS", "Advice", "Export", "ImportFileError", "ImportParameterError", "SourceColumn", "layout_name",
           "open_export"]

FORMATS = ("qualtrics", "qualtrics-legacy", "surveymonkey", "typeform", "googleforms", "limesurvey", "csv")
SOURCES = ("auto", "qualtrics", "surveymonkey", "typeform", "googleforms", "limesurvey", "csv")
HEADER_ROWS = {**{layout: rows + 1 for layout, rows in QUALTRICS_EXTRA_HEADER_ROWS.items()}, "surveymonkey": 2}
LAYOUTS = {"qualtrics": "a Qualtrics export", "qualtrics-legacy": "a Qualtrics export in the layout before 2016",
           "surveymonkey": "a SurveyMonkey export", "typeform": "a Typeform export", "googleforms": "a Google Forms export",
           "limesurvey": "a LimeSurvey export", "csv": "a table with one header row"}
DELIMITED = {",": "CSV", "\t": "TSV", ";": "CSV separated by ';'", "|": "text separated by '|'"}
IMPORT_ID_PAIR = re.compile(r"""["'](\w+)["']\s*:\s*["']([^"']*)["']""")
SURVEYMONKEY_SUB_LABELS = {"Response", "Open-Ended Response"}
GOOGLE_TIMESTAMPS = {"Timestamp", "Marca temporal", "Horodateur", "Zeitstempel", "Carimbo de data/hora",
                     "Informazioni cronologiche", "Tijdstempel"}
LIMESURVEY_CODES = {"id", "submitdate", "lastpage", "startlanguage", "seed", "startdate", "datestamp"}


class ImportParameterError(ImportFileError):
    """A file that one of the import's parameters would let voxpop import. The message says what is wrong and
    what to do in plain words; `parameter` names the parameter that does it (skip_invalid, mapping, timezone,
    source_format), and each interface says how to give it in its own terms (an option, a form field)."""

    def __init__(self, message: str, *, parameter: str):
        super().__init__(message)
        self.parameter = parameter


class Advice(str):
    """A warning that one of the import's parameters settles, named by `parameter` as in ImportParameterError."""

    parameter: str

    def __new__(cls, text: str, parameter: str) -> Advice:
        advice = super().__new__(cls, text)
        advice.parameter = parameter
        return advice

    def __reduce__(self):  # a mapping, warnings included, crosses to an import's parsing process
        return type(self), (str(self), self.parameter)


@dataclass(frozen=True)
class SourceColumn:
    """One column of an export, with what its header rows say about it."""

    position: int  # 0-based
    header: str  # the export tag, or the first header row's text as given ("" when empty)
    label: str | None  # the question text
    sub_label: str | None = None  # SurveyMonkey's second header row
    import_id: str | None = None  # Qualtrics' third header row
    time_zone: str | None = None  # the zone Qualtrics' ImportId names for a time column


@dataclass
class Export:
    """An export file, its layout and columns; `rows()` streams its responses."""

    format: str
    path: Path
    encoding: str | None
    columns: list[SourceColumn]
    warnings: list[str]
    header_rows: int = 1
    source: FileSource | None = field(default=None, repr=False)

    def rows(self, *, start: int = 0, end: int | None = None) -> Iterator[tuple[int, list[str | None]]]:
        """Each response as (row number, cells), streamed; every call starts again from the top.

        The row number counts records from 1 with the header rows included, as a spreadsheet numbers its
        rows (a record with a line break inside a quoted comment is one row, so this can differ from the
        text line). Cells are text as given, padded with None to the number of columns. Blank rows are skipped.
        A row with fewer cells is padded, except a last row cut off without a line break, which means the
        file is truncated; cells beyond the columns must be blank (trailing delimiters), else the file is
        refused, since they would otherwise be lost.

        `start` and `end` (byte offsets of record boundaries, text files only) read a part of the file, for the
        mapping pass in two processes: a part after the start has no header rows, and its row numbers count
        from that part's first record.
        """
        width = len(self.columns)
        records = self.source.records(start, end)
        for _ in islice(records, 0 if start else self.header_rows):
            pass
        pending = None
        for number, cells in enumerate(records, start=1 if start else self.header_rows + 1):
            if pending is not None:
                yield pending
                pending = None
            if len(cells) == width:
                if any(cells):
                    yield number, cells
            elif len(cells) < width:
                if any(cells):
                    pending = number, cells + [None] * (width - len(cells))
            elif any(cells[width:]):
                raise ImportFileError(self._overflow_message(number, cells))
            elif any(cells):
                yield number, cells[:width]
        if pending is not None:
            if self.source.kind == "text" and not self.source.ends_with_line_break and end is None:
                raise ImportFileError(f"{self.path.name}, row {pending[0]}: the last row is shorter than the header "
                                      "and has no line break at its end, so the file looks cut off; download or "
                                      "export it again and import the complete file")
            yield pending

    def _overflow_message(self, number: int, cells: list[str | None]) -> str:
        delimiter = self.source.delimiter if self.source.kind == "text" else ","
        return (f"{self.path.name}, row {number} has {len(cells)} cells but the header has {len(self.columns)} "
                f"columns; a value holding an unquoted {delimiter!r} splits in two: quote that value, or check "
                "that the header row is complete")


def layout_name(export: Export) -> str:
    """How the file was read, in words: "a Google Forms export (XLSX)", "a Qualtrics export (CSV, UTF-8)"."""
    source = export.source
    if source is None or source.kind != "text":
        kind = source.kind.upper() if source is not None and source.kind == "xlsx" else "Parquet"
    else:
        kind = DELIMITED.get(source.delimiter, f"text separated by {source.delimiter!r}")
        kind += f", {source.encoding.removesuffix('-sig').upper()}" if source.encoding else ""
    return f"{LAYOUTS[export.format]} ({kind})"


def open_export(path: Path, *, source: str = "auto") -> Export:
    """Open an export file, recognise its layout (or check the one `source` names) and read its header rows."""
    if source not in SOURCES:
        raise ImportFileError(f"unknown source {source!r}; use one of: {', '.join(SOURCES)}")
    path = Path(path)
    file = inspect(path)
    head = [[cell or "" for cell in cells] for cells in islice(file.records(), 4)]
    detected = detect_format(head)
    export_format = _chosen_format(detected, source, path)
    header_rows = HEADER_ROWS.get(export_format, 1)
    if len(head) < header_rows:
        raise ImportFileError(f"{path.name} has fewer rows than the {header_rows} header rows of a {export_format} "
                              "export; export the responses again")
    columns = _columns(export_format, head[:header_rows])
    warnings = list(file.warnings)
    columns = _without_trailing_unnamed(columns, path, warnings)
    if len(columns) == 1 and file.kind == "text":
        warnings.append(f"{path.name} has only one column; if it is delimited by something other than ',', tab, "
                        "';' or '|', save it as CSV and import it again")
    export = Export(export_format, path, file.encoding, columns, warnings, header_rows, file)
    if next(export.rows(), None) is None:
        raise ImportFileError(f"{path.name} has its header but no responses; export the responses again, "
                              "or check that the survey has any")
    return export


def detect_format(head: list[list[str]]) -> str:
    """The layout of an export from its first rows (cells as text, blanks as "")."""
    first = [cell.strip() for cell in head[0]] if head else []
    second = head[1] if len(head) > 1 else []
    if qualtrics := qualtrics_layout(head):
        return qualtrics
    if "Respondent ID" in first and any(cell.strip() in SURVEYMONKEY_SUB_LABELS for cell in second):
        return "surveymonkey"
    if first[:1] == ["#"] or {"Submit Date (UTC)", "Network ID"} <= set(first):
        return "typeform"
    if first[:1] and first[0] in GOOGLE_TIMESTAMPS:
        return "googleforms"
    if len(LIMESURVEY_CODES & set(first)) >= 3:
        return "limesurvey"
    return "csv"


def _chosen_format(detected: str, source: str, path: Path) -> str:
    """The detected layout, checked against the one the user named."""
    if source in ("auto", detected) or (source == "qualtrics" and detected == "qualtrics-legacy"):
        return detected
    if source == "csv":
        return "csv"
    if source in HEADER_ROWS or detected != "csv":
        looks = f"it looks like a {detected} export" if detected != "csv" else "it has one header row"
        raise ImportParameterError(f"{path.name} is not laid out as a {source} export ({looks}); let voxpop "
                                   "detect the format, or read it as a plain CSV with a mapping file",
                                   parameter="source_format")
    return source  # a one-header-row layout the user vouches for (e.g. Google Forms in another language)


def _columns(export_format: str, head: list[list[str]]) -> list[SourceColumn]:
    """The columns, their question texts and sub-labels with HTML entities decoded (Qualtrics writes
    "Chocolate with &gt;80% cocoa"); the export tags stay as given, since mapping files name columns by them."""
    width = max(len(row) for row in head)
    rows = [row + [""] * (width - len(row)) for row in head]
    return [replace(column, label=column.label and html.unescape(column.label),
                    sub_label=column.sub_label and html.unescape(column.sub_label))
            for column in _read_columns(export_format, rows)]


def _read_columns(export_format: str, rows: list[list[str]]) -> list[SourceColumn]:
    if export_format == "qualtrics":
        return [_qualtrics_column(position, *cells) for position, cells in enumerate(zip(*rows, strict=True))]
    if export_format == "qualtrics-legacy":
        return [SourceColumn(position, header, label or None)
                for position, (header, label) in enumerate(zip(*rows, strict=True))]
    if export_format == "surveymonkey":
        return _surveymonkey_columns(rows)
    return [SourceColumn(position, header, header.strip() or None) for position, header in enumerate(rows[0])]


def _qualtrics_column(position: int, header: str, label: str, import_cell: str) -> SourceColumn:
    pairs = dict(IMPORT_ID_PAIR.findall(import_cell))
    return SourceColumn(position, header, label or None, import_id=pairs.get("ImportId"),
                        time_zone=pairs.get("timeZone"))


def _surveymonkey_columns(rows: list[list[str]]) -> list[SourceColumn]:
    """Question texts carried to the question's further columns, whose first header cell is blank."""
    columns, question = [], None
    for position, (text, sub_label) in enumerate(zip(*rows, strict=True)):
        if text.strip():
            question = text
        columns.append(SourceColumn(position, text, question, sub_label=sub_label or None))
    return columns


def _without_trailing_unnamed(columns: list[SourceColumn], path: Path, warnings: list[str]) -> list[SourceColumn]:
    """Drop columns at the end with no header at all (a delimiter ending every line)."""
    kept = list(columns)
    while kept and not kept[-1].header.strip() and not kept[-1].label and not kept[-1].sub_label:
        kept.pop()
    if dropped := len(columns) - len(kept):
        warnings.append(f"{path.name}: dropped {counted(dropped, 'unnamed column')} at the end of the header (every line "
                        "ends with a delimiter); a value in them would stop the import")
    return kept
