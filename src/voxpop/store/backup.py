"""Backups of the store in one file, taken while the server runs, and restoring them (docs/backup.md).

A backup is a tar archive (gzip-compressed when its name ends in .gz or .tgz) holding, in this order:

- manifest.json: what the backup is (voxpop's version, the schema revision, the backend, when it began,
  the rows of every table, whether the secret key is in it);
- voxpop.db (SQLite): a consistent copy made by SQLite's online backup API, or voxpop.pgdump (PostgreSQL):
  pg_dump's custom format, taken in the same snapshot as the manifest's row counts;
- secret_key: only when asked for, since whoever holds it can forge staff sessions.

The store knows no domain: tables are counted by name, whatever they are.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from voxpop import __version__
from voxpop.store.database import Database, private_directory, private_file
from voxpop.store.migrate import current_revision, upgrade

FORMAT = "voxpop-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "voxpop.db"
POSTGRES_MEMBER = "voxpop.pgdump"
SECRET_MEMBER = "secret_key"
CLIENT_PACKAGE = "postgresql-client"
# Tables that say nothing about whether a database holds a workspace: a freshly migrated one has a revision.
BOOKKEEPING = {"alembic_version"}


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says what to do. `code` is the exit code:
    2 for a request to change (a file that exists, a database that is not empty), 1 for a failure."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Restored:
    """What a restore did: the backup's manifest, and what became of the secret key
    ("restored", "unchanged": the same key was there already, or "absent": the backup holds none)."""

    manifest: dict
    secret_key: str
    migrated_from: str | None
    migrated_to: str | None


# Backing up


def backup(db: Database, path: Path, *, secret_key: str | None = None) -> dict:
    """Write a backup of the store to `path`, a new file (mode 0600); `secret_key` is put in only when
    given. Returns the manifest."""
    path = Path(path)
    if path.is_dir():
        raise BackupError(f"{path} is a folder; name the backup file in it, such as {path / 'voxpop.tar'}", 2)
    if path.exists():
        raise BackupError(f"{path} exists already; give the backup a new file name (a backup never overwrites "
                          "a file)", 2)
    if not path.parent.is_dir():
        raise BackupError(f"the folder {path.parent} does not exist; create it first", 2)
    # The moment the backup began: every response acknowledged before it is in the backup.
    began = datetime.now(UTC).isoformat(timespec="seconds")
    with _private_workspace(path.parent) as work:
        if db.is_sqlite:
            member = work / SQLITE_MEMBER
            backup_sqlite(Path(db.url.database), member)
            tables, revision = _sqlite_contents(member)
            extra = {"sqlite_version": sqlite3.sqlite_version}
        else:
            member = work / POSTGRES_MEMBER
            tables, revision, pg_dump = backup_postgres(db.url, member)
            extra = {"pg_dump_version": pg_dump}
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "voxpop_version": __version__,
            "alembic_revision": revision, "backend": "sqlite" if db.is_sqlite else "postgresql",
            "created_at": began, "tables": tables,
            "secret_key_included": secret_key is not None, "database": member.name, **extra,
        }
        _pack(path, manifest, member, secret_key)
    return manifest


def backup_sqlite(source: Path, target: Path) -> None:
    """Copy a live SQLite database into `target`, a new file, as one consistent snapshot while others
    keep writing (SQLite's online backup API; in WAL mode a reader never blocks the writer)."""
    if not source.is_file():
        raise BackupError(f"there is no SQLite database at {source}; check VOXPOP_DATA_DIR or VOXPOP_DATABASE_URL")
    private_file(target)
    reader = sqlite3.connect(source, timeout=30)
    try:
        reader.execute("PRAGMA query_only=1")
        copy = sqlite3.connect(target)
        try:
            # pages=-1 copies everything in one step, under one read transaction. Step by step, each commit
            # of the running server would restart the copy, and a busy store might never finish.
            reader.backup(copy, pages=-1)
            # One self-contained file: a WAL copy would need its -wal beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"SQLite could not copy {source}: {exc}") from exc
    finally:
        reader.close()


def backup_postgres(url: URL, target: Path) -> tuple[dict[str, int], str | None, str]:
    """pg_dump the database at `url` into `target` (custom format), with the row counts and the schema
    revision read in the very snapshot pg_dump copies. Returns (counts, revision, pg_dump's version)."""
    pg_dump, version = client_tool("pg_dump")
    private_file(target)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
            server = _server_major(connection)
            if server > _major(version):
                raise BackupError(f"pg_dump {version} cannot dump a PostgreSQL {server} server; install the "
                                  f"client of version {server} or newer (the Debian package "
                                  f"{CLIENT_PACKAGE}-{server}, or {CLIENT_PACKAGE} from the PostgreSQL apt "
                                  "repository)")
            # The transaction holds the snapshot open while pg_dump copies it: counts and dump agree.
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            tables = table_counts(connection)
            revision = _revision(connection, tables)
            _run([pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={target}",
                  f"--dbname={_conninfo(url)}"], url, "pg_dump")
            connection.rollback()
    finally:
        engine.dispose()
    return tables, revision, version


def table_counts(connection: Connection) -> dict[str, int]:
    """The number of rows of every table, by name."""
    names = sorted(inspect(connection).get_table_names())
    return {name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in names}


def _revision(connection: Connection, tables: dict[str, int]) -> str | None:
    if "alembic_version" not in tables:
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _sqlite_contents(path: Path) -> tuple[dict[str, int], str | None]:
    """Row counts and revision of a SQLite file, read from the copy itself so they describe what is kept."""
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            tables = table_counts(connection)
            return tables, _revision(connection, tables)
    finally:
        engine.dispose()


@contextmanager
def _private_workspace(folder: Path) -> Iterator[Path]:
    """A temporary folder (0700) beside the backup, removed afterwards: the copy never passes through a
    shared temporary folder, and the final rename stays on one file system."""
    work = Path(tempfile.mkdtemp(prefix=".voxpop-backup-", dir=folder))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pack(path: Path, manifest: dict, member: Path, secret_key: str | None) -> None:
    """Write the archive to a hidden file first and rename it: a backup that failed half-way leaves no
    file that looks complete."""
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    private_file(partial)
    mode = "w:gz" if path.name.endswith((".gz", ".tgz")) else "w"
    try:
        with open(partial, "wb") as handle:
            with tarfile.open(fileobj=handle, mode=mode) as archive:
                _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
                archive.add(member, arcname=member.name)
                if secret_key is not None:
                    _add_bytes(archive, SECRET_MEMBER, secret_key.encode())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


# Reading a backup


def read_manifest(path: Path) -> dict:
    """The manifest of a backup file, checked to be one voxpop can read."""
    with _open_archive(path) as archive:
        return _manifest(archive, path)


@contextmanager
def _open_archive(path: Path) -> Iterator[tarfile.TarFile]:
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} does not exist", 2)
    try:
        archive = tarfile.open(path, mode="r:*")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{path} is not a voxpop backup (not a tar archive: {exc}); "
                          "make one with `voxpop backup PATH`", 2) from exc
    with archive:
        yield archive


