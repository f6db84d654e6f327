"""Fixtures every area shares: the store on each backend (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# pytest-xdist starts its workers with COLUMNS=80, and Rich fixes a console's width from COLUMNS when the console is
# made (voxpop.cli's, at import): the CLI tests' own COLUMNS would then be ignored in a worker and their tables cut.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

import pytest  # noqa: E402
from sqlalchemy import text

from tests.helpers import real_data_dir
from voxpop.schema import Base
from voxpop.settings import Settings
from voxpop.store.database import Database
from voxpop.store.migrate import upgrade

STRICT = os.environ.get("VOXPOP_TEST_STRICT") == "1"


def pytest_configure(config):
    """Under pytest-xdist each worker gets a PostgreSQL database of its own, named after the configured one
    with the worker's id (voxpop_test_gw0), since the tests drop and rebuild the schema they use."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("VOXPOP_TEST_POSTGRES_URL", "")
    if not worker or not url:
        return
    from sqlalchemy.engine import make_url

    configured = make_url(url)
    own = configured.set(database=f"{configured.database}_{worker}")
    admin = Database(url)
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{own.database}"'))
    admin.dispose()
    os.environ["VOXPOP_TEST_POSTGRES_URL"] = own.render_as_string(hide_password=False)


@pytest.hookimpl(optionalhook=True)  # known only while pytest-xdist is loaded
def pytest_xdist_make_scheduler(config, log):
    """Send whole test files to a worker (their module fixtures load once), and the demo's files together:
    each loads the demo workspace, the slowest fixture there is."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/demo" if path.startswith("tests/demo/") else path

    return ByFile(config, log)


def skip_or_fail(reason: str) -> None:
    """Skip locally when a real component is missing; in CI (VOXPOP_TEST_STRICT=1) that is a failure."""
    if STRICT:
        pytest.fail(f"{reason} (VOXPOP_TEST_STRICT=1: CI must provide it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the whole run (starting the JVM takes seconds): the engine's backend tests use
    it, and the commands' pyspark:// URL finds it running."""
    if shutil.which("java") is None:
        skip_or_fail("PySpark needs Java (apt-get install openjdk-17-jre-headless)")
    pyspark = pytest.importorskip("pyspark.sql", reason="PySpark is a dev dependency: pip install -e '.[dev]'")
    session = (pyspark.SparkSession.builder.master("local[2]").appName("voxpop-tests")
               .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder of real export files, read in place; tests that need it skip when it is absent."""
    path = real_data_dir()
    if not path.is_dir():
        pytest.skip(f"real data folder {path} not found; set VOXPOP_REAL_DATA to the folder holding the real exports")
    return path


def _fresh_postgres(url: str) -> None:
    from sqlalchemy.engine import make_url

    # The schema is dropped: refuse anything that does not look like a database made for tests.
    if "test" not in (make_url(url).database or ""):
        pytest.fail(f"VOXPOP_TEST_POSTGRES_URL must name a test database (with 'test' in its name), not {url!r}")
    engine = Database(url).engine
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> str:
    """A migrated, empty database on each backend; the schema comes from the Alembic migrations."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'voxpop.db'}"
    else:
        url = os.environ.get("VOXPOP_TEST_POSTGRES_URL", "")
        if not url:
            skip_or_fail("PostgreSQL tests need VOXPOP_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1/voxpop_test)")
        _fresh_postgres(url)
    database = Database(url)
    upgrade(database.write_engine)
    database.dispose()
    return url


@pytest.fixture(scope="session")
def _session_db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def empty(database: Database) -> None:
    """Delete every row, keeping the schema."""
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with database.write_engine.begin() as connection:
        if database.is_sqlite:
            for name in tables:
                connection.execute(text(f'DELETE FROM "{name}"'))
        else:
            connection.execute(text("TRUNCATE " + ", ".join(f'"{name}"' for name in tables) + " RESTART IDENTITY CASCADE"))


@pytest.fixture
def db(_session_db):
    """The store, emptied after each test."""
    yield _session_db
    empty(_session_db)


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_key="test-secret-not-for-production-0123456789",
        rate_limit_per_minute=10_000,
        text_worker=False,  # tests that need comments analysed call the batch function, deterministically
        case_worker=False,  # likewise the case rules, deadlines and sending: tests call their steps on a set clock
    )


@pytest.fixture
def client(settings, db):
    """The web app in-process, on the test's backend."""
    from fastapi.testclient import TestClient

    from voxpop.web.app import create_app

    with TestClient(create_app(settings, db)) as test_client:
        yield test_client


_exit_status: list[int] = []


def pytest_sessionfinish(session, exitstatus):
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    # DuckDB's nanobind bindings print a page of "leaked instance" lines while the interpreter shuts down
    # (types that Ibis caches at module level). They are not leaks of ours and they bury pytest's summary,
    # so once pytest has reported, leave without that teardown, keeping pytest's exit status.
    import sys

    if "duckdb" in sys.modules and _exit_status and not hasattr(config, "workerinput"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])
