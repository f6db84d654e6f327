"""`voxpop text codebook`: the workspace's codebook from the command line, so it can live in version control."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxpop.cli import _database, err, fail, get_settings, out
from voxpop.cli.text import text_app

codebook_app = typer.Typer(help="The workspace's codebook: show it, save a new version, list the versions.",
                           no_args_is_help=True)
text_app.add_typer(codebook_app, name="codebook")


@codebook_app.command("show")
def show_command() -> None:
    """Print the newest codebook version as YAML (redirect it to a file to edit it); its number goes to stderr,
    for `set --base-version`."""
    from voxpop.text.codebooks import current_codebook

    stored = _read(current_codebook)
    version, definition = stored.editing
    err.print(f"codebook version {version}" + (f"; {stored.problem}" if stored.problem else ""), highlight=False)
    out.print(definition, end="", markup=False, highlight=False, soft_wrap=True)


@codebook_app.command("set")
def set_command(
    file: Annotated[Path, typer.Argument(help="The codebook as a UTF-8 YAML file.")],
    base_version: Annotated[int | None, typer.Option(help="The version FILE was edited from (`show` prints it); "
                                                          "refused if a newer one was saved since.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Save over whatever version is newest.")] = False,
    note: Annotated[str, typer.Option(help="What changed and why, kept with the version.")] = "",
) -> None:
    """Save FILE as the next codebook version; comments are re-tagged by the server's worker or by
    `voxpop text backfill`."""
    if base_version is None and not force:
        fail("say which version the file was edited from with --base-version N (`voxpop text codebook show` "
             "prints it), so an edit made on the Codebook page since is not silently undone; or give --force")
    from sqlalchemy import func, select

    from voxpop.accounts.service import audit
    from voxpop.text.codebook import CodebookError
    from voxpop.text.codebooks import BUILT_IN, save_codebook
    from voxpop.text.models import CodebookVersion

    try:
        definition = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the codebook {file}: {exc}; give a UTF-8 YAML file")
    db = _database(get_settings())
    try:
        with db.write() as db_session:
            base = base_version
            if force:
                base = db_session.scalar(select(func.max(CodebookVersion.version))) or BUILT_IN
            version = save_codebook(db_session, definition, base_version=base, note=note)
            audit(db_session=db_session, actor=None, action="codebook.save", target=str(version), via="cli",
                  note=note[:500])
    except CodebookError as exc:
        fail(f"{file.name}: {exc}")
    finally:
        db.dispose()
    out.print(f"saved codebook version {version}; run `voxpop text backfill` to re-tag the comments now "
              "(the server's worker does it in the background)", highlight=False)


@codebook_app.command("history")
def history_command() -> None:
    """List the saved versions, newest first."""
    from voxpop.text.codebooks import codebook_history

    history = _read(codebook_history)
    if not history:
        out.print("no version saved: the built-in codebook (version 0) is in use", highlight=False)
    for entry in history:
        out.print(f"{entry['version']:>4}  {entry['saved_at']:%Y-%m-%d %H:%M}  {entry['saved_by'] or 'command line'}  "
                  f"{entry['note']}", markup=False, highlight=False)


def _read(query):
    """query(connection) on the configured store."""
    db = _database(get_settings())
    try:
        with db.read_connection() as connection:
            return query(connection)
    finally:
        db.dispose()