def _manifest(archive: tarfile.TarFile, path: Path) -> dict:
    try:
        manifest = json.loads(_member_bytes(archive, MANIFEST))
    except (KeyError, ValueError) as exc:
        raise BackupError(f"{path} is not a voxpop backup (no readable {MANIFEST}); "
                          "make one with `voxpop backup PATH`", 2) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a voxpop backup ({MANIFEST} does not describe one)", 2)
    missing = [name for name in ("backend", "tables") if name not in manifest]
    if missing:
        raise BackupError(f"{path} is damaged: its {MANIFEST} lacks {', '.join(missing)}", 2)
    # Checked before anything is touched: a restore with --force replaces the target first and compares the
    # counts after, which a manifest of the wrong shape would only fail at then.
    tables, version = manifest["tables"], manifest.get("format_version", 0)
    if not isinstance(manifest["backend"], str) or not isinstance(tables, dict) or not all(
            isinstance(name, str) and type(count) is int and count >= 0 for name, count in tables.items()):
        raise BackupError(f"{path} is damaged: its {MANIFEST} does not give the backend as a name and each "
                          "table's row count as a whole number", 2)
    if type(version) is not int:
        raise BackupError(f"{path} is damaged: its {MANIFEST} gives the format version as {version!r}, not a "
                          "whole number", 2)
    if version > FORMAT_VERSION:
        raise BackupError(f"{path} was written by a newer voxpop ({manifest.get('voxpop_version')}); "
                          "restore it with that version or a newer one", 2)
    return manifest


def _member_bytes(archive: tarfile.TarFile, name: str) -> bytes:
    """A small member's bytes; KeyError when it is missing."""
    try:
        member = archive.getmember(name)
        handle = archive.extractfile(member)
        if handle is None:
            raise KeyError(name)
        return handle.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"the backup is damaged or incomplete ({name} cannot be read: {exc})") from exc


