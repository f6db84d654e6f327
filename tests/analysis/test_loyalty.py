"""Loyalty against behaviour on the store: respondents grouped by their latest NPS answer, compared on purchases."""

import csv
import json

import pandas as pd
import pytest

from voxpop.analysis.loyalty import compare_loyalty
from voxpop.analysis.sources import store_connection
from voxpop.customers.service import import_transactions
from voxpop.customers.transaction_files import read_transactions
from voxpop.imports.formats import open_export
from voxpop.imports.mapping import detect_mapping
from voxpop.imports.service import import_responses

HEADER = ["StartDate", "EndDate", "ResponseId", "ExternalReference", "Q1"]
LABELS = ["Start Date", "End Date", "Response ID", "External Data Reference", "How likely are you to recommend us?"]


def scenario(db, tmp_path):
    """90 customers answer in March 2024 (a promoter's earlier answer is superseded); promoters keep buying."""
    rows, lines = [], ["customer,date,amount\n"]
    for i in range(90):
        score = (10, 8, 3)[i % 3]
        rows.append(["2024-03-10 09:00:00", "2024-03-10 09:05:00", f"R_{i}", f"k{i:03d}", str(score)])
        if i % 3 == 0:  # said 2 in January, 10 in March: the latest answer counts
            rows.append(["2024-01-10 09:00:00", "2024-01-10 09:05:00", f"R_old_{i}", f"k{i:03d}", "2"])
        lines.append(f"k{i:03d},2024-01-05,{20 + i % 7}\n")
        later = {10: [4, 6, 9], 8: [5] if i % 2 else [], 3: []}[score]
        lines += [f"k{i:03d},2024-{month:02d}-15,{30 + i % 5}\n" for month in later]
    rows.append(["2024-03-11 09:00:00", "2024-03-11 09:05:00", "R_x", "k999", "10"])  # no transactions: left out
    survey = tmp_path / "survey.csv"
    with survey.open("w", newline="") as handle:
        csv.writer(handle).writerows([HEADER, LABELS, [json.dumps({"ImportId": f"QID{n}"}) for n in range(5)], *rows])
    export = open_export(survey)
    import_responses(db, export, detect_mapping(export), survey_key="loyalty")
    orders = tmp_path / "orders.csv"
    orders.write_text("".join(lines))
    import_transactions(db, read_transactions(orders))
    return pd.read_csv(orders, dtype={"customer": str})


def test_promoters_detractors_and_passives_are_compared_on_what_they_did(db, tmp_path):
    orders = scenario(db, tmp_path)
    connection = store_connection(db.url)
    try:
        result = compare_loyalty(connection, clv=pd.Series({"k000": 100.0, "k003": 50.0}), min_base=10)
    finally:
        connection.disconnect()
    assert result.customers == 90
    promoters, detractors = result.groups["promoters"], result.groups["detractors"]
    assert (promoters["retention"].n, promoters["retention"].value) == (30, 100.0)
    assert (detractors["retention"].value, detractors["repeat_purchase"].value) == (0.0, 0.0)
    revenue = orders[orders.customer.isin([f"k{i:03d}" for i in range(0, 90, 3)])].groupby("customer").amount.sum()
    assert promoters["revenue"].value == pytest.approx(revenue.mean())
    assert result.differences["retention"].significant and result.differences["revenue"].difference > 0
    assert promoters["clv"].n == 2 and result.differences["clv"] is None  # too few valued customers to test
