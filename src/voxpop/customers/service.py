"""Customers and their transactions in the store: importing transaction files idempotently, all-or-nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from voxpop.analysis.sources import ROW
from voxpop.customers.models import Customer, Transaction
from voxpop.customers.transaction_files import Transactions
from voxpop.store.base import utcnow

BATCH = 5000
LINE = ("customer", "date", "amount", "quantity", "invoice", "product", "kind")


@dataclass
class TransactionImport:
    rows: int = 0
    new: int = 0
    present: int = 0
    without_customer: int = 0
    new_customers: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def sentence(self) -> str:
        kinds = ", ".join(f"{count:,} {kind.replace('_', '-')}" for kind, count in sorted(self.by_kind.items()))
        return (f"{self.rows:,} lines read ({kinds}): added {self.new:,} new transactions, {self.present:,} "
                f"already present; {self.new_customers:,} new customers; {self.without_customer:,} lines without a "
                "customer were left out")


def import_transactions(db, transactions: Transactions, *,
                        progress: Callable[[int], None] | None = None) -> TransactionImport:
    """Store every line of a checked transaction file in one transaction. Each line is keyed by a hash of what
    it says (the k-th identical line of a file by hash#k), so importing the file again adds nothing."""
    summary = TransactionImport(without_customer=transactions.without_customer)
    table = transactions.table
    columns = [name for name in LINE if name in table.columns]
    repeats: dict[str, int] = {}
    with db.write_connection() as connection:
        # One Arrow table (columnar: ~40 bytes a line), cut into batches; Ibis 12's batch reader needs a DuckDB
        # cursor method DuckDB 2 no longer has.
        for batch in table.order_by(ROW).select(*columns).to_pyarrow().to_batches(max_chunksize=BATCH):
            lines = batch.to_pylist()
            customers = _customer_ids(connection, {str(line["customer"]) for line in lines}, summary)
            rows = []
            for line in lines:
                key = hashlib.sha256("\x1f".join(str(line.get(name)) for name in LINE).encode()).hexdigest()[:40]
                seen = repeats[key] = repeats.get(key, 0) + 1
                kind = line.get("kind") or "sale"
                summary.by_kind[kind] = summary.by_kind.get(kind, 0) + 1
                rows.append({"customer_id": customers[str(line["customer"])], "source_key": f"{key}#{seen}",
                             "day": line["date"], "amount": float(line["amount"]), "quantity": line.get("quantity"),
                             "cost": None, "kind": kind, "invoice": line.get("invoice"), "product": line.get("product"),
                             "imported_at": utcnow()})
            added = len(connection.execute(_insert_new(connection.dialect.name), rows).all())
            summary.rows += len(rows)
            summary.new += added
            summary.present += len(rows) - added
            if progress is not None:
                progress(summary.rows)
    return summary


def _insert_new(dialect: str):
    statement = {"sqlite": sqlite, "postgresql": postgresql}[dialect].insert(Transaction.__table__)
    # RETURNING counts what went in: executemany's rowcount is not reliable across drivers.
    return statement.on_conflict_do_nothing(index_elements=["source_key"]).returning(Transaction.__table__.c.id)


def _customer_ids(connection: Connection, refs: set[str], summary: TransactionImport) -> dict[str, int]:
    """The customers by external id (the file's customer id, as written), created when new."""
    table = Customer.__table__
    known: dict[str, int] = {}
    ordered = sorted(refs)
    for start in range(0, len(ordered), 500):
        known |= dict(connection.execute(select(table.c.external_id, table.c.id)
                                         .where(table.c.external_id.in_(ordered[start:start + 500]))).all())
    new = [{"external_id": ref, "email": None, "attributes": {}, "created_at": utcnow()} for ref in ordered
           if ref not in known]
    if new:
        known |= dict(connection.execute(insert(table).returning(table.c.external_id, table.c.id), new).all())
        summary.new_customers += len(new)
    return known
