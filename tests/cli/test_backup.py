"""`voxpop backup`, `voxpop restore` and `voxpop db check` against the configured store, on each backend."""

from __future__ import annotations

import tarfile

from sqlalchemy import select
from typer.testing import CliRunner

from tests.helpers import apply_survey
from tests.store.test_backup import _restore_database, record, restore_url  # noqa: F401 (fixtures)
from voxpop.accounts.models import AuditEntry
from voxpop.cli import app
from voxpop.settings import get_settings
from voxpop.store.database import Database

runner = CliRunner()


def audit_actions(url: str) -> list[tuple[str, dict]]:
    store = Database(url)
    try:
        with store.read() as db_session:
            return [(entry.action, entry.details) for entry in db_session.scalars(select(AuditEntry))]
    finally:
        store.dispose()


def test_backup_then_restore_into_a_fresh_store(configured, database_url, restore_url, tmp_path,  # noqa: F811
                                                monkeypatch):
    apply_survey(configured)
    record(configured, 4)
    backup = tmp_path / "voxpop.tar"
    taken = runner.invoke(app, ["backup", str(backup)])
    assert taken.exit_code == 0, taken.output
    assert "4 responses" in taken.stdout and "secret key is not in the backup" in taken.stdout
    assert ("store.backup", {"via": "cli", "secret_key_included": False}) in audit_actions(database_url)

    again = runner.invoke(app, ["backup", str(backup)])
    assert again.exit_code == 2 and "exists already" in again.stderr

    monkeypatch.setenv("VOXPOP_DATABASE_URL", restore_url)
    monkeypatch.setenv("VOXPOP_DATA_DIR", str(tmp_path / "new-data"))
    get_settings.cache_clear()
    restored = runner.invoke(app, ["restore", str(backup)])
    assert restored.exit_code == 0, restored.output
    assert "4 responses" in restored.stdout
    assert "holds no secret key" in restored.stdout and "sign in again" in restored.stdout
    # The backup is audited once it is written, so its own entry is not in it.
    assert [action for action, _ in audit_actions(restore_url)] == ["store.restore"]

    checked = runner.invoke(app, ["db", "check"])
    assert checked.exit_code == 0, checked.output
    assert "rollups: equal to a rebuild" in checked.stdout

    refused = runner.invoke(app, ["restore", str(backup)])
    assert refused.exit_code == 2 and "holds data" in refused.stderr and "--force" in refused.stderr
    forced = runner.invoke(app, ["restore", str(backup), "--force"])
    assert forced.exit_code == 0, forced.output


def test_backup_with_the_secret_key_warns_whoever_holds_it(configured, tmp_path, monkeypatch):
    monkeypatch.setenv("VOXPOP_SECRET_KEY", "s" * 40)
    get_settings.cache_clear()
    taken = runner.invoke(app, ["backup", str(tmp_path / "keyed.tar"), "--include-secret-key"])
    assert taken.exit_code == 0, taken.output
    assert "can forge staff sessions" in taken.stderr
    with tarfile.open(tmp_path / "keyed.tar") as archive:
        assert archive.extractfile("secret_key").read() == b"s" * 40


def test_backup_with_no_secret_key_to_include_says_so(configured, tmp_path):
    taken = runner.invoke(app, ["backup", str(tmp_path / "keyed.tar"), "--include-secret-key"])
    assert taken.exit_code == 2 and "no secret key to include" in taken.stderr
    assert not (tmp_path / "keyed.tar").exists()


def test_restore_of_a_file_that_is_not_a_backup(configured, tmp_path):
    (tmp_path / "notes.tar").write_text("not an archive")
    result = runner.invoke(app, ["restore", str(tmp_path / "notes.tar")])
    assert result.exit_code == 2 and "is not a voxpop backup" in result.stderr


def test_db_check_fails_when_the_rollups_drifted(configured):
    from sqlalchemy import update

    from voxpop.analysis.models import ScoreRollup

    apply_survey(configured)
    record(configured, 2)
    with configured.write() as db_session:
        db_session.execute(update(ScoreRollup).values(n=ScoreRollup.n + 1))
    result = runner.invoke(app, ["db", "check"])
    assert result.exit_code == 1 and "differ from a rebuild; run `voxpop db rollups`" in result.stdout


def test_backup_of_a_sqlite_store_that_is_not_there_creates_none(tmp_path, monkeypatch):
    monkeypatch.delenv("VOXPOP_DATABASE_URL", raising=False)
    monkeypatch.setenv("VOXPOP_DATA_DIR", str(tmp_path / "typo"))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["backup", str(tmp_path / "b.tar")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1 and "no SQLite database at" in result.stderr
    assert not (tmp_path / "typo").exists() and not (tmp_path / "b.tar").exists()
