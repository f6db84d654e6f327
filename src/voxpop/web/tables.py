"""A page's table as CSV: one writer for every "Download as CSV" link, so each quotes formula cells the same way."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.responses import Response

# A spreadsheet runs a cell starting with one of these as a formula; OWASP's advice for CSV injection is to
# prefix such a cell with a single quote, so it is shown as the text it is.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters an XLSX cell cannot hold (XML 1.0 forbids them); openpyxl refuses the whole file over one.
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_cell(value: Any) -> Any:
    """A text cell as a spreadsheet should show it: a leading formula character quoted (OWASP), and characters
    XML cannot hold removed."""
    if not isinstance(value, str):
        return value
    value = XML_ILLEGAL.sub("", value)
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The table as CSV text; an empty cell for None, text cells made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_cell(cell) for cell in header])
    writer.writerows([safe_cell(cell) if cell is not None else "" for cell in row] for row in rows)
    return buffer.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """The table as a CSV download named `filename` (".csv" added)."""
    name = re.sub(r'[^A-Za-z0-9._-]', "-", filename)
    return Response(csv_text(header, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
