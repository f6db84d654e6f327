"""`voxpop survey export-responses`: a survey's responses, filtered as on the staff pages, as a file; and
`voxpop export responses`: every survey's, as a folder of Parquet files partitioned by survey and month."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from voxpop.cli import _database, app, err, fail, get_settings, out, survey_app

export_app = typer.Typer(help="The whole store as files for Spark, DuckDB, Trino or a warehouse.", no_args_is_help=True)
app.add_typer(export_app, name="export")


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


@export_app.command("responses")
def export_store_responses(
    path: Annotated[Path, typer.Argument(help="The folder to write (made if missing; it must be empty, or hold an "
                                              "earlier export and --replace be given).")],
    file_format: Annotated[str, typer.Option("--format", help="parquet (the only format for a whole-store export).")]
        = "parquet",
    survey: Annotated[list[str] | None, typer.Option(help="A survey's key; repeat. Every survey when not given.")]
        = None,
    since: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD, in the workspace's time zone.")] = None,
    until: Annotated[str | None, typer.Option(help="Last day (included), YYYY-MM-DD.")] = None,
    period: Annotated[str | None, typer.Option(help="A preset instead of --since/--until, e.g. last-quarter.")] = None,
    attribute: Annotated[list[str] | None, typer.Option(help="name=value; repeat (values of one attribute are "
                                                             "alternatives, attributes all hold).")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace an earlier export in PATH.")] = False,
) -> None:
    """Export every survey's responses as Parquet, PATH/survey=KEY/month=YYYY-MM/part-0.parquet, read in chunks."""
    from voxpop.collection.filters import FilterError, parse_response_filter
    from voxpop.results.export import ExportError
    from voxpop.results.store_export import check_folder, plan_store_export, write_store_export

    if file_format != "parquet":
        fail(f"--format must be parquet, not {file_format!r}: a whole-store export is a folder of Parquet files "
             "(`voxpop survey export-responses` writes one survey as csv, xlsx or sav)")
    settings = get_settings()
    zone = settings.timezone
    try:
        response_filter = parse_response_filter(today=datetime.now(ZoneInfo(zone)).date(), since=since, until=until,
                                                period=period, attribute=attribute or ())
    except FilterError as exc:
        fail(f"{exc} (--{exc.parameter})" if exc.parameter else str(exc))
    path = path.resolve()  # so every message names the folder itself, not "." or a symlink
    try:
        if check_folder(path, data_dir=settings.data_dir) and not replace:
            fail(f"{path} holds an earlier export; choose a new folder, or pass --replace to replace it")
    except ExportError as exc:
        fail(str(exc))
    db = _database()
    with db.read_connection() as connection:
        try:
            surveys = plan_store_export(connection, zone=zone, response_filter=response_filter,
                                        survey_keys=tuple(survey or ()))
            with _progress(sum(part.responses for part in surveys)) as advance:
                written = write_store_export(connection, surveys, path, response_filter=response_filter,
                                             replace_existing=replace, advance=advance)
        except ExportError as exc:
            fail(str(exc))
        except OSError as exc:  # a full disk, a folder taken away: the notes say what could not be cleaned up
            left = "; ".join(getattr(exc, "__notes__", ())) or "what it had written was removed"
            fail(f"the export to {path} failed ({exc.strerror or exc}); {left}", 1)
    responses = sum(count for part in written for _, count in part.months)
    months = sum(len(part.months) for part in written)
    out.print(f"wrote {responses:,} response{'' if responses == 1 else 's'} of {len(written)} "
              f"survey{'' if len(written) == 1 else 's'} to {path} ({months} survey-month "
              f"file{'' if months == 1 else 's'})", highlight=False, soft_wrap=True)


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
