"""Transaction files, read by DuckDB into one shape: CDNOW's whitespace-separated text files, and CSV (or TSV,
Parquet, XLSX) exports with a customer, a date and an amount column.

The table holds one row per transaction: `customer` (text as written, so zero-padded ids stay padded),
`date` (a date), `amount` (a number) and `_row`, the file's data row, so that errors can name it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import ibis
import ibis.expr.types as ir

from voxpop.analysis.engine import MetricError, count_if
from voxpop.analysis.sources import ROW, checked_numbers, read_file, require_columns, timestamps
from voxpop.analysis.time_formats import CANDIDATES, ISO

SourceFormat = Literal["auto", "cdnow", "csv"]
CDNOW_HEADER = ["customer_id", "date", "number_of_cds", "dollar_value"]
# A CDNOW line: customer id, in the 1/10 sample also the sample's own id, then YYYYMMDD, CDs and dollars.
CDNOW_LINE = re.compile(r"^\s*\d+(\s+\d+)?\s+\d{8}\s+\d+\s+-?\d+(\.\d+)?\s*$")
CDNOW_FIELDS = {4: "master", 5: "sample"}  # fields per line -> which CDNOW file it is
CDNOW_DATE = "%Y%m%d"


@dataclass(frozen=True)
class Transactions:
    """A transaction file read into the engine, with what was left out of it said."""

    table: ir.Table  # _row, customer, date, amount
    source_format: str  # "cdnow-master", "cdnow-sample" or "csv"
    without_customer: int  # rows with a blank customer id: left out and counted, never given an invented id


def read_transactions(path: Path, *, source_format: SourceFormat = "auto", customer: str = "customer",
                      date_column: str = "date", amount: str = "amount", cost: str | None = None,
                      keep: tuple[str, ...] = ()) -> Transactions:
    """The transactions of a CDNOW or CSV-like file (or a folder of daily CSV files of one layout); the column
    names apply to CSV-like files only, and `keep` names more columns to keep as they are (e.g. a segment)."""
    path = Path(path)
    if source_format not in ("auto", "cdnow", "csv"):
        raise MetricError(f"Choose `source_format` from auto, cdnow or csv; {source_format!r} is not one of them",
                          parameter="source_format")
    if path.is_dir():
        return _read_table(path, customer=customer, date_column=date_column, amount=amount, cost=cost, keep=keep)
    if not path.exists():
        raise MetricError(f"{path} does not exist; check the path")
    if path.stat().st_size == 0:
        raise MetricError(f"{path} is empty; export the transactions again")
    chosen = detect_format(path) if source_format == "auto" else source_format
    if chosen == "cdnow" and keep:
        raise MetricError(f"{path} is a CDNOW file, which has no column {keep[0]!r} to group by")
    if chosen == "cdnow":
        return _read_cdnow(path)
    return _read_table(path, customer=customer, date_column=date_column, amount=amount, cost=cost, keep=keep)


def detect_format(path: Path) -> Literal["cdnow", "csv"]:
    """"cdnow" when the first line is CDNOW's header or a CDNOW data line, else "csv"."""
    if path.suffix.lower() in (".parquet", ".xlsx", ".xlsm"):
        return "csv"
    with path.open("rb") as handle:
        head = handle.read(4096).decode("utf-8", errors="replace")
    first = next((line for line in head.splitlines() if line.strip()), "")
    return "cdnow" if first.split() == CDNOW_HEADER or CDNOW_LINE.match(first) else "csv"


def _read_cdnow(path: Path) -> Transactions:
    """CDNOW_master.txt (header; id, date, CDs, dollars) or CDNOW_sample.txt (no header; master id, sample id,
    date, CDs, dollars): the customer is the master id, kept as text."""
    with path.open("rb") as handle:
        has_header = handle.readline().decode("utf-8", errors="replace").split() == CDNOW_HEADER
    connection = ibis.duckdb.connect()
    # One text column per line (the unit separator never occurs); parallel=False keeps the file's row order.
    lines = connection.read_csv(path, columns={"line": "VARCHAR"}, delim="\x1f", header=False, quote="", escape="",
                                auto_detect=False, parallel=False, skip=1 if has_header else 0)
    lines = lines.mutate(**{ROW: ibis.row_number() + 1})
    lines = lines.filter(lines.line.notnull() & (lines.line.strip() != ""))
    fields = lines.line.strip().re_split(r"\s+")
    lines = lines.mutate(fields=fields, width=fields.length())
    counts = lines.group_by("width").aggregate(rows=lines.count(), first=lines[ROW].min()).order_by("first").execute()
    if counts.empty:
        raise MetricError(f"{path} has a header but no data rows")
    width = int(counts["width"].iloc[0])
    if width not in CDNOW_FIELDS:
        raise MetricError(f"{path} is not a CDNOW file: its data rows have {width} fields, where CDNOW's have 4 "
                          "(customer, date, CDs, dollars) or 5 (with the sample id); read other files with "
                          "`source_format` csv", parameter="source_format")
    if len(counts) > 1:
        row = int(counts["first"].iloc[1])
        raise MetricError(f"{path}: data row {row} has {int(counts['width'].iloc[1])} fields where the rows before it "
                          f"have {width}; fix or remove that row")
    date_field, amount_field = (1, 3) if width == 4 else (2, 4)
    text = lines.select(ROW, customer=lines.fields[0], date=lines.fields[date_field], amount=lines.fields[amount_field])
    # DuckDB reads 1997011 as %Y%m%d too; CDNOW's dates are always eight digits.
    not_eight_digits = text.filter(~text.date.re_search(r"^[0-9]{8}$"))
    if not_eight_digits.count().execute():
        _refuse_date(not_eight_digits, not_eight_digits.date, str(path), "date", CDNOW_DATE)
    table = _parsed_dates(text, "date", [CDNOW_DATE], str(path))
    table = checked_numbers(table, "amount", str(path))
    return Transactions(table=table.select(ROW, "customer", "date", "amount"),
                        source_format=f"cdnow-{CDNOW_FIELDS[width]}", without_customer=0)


