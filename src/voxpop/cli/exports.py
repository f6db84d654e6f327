"""`voxpop survey export-responses`: a survey's responses, filtered as on the staff pages, as a file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from voxpop.cli import _database, err, fail, get_settings, out, survey_app


@survey_app.command("export-responses")
def export_responses(
    key: Annotated[str, typer.Argument(help="The survey's key.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write (replaced if it exists).")],
    file_format: Annotated[str, typer.Option("--format", help="csv, xlsx, parquet or sav.")] = "csv",
    since: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD, in the workspace's time zone.")] = None,
    until: Annotated[str | None, typer.Option(help="Last day (included), YYYY-MM-DD.")] = None,
    period: Annotated[str | None, typer.Option(help="A preset instead of --since/--until, e.g. last-quarter.")] = None,
    attribute: Annotated[list[str] | None, typer.Option(help="name=value; repeat (values of one attribute are "
                                                             "alternatives, attributes all hold).")] = None,
    answer: Annotated[list[str] | None, typer.Option(help="question:test, e.g. nps:detractors or bought:boots; "
                                                          "repeat.")] = None,
) -> None:
    """Export a survey's responses, one row per response with labelled columns, read in chunks."""
    from voxpop.collection.filters import FilterError, parse_response_filter
    from voxpop.results.export import FORMATS, ExportError, count_responses, export_layout, response_chunks, write_file

    if file_format not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {file_format!r}")
    zone = get_settings().timezone
    try:
        response_filter = parse_response_filter(today=datetime.now(ZoneInfo(zone)).date(), since=since, until=until,
                                                period=period, attribute=attribute or (), answer=answer or ())
    except FilterError as exc:
        fail(f"{exc} (--{exc.parameter})" if exc.parameter else str(exc))
    if not output.parent.is_dir():
        fail(f"the folder {output.parent} does not exist; create it or choose another --output")
    db = _database()
    with db.read_connection() as connection:
        layout = export_layout(connection, survey_key=key, zone=zone)
        if layout is None:
            fail(f"there is no survey {key!r}; check the key (the dashboard lists every survey)")
        total = count_responses(connection, layout, response_filter)
        try:
            with _progress(total) as advance:
                written = write_file(layout, advance(response_chunks(connection, layout, response_filter)), output,
                                     file_format=file_format, total=total)
        except ExportError as exc:
            output.unlink(missing_ok=True)
            fail(str(exc))
    out.print(f"wrote {written:,} response{'' if written == 1 else 's'} of {key!r} to {output} "
              f"({len(layout.columns)} columns)")


def _progress(total: int):
    """A Rich progress bar over the chunks, in responses, on stderr, shown only on a terminal."""
    from contextlib import contextmanager

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    @contextmanager
    def bar():
        with Progress(TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as progress:
            task = progress.add_task("export", total=max(total, 1))

            def advance(chunks):
                for rows in chunks:
                    yield rows
                    progress.advance(task, len(rows))

            yield advance

    return bar()
