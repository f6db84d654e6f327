"""`voxpop scorecard ...`: the balanced scorecard from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
import yaml

from voxpop.cli import _database, app, fail, out, read_text_file

scorecard_app = typer.Typer(help="The balanced scorecard: define, score, test the strategy map, export.",
                            no_args_is_help=True)
app.add_typer(scorecard_app, name="scorecard")


@scorecard_app.command("apply")
def apply_command(
    file: Annotated[Path, typer.Argument(help="The scorecard file, YAML or JSON (docs/scorecard-file.md).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would change, change nothing.")] = False,
) -> None:
    """Create or update a scorecard from a file; a changed file becomes its next version.

    Keys keep measures, their values, commentary and reviews; what leaves the file is deleted, and said so."""
    from voxpop.core.wording import counted
    from voxpop.scorecard.definition import DefinitionError, load_definition
    from voxpop.scorecard.service import apply_definition

    text = read_text_file(file)
    db = _database()
    try:
        document = load_definition(text, source=str(file))
        with db.write() as db_session:
            report = apply_definition(db_session=db_session, document=document, actor=None, source=str(file),
                                      dry_run=dry_run)
    except DefinitionError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    for line in report.lines():
        out.print(line, highlight=False, markup=False)
    changes = counted(len(report.changes), "change")
    if dry_run:
        out.print(f"dry run: {changes} would be made; nothing was changed", highlight=False)
    else:
        out.print(f"applied: {changes}", highlight=False)


@scorecard_app.command("show")
def show_command(
    key: Annotated[str, typer.Argument(help="The scorecard's key.")],
    version: Annotated[int | None, typer.Option("--version", help="An earlier version (default: the current one).",
                                                min=1)] = None,
    output: Annotated[Literal["yaml", "json"], typer.Option("--format", help="yaml or json.")] = "yaml",
) -> None:
    """The scorecard's definition as a file, which `voxpop scorecard apply` reads back."""
    from voxpop.scorecard.service import ScorecardNotFound, export_definition, get_scorecard

    db = _database()
    try:
        with db.read() as db_session:
            scorecard = get_scorecard(db_session=db_session, key=key)
            if scorecard is None:
                fail(f"there is no scorecard {key!r}; apply its file with `voxpop scorecard apply FILE`")
            document = export_definition(db_session=db_session, scorecard=scorecard, version=version)
    except ScorecardNotFound as exc:
        fail(str(exc))
    finally:
        db.dispose()
    if output == "json":
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100))
