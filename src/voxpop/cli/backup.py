"""voxpop backup verbs: `backup PATH`, `restore PATH` and `db check` (docs/backup.md)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voxpop.cli import app, database, db_app, err, fail, get_settings, out

if TYPE_CHECKING:
    from voxpop.settings import Settings

SESSIONS_END = ("staff sessions and survey forms in progress signed with the old key end: staff sign in again. "
                "To keep them, copy the old data folder's secret_key into {data_dir}, or set VOXPOP_SECRET_KEY "
                "to the old key, before starting the server")


@app.command("backup")
def backup(
    path: Annotated[Path, typer.Argument(help="The backup file to write (a new file; .tar, or .tar.gz to compress).")],
    include_secret_key: Annotated[bool, typer.Option(
        "--include-secret-key", help="Put the secret key in the backup: whoever holds the file can then forge staff "
                                     "sessions.")] = False,
) -> None:
    """Write a consistent backup of the store to PATH, one file, while the server keeps running."""
    from sqlalchemy.exc import SQLAlchemyError

    from voxpop.store.backup import BackupError
    from voxpop.store.backup import backup as take_backup

    settings = get_settings()
    key = _secret_key(settings) if include_secret_key else None
    db = _open(settings)
    try:
        manifest = take_backup(db, path, secret_key=key)
        _audit(db, "store.backup", str(path), manifest["alembic_revision"], secret_key_included=key is not None)
    except BackupError as exc:
        fail(str(exc), exc.code)
    except (OSError, SQLAlchemyError) as exc:  # a full disk, a server gone away: no file is left behind
        fail(f"the backup to {path} failed: {exc}", 1)
    finally:
        db.dispose()
    tables = manifest["tables"]
    _say(f"backup written to {path}: {manifest['backend']}, schema revision {manifest['alembic_revision']}, "
         f"{tables.get('responses', 0):,} responses; rows in all: {sum(tables.values()):,}, in {len(tables)} tables")
    if key is not None:
        _warn("warning: the backup holds the secret key; whoever has the file can forge staff sessions. "
              "Keep it as safe as the server itself.")
    else:
        _say("the secret key is not in the backup (add --include-secret-key to put it in); a restore "
             "elsewhere starts with a new key unless you carry the key over")


@app.command("restore")
def restore(
    path: Annotated[Path, typer.Argument(help="A backup file written by `voxpop backup`.")],
    force: Annotated[bool, typer.Option(
        "--force", help="Replace a database that holds data (and another secret key). Stop the server first.")] = False,
) -> None:
    """Restore a backup into the configured database (empty, or replaced with --force), then migrate it."""
    from voxpop.store.backup import BackupError
    from voxpop.store.backup import restore as restore_backup
    from voxpop.store.database import Database

    settings = get_settings()
    try:
        restored = restore_backup(path, url=settings.sqlalchemy_url, data_dir=settings.data_dir, force=force)
    except BackupError as exc:
        fail(str(exc), exc.code)
    except Exception as exc:  # an unreachable server, a bad URL
        fail(f"cannot restore into {_shown(settings)}: {exc}", 1)
    manifest = restored.manifest
    db = Database(settings.sqlalchemy_url)
    try:
        _audit(db, "store.restore", path.name, None, backup_created_at=manifest["created_at"],
               backup_revision=manifest["alembic_revision"], secret_key=restored.secret_key)
    finally:
        db.dispose()
    _say(f"restored {path} (taken {manifest['created_at']}, voxpop {manifest['voxpop_version']}) into "
         f"{_shown(settings)}: {manifest['tables'].get('responses', 0):,} responses")
    if restored.migrated_to:
        _say(f"schema migrated from revision {restored.migrated_from} to {restored.migrated_to}")
    if restored.secret_key == "absent":
        _say("the backup holds no secret key: " + SESSIONS_END.format(data_dir=settings.data_dir))
    else:
        _say(f"secret key {restored.secret_key} in {settings.data_dir}")


@db_app.command("check")
def db_check() -> None:
    """Check the store: SQLite's integrity and foreign keys, and the daily rollups against a rebuild."""
    from voxpop.analysis.rollups import rollup_differences
    from voxpop.store.backup import integrity_problems

    settings = get_settings()
    with database(settings) as db:
        problems = integrity_problems(db)
        differing, rows = rollup_differences(db, zone=settings.timezone)
    for problem in problems[:20]:
        _say(f"integrity: {problem}")
    if db.is_sqlite:
        _say(f"integrity and foreign keys: {'ok' if not problems else f'{len(problems):,} problems'}")
    if differing:
        _say(f"rollups: {differing:,} of {rows:,} rows differ from a rebuild; run `voxpop db rollups`")
    else:
        _say(f"rollups: equal to a rebuild ({rows:,} rows)")
    for warning in loose_permissions(settings):
        _warn(f"warning: {warning}")
    if problems or differing:
        raise typer.Exit(1)


def loose_permissions(settings: Settings) -> list[str]:
    """The SQLite database and the data folder, when others than their owner may read them."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.sqlalchemy_url)
    paths = [settings.data_dir]
    if url.get_backend_name() == "sqlite" and url.database:
        paths.append(Path(url.database))
    found = []
    for path in paths:
        if path.exists() and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            mode = "700" if path.is_dir() else "600"
            found.append(f"{path} can be read by others than its owner "
                         f"({stat.filemode(path.stat().st_mode)}); `chmod {mode} {path}` makes it private")
    return found


def _secret_key(settings: Settings) -> str:
    """The key the server signs with, to go into the backup; never generates one."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    if not path.is_file():
        fail(f"there is no secret key to include: VOXPOP_SECRET_KEY is unset and {path} does not exist")
    return path.read_text().strip()


def _open(settings: Settings):
    """The store, at whatever revision: a backup before `voxpop db upgrade` is the one worth having."""
    from sqlalchemy.engine import make_url

    from voxpop.store.database import Database

    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        # Opening it would create an empty store, and back that up.
        fail(f"there is no SQLite database at {url.database}; check VOXPOP_DATA_DIR or VOXPOP_DATABASE_URL", 1)
    db = Database(settings.sqlalchemy_url)
    try:
        with db.engine.connect():
            pass
    except Exception as exc:  # an unreachable server, a bad URL
        db.dispose()
        fail(f"cannot open the database {_shown(settings)}: {exc}", 1)
    return db


def _audit(db, action: str, target: str, revision: str | None, **details) -> None:
    """Record the verb in the audit log, when the store's schema is this voxpop's (an older one is left as is)."""
    from voxpop.accounts.service import audit
    from voxpop.store.migrate import current_revision, head_revision

    try:
        if (revision or current_revision(db.engine)) != head_revision():
            return
        with db.write() as db_session:
            audit(db_session=db_session, actor=None, action=action, target=target, via="cli", **details)
    except Exception as exc:  # the work is done; say the log lacks it rather than hide that it is done
        _warn(f"warning: {action} could not be recorded in the audit log: {exc}")


def _say(message: str) -> None:
    """One line of output, unwrapped and taken literally (a path may hold brackets)."""
    out.print(message, highlight=False, markup=False, soft_wrap=True)


def _warn(message: str) -> None:
    err.print(message, highlight=False, markup=False, soft_wrap=True)


def _shown(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.sqlalchemy_url).render_as_string(hide_password=True)
