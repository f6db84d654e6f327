"""Engines and sessions. SQLite gets WAL, foreign keys and one writer; PostgreSQL is used as it is.

Reads run in parallel. Writes go through `Database.write()`, which on SQLite holds a process-wide lock
and opens the transaction with BEGIN IMMEDIATE, so concurrent submissions queue instead of failing with
"database is locked" (the datasette pattern). busy_timeout covers writers in other processes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def conflict_insert(dialect_name: str, table):
    """An INSERT that takes ON CONFLICT clauses: SQLite and PostgreSQL share the SQL, not SQLAlchemy's class."""
    from sqlalchemy.dialects import postgresql, sqlite

    return {"sqlite": sqlite, "postgresql": postgresql}[dialect_name].insert(table)


def private_directory(path: Path) -> None:
    """Create a folder, and its missing parents, if it is not there: readable by its owner only (0700).
    A folder that exists keeps the mode its admin gave it."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        return  # another process made it a moment ago
    # mkdir's mode passes through the umask, which could take the owner's own bits away: set it exactly.
    os.chmod(path, 0o700)


def private_file(path: Path) -> bool:
    """Create an empty file readable and writable by its owner only (0600), unless it exists; True if made."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        os.fchmod(descriptor, 0o600)  # exactly, whatever the umask
    finally:
        os.close(descriptor)
    return True


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    # Reads: as many kept connections as the threadpool has threads (40), or each burst reopens them.
    # Writes: one at a time in this process, so a small pool suffices.
    pool_size = 2 if immediate else 40
    engine = create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=False)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event emit BEGIN itself; pysqlite's own handling defers it oddly.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # NORMAL is durable across application crashes in WAL mode; only a power cut can drop the last commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        if not immediate:
            # Read connections cannot write: every write goes through the single writer.
            cursor.execute("PRAGMA query_only=1")
        cursor.close()

    if immediate:
        @event.listens_for(engine, "begin")
        def _begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    # Reads emit no BEGIN: each SELECT then sees its own consistent snapshot (SQLite's autocommit mode),
    # which is all a page needs, and saves two statements, and two GIL handovers, per read.

    return engine


class Database:
    """The store: a read engine, a write path, and the session factories over them."""

    def __init__(self, url: str):
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            database = self.url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                # Created here, before SQLite opens it, so the file holds customers' answers for its owner
                # only (0600); SQLite gives the -wal and -shm files the database file's mode.
                private_directory(Path(database).parent)
                private_file(Path(database))
            self.engine = _sqlite_engine(url, immediate=False)
            self.write_engine = _sqlite_engine(url, immediate=True)
        else:
            self.engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
            self.write_engine = self.engine
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading. On SQLite its connections are read-only, and each statement sees its own
        snapshot; on PostgreSQL the session is one transaction, rolled back at the end."""
        with self._read_sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def _single_writer(self) -> Iterator[None]:
        if self._write_lock is None:
            yield
            return
        with self._write_lock:
            yield

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One atomic write transaction: committed when the block ends, rolled back on any error."""
        with self._single_writer(), self._write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A plain connection for hot read paths (Core statements only; no ORM session overhead)."""
        with self.engine.connect() as connection:
            try:
                yield connection
            finally:
                connection.rollback()

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """`write()` for hot paths: one atomic transaction on a plain connection, through the single writer."""
        with self._single_writer(), self.write_engine.begin() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()
