"""Backups taken while responses keep arriving, restored into a fresh store, on SQLite and PostgreSQL; and the
store's files private to their owner."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
import threading
import time

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url

from tests.helpers import apply_survey
from voxpop.analysis.models import ScoreRollup
from voxpop.analysis.rollups import rollup_differences
from voxpop.collection import flows
from voxpop.collection.models import Response
from voxpop.core.counts import ALL
from voxpop.settings import Settings
from voxpop.store import backup as backups
from voxpop.store.database import Database


@pytest.fixture(scope="session")
def _restore_database(database_url):
    """On PostgreSQL, a database to restore into, named after the test database (so CI and each xdist worker
    get their own), made once and dropped at the end: DROP DATABASE waits for a checkpoint."""
    if database_url.startswith("sqlite"):
        yield None
        return
    configured = make_url(database_url)
    target = configured.set(database=f"{configured.database}_restore")
    admin = Database(database_url)

    def run(statement: str) -> None:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(statement))

    run(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
    run(f'CREATE DATABASE "{target.database}"')
    try:
        yield target.render_as_string(hide_password=False)
    finally:
        run(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def restore_url(_restore_database, tmp_path):
    """A fresh, empty place to restore into on the test's backend: a new SQLite file, or the PostgreSQL
    restore database with nothing in it."""
    if _restore_database is None:
        yield f"sqlite:///{tmp_path / 'restored' / 'voxpop.db'}"
        return
    target = Database(_restore_database)
    try:
        with target.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        target.dispose()
    yield _restore_database


def submission(number: int) -> flows.Submission:
    return flows.Submission(
        answers={"nps": number % 11, "csat": 1 + number % 5, "ease": 1 + number % 7},
        attributes={"channel": ("web", "app", "email")[number % 3]}, channel="api",
        idempotency_key=f"load-{number}")


def record(db, count: int, start: int = 0) -> list[str]:
    survey = flows.load_survey(db, "feedback")
    return [flows.record_response(db, survey, submission(start + n), max_text_length=5000).public_id
            for n in range(count)]


def public_ids(url: str) -> list[str]:
    restored = Database(url)
    try:
        with restored.read() as db_session:
            return list(db_session.scalars(select(Response.public_id)))
    finally:
        restored.dispose()


def check_clean(url: str) -> None:
    """The integrity check of `voxpop db check`: nothing damaged, rollups equal to a rebuild."""
    restored = Database(url)
    try:
        assert backups.integrity_problems(restored) == []
        differing, rows = rollup_differences(restored, zone="UTC")
        assert differing == 0 and rows > 0
    finally:
        restored.dispose()


def test_a_backup_under_load_restores_every_response_acknowledged_before_it(db, tmp_path, restore_url):
    apply_survey(db)
    survey = flows.load_survey(db, "feedback")
    acknowledged: list[str] = []  # appended only once record_response returned: the response is committed
    failures: list[BaseException] = []
    stop = threading.Event()
    numbers = iter(range(10**9))
    lock = threading.Lock()

    def submit() -> None:
        while not stop.is_set():
            with lock:
                number = next(numbers)
            try:
                recorded = flows.record_response(db, survey, submission(number), max_text_length=5000)
            except BaseException as exc:  # noqa: BLE001 (reported by the test thread below)
                failures.append(exc)
                return
            acknowledged.append(recorded.public_id)

    def wait_for(count: int) -> None:
        # A guard against a hang, not a timing assertion: the load is only waited for.
        deadline = time.monotonic() + 120
        while len(acknowledged) < count and not failures and time.monotonic() < deadline:
            time.sleep(0.01)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_for(40)
        before = list(acknowledged)  # every one of these was committed before the backup began
        manifest = backups.backup(db, tmp_path / "under-load.tar")
        wait_for(len(acknowledged) + 10)  # the load goes on after the backup, too
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == [] and len(before) >= 40

    backups.restore(tmp_path / "under-load.tar", url=restore_url, data_dir=tmp_path / "restored-data")
    restored = public_ids(restore_url)
    assert set(before) <= set(restored)  # nothing acknowledged before the backup is missing
    assert set(restored) <= set(acknowledged) and len(restored) == len(set(restored))  # nothing invented or doubled
    assert len(restored) == manifest["tables"]["responses"]
    check_clean(restore_url)


def test_a_restore_refuses_a_store_with_data_unless_forced(db, tmp_path, restore_url):
    apply_survey(db)
    kept = record(db, 5)
    backups.backup(db, tmp_path / "b.tar")
    data_dir = tmp_path / "restored-data"
    backups.restore(tmp_path / "b.tar", url=restore_url, data_dir=data_dir)
    target = Database(restore_url)
    try:
        extra = record(target, 1, start=100)
    finally:
        target.dispose()

    with pytest.raises(backups.BackupError, match="holds data.*--force") as refused:
        backups.restore(tmp_path / "b.tar", url=restore_url, data_dir=data_dir)
    assert refused.value.code == 2
    assert set(public_ids(restore_url)) == {*kept, *extra}  # untouched

    backups.restore(tmp_path / "b.tar", url=restore_url, data_dir=data_dir, force=True)
    assert sorted(public_ids(restore_url)) == sorted(kept)
    check_clean(restore_url)


def test_a_restore_runs_the_migrations_after_it(tmp_path):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from voxpop.store.migrate import MIGRATIONS, current_revision, head_revision, upgrade

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    earlier = ScriptDirectory.from_config(config).get_revision(head_revision()).down_revision
    old = Database(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(old.write_engine, earlier)
    assert backups.backup(old, tmp_path / "old.tar")["alembic_revision"] == earlier
    old.dispose()
    restored = backups.restore(tmp_path / "old.tar", url=f"sqlite:///{tmp_path / 'new' / 'voxpop.db'}",
                               data_dir=tmp_path / "new")
    assert (restored.migrated_from, restored.migrated_to) == (earlier, head_revision())
    target = Database(f"sqlite:///{tmp_path / 'new' / 'voxpop.db'}")
    assert current_revision(target.engine) == head_revision()
    target.dispose()


def test_the_secret_key_is_in_a_backup_only_when_asked(db, tmp_path, restore_url):
    apply_survey(db)
    record(db, 1)
    without = backups.backup(db, tmp_path / "plain.tar")
    with tarfile.open(tmp_path / "plain.tar") as archive:
        assert SECRET not in archive.getnames() and not without["secret_key_included"]
    assert backups.restore(tmp_path / "plain.tar", url=restore_url, data_dir=tmp_path / "d").secret_key == "absent"
    assert not (tmp_path / "d" / "secret_key").exists()

    key = "k" * 48
    asked = backups.backup(db, tmp_path / "keyed.tar.gz", secret_key=key)
    assert asked["secret_key_included"]
    data_dir = tmp_path / "keyed"
    result = backups.restore(tmp_path / "keyed.tar.gz", url=restore_url, data_dir=data_dir, force=True)
    assert result.secret_key == "restored"
    assert (data_dir / "secret_key").read_text() == key
    assert stat.S_IMODE((data_dir / "secret_key").stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700

    (data_dir / "secret_key").write_text("another key, from the new server, long enough")
    with pytest.raises(backups.BackupError, match="another secret key") as refused:
        backups.restore(tmp_path / "keyed.tar.gz", url=restore_url, data_dir=data_dir, force=False)
    assert refused.value.code == 2


SECRET = backups.SECRET_MEMBER


def test_a_backup_file_is_private_and_never_overwrites(db, tmp_path):
    apply_survey(db)
    manifest = backups.backup(db, tmp_path / "b.tar")
    assert stat.S_IMODE((tmp_path / "b.tar").stat().st_mode) == 0o600
    assert manifest["backend"] == ("sqlite" if db.is_sqlite else "postgresql")
    assert manifest["tables"]["surveys"] == 1 and manifest["alembic_revision"]
    assert backups.read_manifest(tmp_path / "b.tar") == manifest
    with pytest.raises(backups.BackupError, match="exists already") as refused:
        backups.backup(db, tmp_path / "b.tar")
    assert refused.value.code == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["b.tar"]  # no work files left behind


def test_the_rollup_check_sees_a_rollup_that_drifted(db):
    apply_survey(db)
    record(db, 3)
    assert rollup_differences(db, zone="UTC")[0] == 0
    with db.write() as db_session:
        first = db_session.scalar(select(ScoreRollup).where(ScoreRollup.attribute == ALL).limit(1))
        db_session.execute(update(ScoreRollup).where(
            ScoreRollup.question_id == first.question_id, ScoreRollup.day == first.day,
            ScoreRollup.attribute == first.attribute, ScoreRollup.value == first.value).values(n=first.n + 1))
    assert rollup_differences(db, zone="UTC")[0] == 1
    with db.read() as db_session:  # the check changed nothing
        assert db_session.scalar(select(func.sum(ScoreRollup.n)).where(ScoreRollup.attribute == "")) == 3 * 3 + 1


def written(tmp_path, name: str, members: dict[str, bytes]):
    path = tmp_path / name
    with tarfile.open(path, "w") as archive:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("case, message", [
    ("not a tar", "not a voxpop backup"),
    ("no manifest", "not a voxpop backup"),
    ("other backend", "backup of a mysql store"),
    ("newer schema", "does not know"),
    ("tables as a list", "each table's row count as a whole number"),
    ("a count as text", "each table's row count as a whole number"),
    ("version as text", "format version as '2'"),
])
def test_a_restore_refuses_what_it_cannot_restore(tmp_path, case, message):
    good = {"format": "voxpop-backup", "format_version": 1, "backend": "sqlite", "alembic_revision": "0001",
            "tables": {}, "secret_key_included": False}
    if case == "not a tar":
        path = tmp_path / "x.tar"
        path.write_text("hello")
    elif case == "no manifest":
        path = written(tmp_path, "x.tar", {"voxpop.db": b""})
    else:
        manifest = good | {"other backend": {"backend": "mysql"}, "newer schema": {"alembic_revision": "9999_new"},
                           "tables as a list": {"tables": []}, "a count as text": {"tables": {"responses": "12"}},
                           "version as text": {"format_version": "2"}}[case]
        path = written(tmp_path, "x.tar", {"manifest.json": json.dumps(manifest).encode()})
    with pytest.raises(backups.BackupError, match=message) as refused:
        backups.restore(path, url=f"sqlite:///{tmp_path / 'r.db'}", data_dir=tmp_path / "d")
    assert refused.value.code == 2
    assert not (tmp_path / "r.db").exists()


def test_a_backup_cut_short_is_called_damaged(db, tmp_path):
    apply_survey(db)
    record(db, 3)
    backups.backup(db, tmp_path / "whole.tar")
    data = (tmp_path / "whole.tar").read_bytes()
    (tmp_path / "cut.tar").write_bytes(data[: len(data) // 2])
    with pytest.raises(backups.BackupError, match="damaged or incomplete"):
        backups.restore(tmp_path / "cut.tar", url=f"sqlite:///{tmp_path / 'r' / 'voxpop.db'}", data_dir=tmp_path / "r")
    assert not (tmp_path / "r" / "voxpop.db").exists()


def test_a_missing_pg_dump_names_the_package_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(backups.BackupError, match="apt-get install postgresql-client"):
        backups.client_tool("pg_dump")


def fake_tool(folder, name: str, version: str, monkeypatch) -> None:
    """A pg_dump or pg_restore on the PATH that answers with `version` and does nothing else."""
    tool = folder / name
    tool.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_a_pg_dump_older_than_the_server_names_the_package_to_install(db, tmp_path, monkeypatch):
    if db.is_sqlite:
        pytest.skip("pg_dump backs up PostgreSQL only")
    (tmp_path / "bin").mkdir()
    fake_tool(tmp_path / "bin", "pg_dump", "9.6.24", monkeypatch)
    with pytest.raises(backups.BackupError, match=r"pg_dump 9\.6\.24 cannot dump a PostgreSQL \d+ server.*postgresql-client"):
        backups.backup(db, tmp_path / "b.tar")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bin"]


def test_a_pg_restore_older_than_the_backup_names_the_version_to_install(tmp_path, monkeypatch):
    (tmp_path / "bin").mkdir()
    fake_tool(tmp_path / "bin", "pg_restore", "13.2", monkeypatch)
    manifest = {"format": "voxpop-backup", "format_version": 1, "backend": "postgresql", "alembic_revision": None,
                "tables": {}, "secret_key_included": False, "pg_dump_version": "17.1"}
    path = written(tmp_path, "x.tar", {"manifest.json": json.dumps(manifest).encode(), "voxpop.pgdump": b""})
    # Refused before any connection: nothing listens on port 1.
    with pytest.raises(backups.BackupError, match="pg_dump 17.1 and pg_restore here is 13.2; install postgresql-client 17"):
        backups.restore(path, url="postgresql+psycopg://nobody@127.0.0.1:1/none", data_dir=tmp_path / "d")


def test_a_backup_into_a_folder_asks_for_a_file_name(db, tmp_path):
    with pytest.raises(backups.BackupError, match="is a folder; name the backup file in it") as refused:
        backups.backup(db, tmp_path)
    assert refused.value.code == 2


@pytest.fixture
def open_umask():
    """The most permissive umask: what voxpop makes private must be private whatever the umask says."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_store_and_its_folder_are_its_owners_only(tmp_path, open_umask):
    folder = tmp_path / "data" / "deeper"
    store = Database(f"sqlite:///{folder / 'voxpop.db'}")
    try:
        with store.write_connection() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
        assert mode(folder) == 0o700 and mode(folder / "voxpop.db") == 0o600
        assert mode(folder.parent) & 0o077  # only the folder voxpop made is private, not the ones above
        for suffix in ("-wal", "-shm"):  # SQLite gives them the database file's mode
            assert mode(folder / f"voxpop.db{suffix}") == 0o600
    finally:
        store.dispose()


def test_an_existing_folder_keeps_the_mode_its_admin_gave_it(tmp_path, open_umask):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o750)
    os.chmod(folder, 0o750)
    store = Database(f"sqlite:///{folder / 'voxpop.db'}")
    store.dispose()
    assert mode(folder) == 0o750 and mode(folder / "voxpop.db") == 0o600


def test_the_data_folder_made_for_the_secret_key_is_private(tmp_path, open_umask):
    settings = Settings(data_dir=tmp_path / "fresh", secret_key=None)
    assert len(settings.signing_key) >= 32
    assert mode(tmp_path / "fresh") == 0o700 and mode(tmp_path / "fresh" / "secret_key") == 0o600