def _extract(archive: tarfile.TarFile, name: str, target: Path) -> None:
    """Copy one member to `target`, a new private file (never archive.extract: a name could climb out)."""
    try:
        member = archive.getmember(name)
    except KeyError as exc:
        raise BackupError(f"the backup lacks its database ({name}); it is damaged or incomplete") from exc
    source = archive.extractfile(member)
    if source is None:
        raise BackupError(f"the backup's {name} is not a file; the backup is damaged")
    private_file(target)
    try:
        with source, open(target, "wb") as handle:
            shutil.copyfileobj(source, handle, 1024 * 1024)
    except (tarfile.TarError, EOFError) as exc:  # a file cut short in a copy, say
        raise BackupError(f"the backup is damaged or incomplete ({name} cannot be read: {exc})") from exc


# Restoring


def restore(path: Path, *, url: str | URL, data_dir: Path, force: bool = False) -> Restored:
    """Restore the backup at `path` into the database at `url` and its secret key (if it holds one) into
    `data_dir`, then migrate the schema to this voxpop's newest revision.

    The database must hold no data: a store with rows, or another secret key, is replaced only with
    `force`. The restored rows are counted against the manifest before anything else runs on them."""
    url = make_url(url) if isinstance(url, str) else url
    backend = url.get_backend_name()
    with _open_archive(path) as archive:
        manifest = _manifest(archive, Path(path))
        if manifest["backend"] != backend:
            raise BackupError(f"{path} is a backup of a {manifest['backend']} store and the configured database is "
                              f"{backend}; restore it into a {manifest['backend']} database (VOXPOP_DATABASE_URL)", 2)
        _known_revision(manifest.get("alembic_revision"))
        key = _secret_member(archive) if manifest.get("secret_key_included") else None
        secret = _check_secret_key(data_dir, key, force=force)
        if backend == "sqlite":
            restore_sqlite(archive, Path(url.database), force=force)
        else:
            restore_postgres(archive, url, manifest, force=force)
    db = Database(url.render_as_string(hide_password=False))
    try:
        _compare_counts(db, manifest)
        before = current_revision(db.write_engine)
        upgrade(db.write_engine)
        after = current_revision(db.write_engine)
    finally:
        db.dispose()
    if key is not None and secret == "restored":
        _write_secret_key(data_dir, key)
    return Restored(manifest=manifest, secret_key=secret, migrated_from=before,
                    migrated_to=after if after != before else None)


def restore_sqlite(archive: tarfile.TarFile, target: Path, *, force: bool) -> None:
    """Put the backup's SQLite file in place of `target`, which must be missing or hold no data."""
    if not force and sqlite_holds_data(target):
        raise BackupError(f"the database {target} holds data; restore into an empty data folder, or add --force "
                          "to replace it (stop the server first)", 2)
    private_directory(target.parent)
    incoming = target.with_name(f".{target.name}.restoring")
    incoming.unlink(missing_ok=True)
    try:
        _extract(archive, SQLITE_MEMBER, incoming)
        problems = sqlite_integrity(incoming)
        if problems:
            raise BackupError(f"the backup's database fails SQLite's integrity check: {problems[0]}")
        # A -wal left from the old database would be replayed onto the new one: remove it first.
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(incoming, target)
    finally:
        incoming.unlink(missing_ok=True)


def restore_postgres(archive: tarfile.TarFile, url: URL, manifest: dict, *, force: bool) -> None:
    """pg_restore the backup into the database at `url`, which must be empty (or emptied, with `force`)."""
    pg_restore, version = client_tool("pg_restore")
    written_by = manifest.get("pg_dump_version")
    if written_by and _major(version) < _major(written_by):
        raise BackupError(f"the backup was written by pg_dump {written_by} and pg_restore here is {version}; "
                          f"install {CLIENT_PACKAGE} {_major(written_by)} or newer")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            counts = table_counts(connection)
            if not force and _holds_data(counts):
                raise BackupError(f"the database {url.database} holds data; restore into an empty database, or add "
                                  "--force to drop everything in it first (stop the servers first)", 2)
            if counts:
                schema = connection.execute(text("SELECT current_schema()")).scalar_one()
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
                connection.commit()
    finally:
        engine.dispose()
    with tempfile.TemporaryDirectory(prefix="voxpop-restore-") as work:  # mkdtemp: 0700
        dump = Path(work) / POSTGRES_MEMBER
        _extract(archive, POSTGRES_MEMBER, dump)
        # No owners or grants: the restoring user owns what it restores, whoever owned it before.
        _run([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              f"--dbname={_conninfo(url)}", str(dump)], url, "pg_restore")