# UCI Online Retail (Chen et al. 2012): invoices, cancellations as "C" invoices with negative quantities, and
# stock codes that are not products (postage, discounts, fees), which count apart from revenue.
ONLINE_RETAIL = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]
NOT_PRODUCTS = ["POST", "DOT", "D", "M", "C2", "CRUK", "PADS", "AMAZONFEE", "BANK CHARGES", "S", "B", "m"]


def _online_retail(table: ir.Table, source: str) -> ir.Table:
    """Lines of the Online Retail layout with their amount (quantity × unit price), invoice, product and kind."""
    table = checked_numbers(checked_numbers(table, "Quantity", source), "UnitPrice", source)
    invoice = table.InvoiceNo.strip()
    product = table.StockCode.strip()
    kind = ibis.cases((product.isin(NOT_PRODUCTS), "non_product"), (invoice.startswith("C"), "cancellation"),
                      else_="sale")
    return table.mutate(amount=(table.Quantity.cast("float64") * table.UnitPrice.cast("float64")).round(2),
                        quantity=table.Quantity.cast("float64"), invoice=invoice, product=product, kind=kind)


def _read_table(path: Path, *, customer: str, date_column: str, amount: str, cost: str | None = None,
                keep: tuple[str, ...] = ()) -> Transactions:
    """A CSV, TSV, Parquet or XLSX export with the named customer, date and amount columns (or the Online
    Retail layout, recognised by its columns)."""
    source = str(path)
    table = read_file(path)
    extra = []
    if cost:  # the cost to serve each line, for profitability (blank: not known)
        require_columns(table, [cost], source)
        table = checked_numbers(table.mutate(cost=table[cost]), "cost", source)
        extra = ["cost"]
    if all(name in table.columns for name in ONLINE_RETAIL) and amount not in table.columns:
        table = _online_retail(table, source)
        customer, date_column, amount = "CustomerID", "InvoiceDate", "amount"
        extra = [*extra, "quantity", "invoice", "product", "kind"]
    require_columns(table, [customer, date_column, amount, *keep], source)
    # Ids exported from a float column (17850.0) are the same customer as 17850.
    ids = table[customer].cast("string").strip().re_replace(r"^(\d+)\.0+$", r"\1").nullif("")
    table = table.mutate(customer=ids, date=table[date_column], amount=table[amount]).select(
        ROW, "customer", "date", "amount", *extra, *(name for name in keep if name not in extra))
    without_customer = int(table.customer.isnull().ifelse(1, 0).sum().execute() or 0)
    table = table.filter(table.customer.notnull())
    table = _parsed_dates(table, "date", [*CANDIDATES, CDNOW_DATE], source, name=date_column)
    retail = "kind" in extra
    if not retail:
        table = checked_numbers(table, "amount", source)
    return Transactions(table=table, source_format="online-retail" if retail else "csv",
                        without_customer=without_customer)


def _parsed_dates(table: ir.Table, column: str, formats: list[str], source: str, *,
                  name: str | None = None) -> ir.Table:
    """The table with `column` as dates, read in the first of `formats` that reads every row; otherwise an
    error naming the first row that the best format cannot read."""
    name = name or column
    text = table[column].strip()
    blank = table.filter(text.isnull() | (text == "")).order_by(ROW).limit(1).execute()
    if len(blank):
        raise MetricError(f"{source}: data row {int(blank[ROW].iloc[0])} has no {name!r}; every transaction "
                          "needs its date, so fill it in or remove the row")
    failures = table.aggregate(**{f"format_{i}": count_if(timestamps(text, fmt).isnull())
                                  for i, fmt in enumerate(formats)}).execute().iloc[0].tolist()
    best = min(range(len(formats)), key=lambda i: failures[i])
    parsed = timestamps(text, formats[best])
    if failures[best]:
        _refuse_date(table.filter(parsed.isnull()), text, source, name, formats[best])
    return table.mutate(**{column: parsed.date()})


def _refuse_date(bad: ir.Table, text: ir.StringValue, source: str, name: str, fmt: str) -> None:
    """Raise the error that names the first row whose date does not read in `fmt`."""
    first = bad.order_by(ROW).select(ROW, value=text).limit(1).execute()
    count = int(bad.count().execute())
    more = f" ({count} such rows in all)" if count > 1 else ""
    value, row = first["value"].iloc[0], int(first[ROW].iloc[0])
    raise MetricError(f"{source}: column {name!r} has {value!r} in data row {row}, which is not a date like the "
                      f"other rows' {_readable(fmt)}{more}; fix the date or remove the row")


def _readable(fmt: str) -> str:
    """A strptime format as people write it: %Y%m%d as YYYYMMDD (and ISO 8601 dates as YYYY-MM-DD)."""
    if fmt == ISO:
        return "YYYY-MM-DD"
    for code, words in (("%Y", "YYYY"), ("%m", "MM"), ("%d", "DD"), ("%H", "hh"), ("%I", "hh"), ("%M", "mm"),
                        ("%S", "ss"), ("%f", "ffffff"), ("%p", "AM/PM")):
        fmt = fmt.replace(code, words)
    return fmt
