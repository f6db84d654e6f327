"""Reading transaction files: CDNOW's two text layouts, CSV exports, and the errors users meet."""

from datetime import date

import pandas as pd
import pytest

from voxpop.analysis.engine import MetricError
from voxpop.customers.transaction_files import detect_format, read_transactions


def test_cdnow_master_keeps_padded_ids_and_every_row(real_data):
    # SOURCES.md: 69,659 transactions of 23,570 customers, $2,500,315.63, 1997-01-01 to 1998-06-30.
    transactions = read_transactions(real_data / "lifetimes" / "CDNOW_master.txt")
    frame = transactions.table.execute()
    assert transactions.source_format == "cdnow-master" and transactions.without_customer == 0
    assert (len(frame), frame.customer.nunique()) == (69659, 23570)
    assert round(frame.amount.sum(), 2) == 2500315.63
    assert frame.customer.iloc[0] == "00001" and frame["_row"].iloc[0] == 1
    assert (frame.date.min().date(), frame.date.max().date()) == (date(1997, 1, 1), date(1998, 6, 30))


def test_cdnow_sample_uses_the_master_id_as_the_customer(real_data):
    transactions = read_transactions(real_data / "lifetimes" / "CDNOW_sample.txt", source_format="cdnow")
    frame = transactions.table.execute()
    assert transactions.source_format == "cdnow-sample"
    assert (len(frame), frame.customer.nunique()) == (6919, 2357)
    assert frame.iloc[0][["customer", "amount"]].tolist() == ["00004", 29.33]


def test_the_formats_are_told_apart(real_data):
    assert detect_format(real_data / "lifetimes" / "CDNOW_master.txt") == "cdnow"
    assert detect_format(real_data / "lifetimes" / "CDNOW_sample.txt") == "cdnow"
    assert detect_format(real_data / "lifetimes" / "cdnow_customers_summary.csv") == "csv"


def test_an_online_retail_export_with_float_ids_and_blank_customers(real_data):
    path = real_data / "spark_definitive_guide_online_retail" / "2010-12-01.csv"
    transactions = read_transactions(path, customer="CustomerID", date_column="InvoiceDate", amount="UnitPrice")
    frame = transactions.table.execute()
    raw = pd.read_csv(path, dtype=str)
    assert transactions.without_customer == raw.CustomerID.isna().sum()  # counted, not invented
    assert len(frame) == raw.CustomerID.notna().sum()
    assert "17850" in set(frame.customer)  # written 17850.0 in the file
    assert set(frame.date.dt.date) == {date(2010, 12, 1)}


def test_a_csv_with_named_columns(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("client,when,total\nA-1,03/02/2024,10.5\nA-1,03/15/2024,4\nB-7,04/01/2024,20\n")
    frame = read_transactions(path, customer="client", date_column="when", amount="total").table.execute()
    assert frame.customer.tolist() == ["A-1", "A-1", "B-7"]
    assert frame.date.dt.date.tolist() == [date(2024, 3, 2), date(2024, 3, 15), date(2024, 4, 1)]
    assert frame.amount.tolist() == [10.5, 4.0, 20.0]


@pytest.mark.parametrize(("content", "options", "message"), [
    ("", {}, "is empty"),
    ("customer,date\nA,2024-01-01\n", {}, "has no column 'amount'"),
    ("customer,date,amount\nA,2024-01-01,5\nA,2024-02-30,5\nB,2024-03-01,5\n", {},
     r"has '2024-02-30' in data row 2, which is not a date like the other rows' YYYY-MM-DD; fix the date"),
    ("customer,date,amount\nA,,5\n", {}, "data row 1 has no 'date'"),
    ("customer,date,amount\nA,2024-01-01,five\n", {}, r"value 'five' in data row 1, which is not a number"),
    (" 00001 19970101  1   11.77\n 00002 1997011  1   12.00\n", {"source_format": "cdnow"},
     r"'1997011' in data row 2, which is not a date like the other rows' YYYYMMDD"),
    (" 00001 19970101  1   11.77\n 00002 19970112  12.00\n", {"source_format": "cdnow"},
     "data row 2 has 3 fields where the rows before it have 4"),
    ("a;b;c\n1;2;3\n", {"source_format": "cdnow"}, "is not a CDNOW file"),
])
def test_bad_files_are_refused_with_what_to_do(tmp_path, content, options, message):
    path = tmp_path / "transactions.csv"
    path.write_text(content)
    with pytest.raises(MetricError, match=message):
        read_transactions(path, **options)
