"""`voxpop scorecard export`: the scorecard and its strategy map as the PDF the pages download, or its table as CSV."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from voxpop.cli import _database, fail, get_settings, out
from voxpop.cli.scorecard import scorecard_app


@scorecard_app.command("export")
def export(
    key: Annotated[str, typer.Argument(metavar="KEY", help="The scorecard's key.")],
    output: Annotated[Path, typer.Option("--output", metavar="FILE", help="Where to write it; - for standard "
                                                                          "output.")],
    period: Annotated[str, typer.Option(help="A month (2026-11) or quarter (2026-Q4); by default the last period "
                                             "that has ended.")] = "",
    file_format: Annotated[Literal["pdf", "csv"], typer.Option("--format", help="pdf (the scorecard and its "
                                                                               "strategy map) or csv (one row per "
                                                                               "measure).")] = "pdf",
) -> None:
    """The scorecard of a period as a PDF (a locked review's snapshot once locked), or its measures as CSV."""
    from sqlalchemy import select

    from voxpop.scorecard import report
    from voxpop.scorecard.models import Scorecard
    from voxpop.scorecard.service import get_scorecard
    from voxpop.scorecard.views import PeriodError, choose_period, scorecard_kind
    from voxpop.store.base import utcnow
    from voxpop.web.tables import csv_text

    settings = get_settings()
    now = utcnow()
    with _database(settings).read() as db_session:
        scorecard = get_scorecard(db_session=db_session, key=key)
        if scorecard is None:
            keys = db_session.scalars(select(Scorecard.key).order_by(Scorecard.key)).all()
            fail(f"there is no scorecard {key!r}; the scorecards are {', '.join(keys) or 'none yet'} "
                 "(`voxpop scorecard apply FILE` defines one)")
        try:
            label = choose_period(period, kind=scorecard_kind(db_session, scorecard), now=now,
                                  zone=settings.timezone).label
        except PeriodError as exc:
            fail(f"--period: {exc}")
        options = {"scorecard": scorecard, "period": label, "zone": settings.timezone,
                   "min_base": settings.min_base, "now": now}
        if file_format == "csv":
            _name, header, rows = report.scorecard_csv(db_session, **options)
            content = csv_text(header, rows).encode()
        else:
            content = report.scorecard_pdf(db_session, **options)
    if str(output) == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(content)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}; choose a file in a folder you can write to", 1)
    out.print(f"wrote {output} ({file_format.upper()}, {key}, {label}, {len(content):,} bytes)", highlight=False)
