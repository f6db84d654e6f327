"""`voxpop scorecard values import FILE`: people's values of manual measures from a CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxpop.cli import _database, fail, out
from voxpop.cli.scorecard import scorecard_app

values_app = typer.Typer(help="Values of manual measures, entered by people.", no_args_is_help=True)
scorecard_app.add_typer(values_app, name="values")
MAX_BYTES = 5_000_000


@values_app.command("import")
def values_import(
    file: Annotated[Path, typer.Argument(help="A CSV with the header measure,period,value,comment (and n, "
                                              "optionally); periods as 2026-11 or 2026-Q4.")],
    scorecard: Annotated[str | None, typer.Option(help="The scorecard's key, when a measure key is in several.")] = None,
) -> None:
    """Import values of manual measures, all rows or none. The command line is run by the admin, so the values
    it imports are approved at once; values entered on the pages wait for their owner's approval."""
    from sqlalchemy import select

    from voxpop.scorecard.entries import EntryError, import_values
    from voxpop.scorecard.models import Scorecard

    if not file.is_file():
        fail(f"{file}: no such file; give the path of a CSV of values")
    if file.stat().st_size > MAX_BYTES:
        fail(f"{file}: the file is over {MAX_BYTES // 1_000_000} MB; split it")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{file}: the file is not UTF-8 text; save the CSV as UTF-8")
    db = _database()
    try:
        with db.write() as db_session:
            chosen = None
            if scorecard is not None:
                chosen = db_session.scalar(select(Scorecard).where(Scorecard.key == scorecard))
                if chosen is None:
                    fail(f"there is no scorecard {scorecard!r}; give a scorecard's key (voxpop scorecard apply "
                         "makes one)")
            report = import_values(db_session=db_session, scorecard=chosen, text=text, actor=None, approve=True)
    except EntryError as exc:
        fail(f"{file}: {exc}")
    out.print(f"{file.name}: {report.sentence()}" + (f" ({', '.join(report.measures)})" if report.measures else ""),
              highlight=False)
