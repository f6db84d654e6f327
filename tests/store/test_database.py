"""The store: migrations on each backend, SQLite pragmas, and one writer under concurrent load."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from voxpop.customers.models import Customer
from voxpop.schema import Base
from voxpop.store.database import Database
from voxpop.store.migrate import current_revision, upgrade


def test_migrations_create_every_table_of_the_models(db):
    tables = set(inspect(db.engine).get_table_names())
    assert {table.name for table in Base.metadata.sorted_tables} <= tables
    assert current_revision(db.engine) is not None


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    database.dispose()


def test_foreign_keys_are_enforced(db):
    from voxpop.collection.models import Response

    with pytest.raises(IntegrityError):
        with db.write() as db_session:
            db_session.add(Response(public_id="x", survey_id=999, version_id=999, language="en", channel="api"))
            db_session.flush()


def test_many_concurrent_writers_never_see_database_is_locked(db):
    def add(number: int) -> None:
        with db.write() as db_session:
            db_session.add(Customer(external_id=f"C-{number}", attributes={}))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(add, range(200)))
    with db.read() as db_session:
        assert db_session.scalar(select(func.count()).select_from(Customer)) == 200


def test_a_failed_write_leaves_nothing_behind(db):
    with pytest.raises(RuntimeError):
        with db.write() as db_session:
            db_session.add(Customer(external_id="half", attributes={}))
            db_session.flush()
            raise RuntimeError("interrupted")
    with db.read() as db_session:
        assert db_session.scalar(select(func.count()).select_from(Customer)) == 0


def test_upgrade_twice_is_harmless(database_url):
    database = Database(database_url)
    upgrade(database.write_engine)
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    database.dispose()


def test_the_migrations_match_the_models(db):
    # A model change without a migration would only show up on someone's production database.
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert differences == []
