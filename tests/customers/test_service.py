"""Importing transactions into the store on each backend: counted, idempotent, and all-or-nothing."""

import pytest
from sqlalchemy import func, select

from voxpop.analysis.engine import MetricError
from voxpop.customers.models import Customer, Transaction
from voxpop.customers.service import import_transactions
from voxpop.customers.transaction_files import read_transactions


def stored(db):
    with db.read() as db_session:
        return (db_session.scalar(select(func.count()).select_from(Transaction)),
                db_session.scalar(select(func.count()).select_from(Customer)))


def test_the_cdnow_sample_goes_in_once(db, real_data):
    first = import_transactions(db, read_transactions(real_data / "lifetimes" / "CDNOW_sample.txt"))
    assert (first.rows, first.new, first.new_customers) == (6919, 6919, 2357)  # SOURCES.md
    again = import_transactions(db, read_transactions(real_data / "lifetimes" / "CDNOW_sample.txt"))
    assert (again.new, again.present, again.new_customers) == (0, 6919, 0)
    assert stored(db) == (6919, 2357)


def test_online_retail_nets_cancellations_and_keeps_non_products_apart(db, real_data):
    summary = import_transactions(db, read_transactions(real_data / "spark_definitive_guide_online_retail"))
    assert summary.without_customer == 15631 and summary.new_customers == 948  # SOURCES.md: 37% blank, 948 customers
    assert summary.by_kind["cancellation"] > 600 and summary.by_kind["non_product"] > 0
    with db.read() as db_session:
        cancelled = db_session.scalar(select(func.max(Transaction.amount)).where(Transaction.kind == "cancellation"))
        ids = db_session.scalars(select(Customer.external_id)).all()
    assert cancelled < 0 and "17850" in ids and not any(ident.endswith(".0") for ident in ids)


def test_a_bad_date_names_its_row_and_nothing_is_written(db, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer,date,amount\nc1,2024-01-05,10\nc2,2024-01-06,12\nc1,05/01/2024x,9\n")
    with pytest.raises(MetricError, match="data row 3"):
        import_transactions(db, read_transactions(path))
    assert stored(db) == (0, 0)


def test_cost_to_serve_makes_profit_and_shows_who_loses_money(db, tmp_path):
    from voxpop.customers.service import outcomes_report

    path = tmp_path / "orders.csv"
    path.write_text("customer,date,amount,serve\n" + "".join(
        f"c{i},2024-{1 + i % 12:02d}-10,{40 + i},{'90' if i % 10 == 0 else '5'}\n" for i in range(100)))
    summary = import_transactions(db, read_transactions(path, cost="serve"))
    assert summary.new == 100
    with db.read() as db_session:
        assert db_session.scalar(select(func.sum(Transaction.cost))) == 10 * 90 + 90 * 5
    profit = outcomes_report(db, min_base=30)["profitability"]
    assert profit["cost_to_serve"] and profit["unprofitable"]["value"] == 5.0  # c0 … c40 cost more than they pay
    assert profit["peak"]["profit_share"] > 1.0