def sqlite_holds_data(path: Path) -> bool:
    """True if the file at `path` is a database with rows (a file that is not a database counts as data)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        with _sqlite_reader(path) as connection:
            names = [row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            return any(connection.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone()
                       for name in names if name not in BOOKKEEPING)
    except sqlite3.DatabaseError:
        return True


def _holds_data(counts: dict[str, int]) -> bool:
    return any(rows for name, rows in counts.items() if name not in BOOKKEEPING)


def _known_revision(revision: str | None) -> None:
    """Refuse a backup whose schema is newer than this voxpop knows: its migrations could not run."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from voxpop.store.migrate import MIGRATIONS

    if revision is None:
        return
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        ScriptDirectory.from_config(config).get_revision(revision)
    except CommandError as exc:
        raise BackupError(f"the backup's schema is at revision {revision}, which this voxpop ({__version__}) does "
                          "not know: it was made by a newer voxpop; install that version to restore it", 2) from exc


def _compare_counts(db: Database, manifest: dict) -> None:
    """Every table holds as many rows as when the backup was taken, or the restore is said to have failed."""
    with db.engine.connect() as connection:
        restored = table_counts(connection)
    wrong = [f"{name}: {rows:,} in the backup, {restored.get(name, 0):,} restored"
             for name, rows in manifest["tables"].items() if restored.get(name, 0) != rows]
    if wrong:
        raise BackupError("the restored database does not match the backup's manifest (" + "; ".join(wrong[:5]) + ")")


# The secret key


def _secret_member(archive: tarfile.TarFile) -> str:
    try:
        return _member_bytes(archive, SECRET_MEMBER).decode()
    except KeyError as exc:
        raise BackupError(f"the backup says it holds the secret key, but has no {SECRET_MEMBER}; it is damaged") from exc


def _check_secret_key(data_dir: Path, key: str | None, *, force: bool) -> str:
    """What the restore will do with the secret key; refuses to replace another key without `force`."""
    if key is None:
        return "absent"
    path = Path(data_dir) / "secret_key"
    if path.exists():
        present = path.read_text().strip()
        if present == key.strip():
            return "unchanged"
        if not force:
            raise BackupError(f"{path} holds another secret key; move it away, or add --force to replace it with "
                              "the backup's", 2)
    return "restored"


def _write_secret_key(data_dir: Path, key: str) -> None:
    private_directory(Path(data_dir))
    path = Path(data_dir) / "secret_key"
    path.unlink(missing_ok=True)
    private_file(path)
    path.write_text(key)


# Integrity


def integrity_problems(db: Database) -> list[str]:
    """What SQLite's integrity_check and foreign_key_check find wrong with the store; PostgreSQL keeps its
    pages and foreign keys checked itself, so there it is always empty."""
    if not db.is_sqlite:
        return []
    return sqlite_integrity(Path(db.url.database))


def sqlite_integrity(path: Path) -> list[str]:
    """Problems SQLite finds in the file at `path`: damaged pages or indexes, rows whose foreign key
    points at nothing."""
    with _sqlite_reader(path) as connection:
        problems = [row[0] for row in connection.execute("PRAGMA integrity_check") if row[0] != "ok"]
        problems += [f"{table} row {rowid} points at a missing {parent} row"
                     for table, rowid, parent, _ in connection.execute("PRAGMA foreign_key_check")]
    return problems


@contextmanager
def _sqlite_reader(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, timeout=30)
    try:
        connection.execute("PRAGMA query_only=1")
        yield connection
    finally:
        connection.close()


# The PostgreSQL client tools


def client_tool(name: str) -> tuple[str, str]:
    """The path and version of pg_dump or pg_restore, or a message naming what to install."""
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (or not on the PATH); install the PostgreSQL client tools, "
                          f"of the server's version or newer: on Debian or Ubuntu `apt-get install {CLIENT_PACKAGE}`")
    result = subprocess.run([found, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"(\d+)(\.\d+)*", result.stdout)
    if result.returncode != 0 or match is None:
        raise BackupError(f"{found} --version did not answer with a version; reinstall {CLIENT_PACKAGE}")
    return found, match.group(0)


def _major(version: str) -> int:
    return int(version.split(".", 1)[0])


def _server_major(connection: Connection) -> int:
    return int(connection.execute(text("SHOW server_version_num")).scalar_one()) // 10000


def _conninfo(url: URL) -> str:
    """A libpq URI for the tools, without the password (it goes in the environment, not on `ps`)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _run(command: list[str], url: URL, tool: str) -> None:
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if result.returncode != 0:
        detail = " ".join(result.stderr.strip().splitlines()[-3:]) or f"exit code {result.returncode}"
        raise BackupError(f"{tool} failed: {detail}")
