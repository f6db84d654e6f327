"""Taking in feedback from other tools: `voxpop import responses`."""

from __future__ import annotations

import json
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated

import typer

from voxpop.cli import _database, app, err, fail, get_settings, out

import_app = typer.Typer(help="Import responses and transactions from other tools' export files.", no_args_is_help=True)
app.add_typer(import_app, name="import")
SOURCES = ("auto", "qualtrics", "surveymonkey", "typeform", "googleforms", "limesurvey", "csv")
# How this command gives what settles an import's problem (ImportParameterError and Advice name it).
OPTIONS = {"skip_invalid": "use --skip-invalid --rejects FILE", "mapping": "use --mapping FILE",
           "timezone": "use --timezone, e.g. --timezone Europe/Berlin",
           "source_format": "use --from auto, or --from csv with --mapping FILE", "survey_key": "use --survey KEY",
           "merge_option": "merge them with voxpop import merge-option SURVEY QUESTION FROM TO"}


@import_app.command("responses")
def import_responses_command(
    file: Annotated[Path, typer.Argument(help="The export file: CSV, TSV, XLSX or Parquet, as the tool wrote it.")],
    source: Annotated[str, typer.Option("--from", help="The tool that wrote the file: " + ", ".join(SOURCES) + ".")] = "auto",
    survey: Annotated[str | None, typer.Option(help="The voxpop survey to import into (default: one named after the file, created when new).")] = None,
    title: Annotated[str | None, typer.Option(help="The title of a survey the import creates (default: one made from the file name).")] = None,
    mapping_file: Annotated[Path | None, typer.Option("--mapping", help="A YAML mapping that overrides the detected one.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the mapping, five sample rows and every warning; write nothing.")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the valid rows; write the rejected ones to --rejects.")] = False,
    rejects: Annotated[Path | None, typer.Option(help="Where --skip-invalid writes each rejected row with its reason (CSV).")] = None,
    timezone: Annotated[str | None, typer.Option(help="The time zone of times the file gives without one (default: VOXPOP_TIMEZONE).")] = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Import survey responses exported from Qualtrics, SurveyMonkey, Typeform, Google Forms, LimeSurvey or a CSV.

    All-or-nothing unless --skip-invalid; importing the same rows again adds nothing."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from voxpop.accounts.service import audit
    from voxpop.imports.formats import ImportFileError, layout_name, open_export
    from voxpop.imports.mapping import (
        apply_overrides,
        describe,
        detect_mapping,
        load_overrides,
    )
    from voxpop.imports.service import import_responses

    if source not in SOURCES:
        fail(f"--from must be one of {', '.join(SOURCES)}, not {source!r}")
    if output not in ("table", "json"):
        fail(f"--format must be table or json, not {output!r}")
    if skip_invalid != (rejects is not None):
        fail("--skip-invalid and --rejects FILE go together: the rejected rows must be written somewhere")
    if not file.is_file():
        fail(f"{file} is not a file")
    settings = get_settings()
    zone = timezone or settings.timezone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"unknown time zone {zone!r}; use an IANA name such as Europe/Berlin or UTC")
    db = _database(settings)
    try:
        export = open_export(file, source=source)
        mapping = detect_mapping(export, timezone=zone)
        if mapping_file is not None:
            mapping = apply_overrides(mapping, load_overrides(mapping_file), export)
        if output == "table":
            _print_mapping(export, layout_name(export), describe(mapping))
        with _progress(file, enabled=output == "table" and not dry_run) as advance:
            with rejects.open("w", newline="", encoding="utf-8") if rejects else nullcontext() as rejected:
                summary = import_responses(db, export, mapping, survey_key=survey, title=title, zone=settings.timezone,
                                           max_text_length=settings.max_text_length, dry_run=dry_run,
                                           rejects=rejected, progress=advance)
        if not dry_run:  # audited like the upload page's import; a dry run changes nothing
            with db.write() as db_session:
                audit(db_session=db_session, actor=None, action="import.responses", target=summary.survey,
                      via="cli", file=file.name, format=export.format, new=summary.new, present=summary.present,
                      rejected=summary.rejected)
    except ImportFileError as exc:
        fail(_worded(exc))
    finally:
        db.dispose()
    if output == "json":
        print(json.dumps({"format": export.format, "layout": layout_name(export), "survey": summary.survey,
                          "title": summary.title, "survey_created": summary.survey_created,
                          "dry_run": dry_run, "rows": summary.rows, "new": summary.new, "present": summary.present,
                          "rejected": summary.rejected, "warnings": [_worded(warning) for warning in summary.warnings],
                          "mapping": describe(mapping),
                          "samples": summary.samples}, ensure_ascii=False, default=str))
        return
    for warning in summary.warnings:
        err.print(f"warning: {_worded(warning)}", highlight=False, markup=False)
    if dry_run:
        _print_samples(summary.samples, mapping)
        out.print("dry run: nothing was written", style="dim")
    out.print(summary.sentence() + (f"; rejected rows are in {rejects}" if summary.rejected else ""), highlight=False,
              soft_wrap=True)


def _worded(message: Exception | str) -> str:
    """An import's error or warning, with the option that settles it."""
    parameter = getattr(message, "parameter", None)
    return f"{message} ({OPTIONS[parameter]})" if parameter else str(message)


def _print_mapping(export, layout: str, described: list[dict]) -> None:
    from rich.table import Table

    out.print(f"{export.path.name}: {layout}", highlight=False, markup=False)
    table = Table("column", "header", "maps to", "key", "scale / options", show_edge=False, header_style="bold")
    for column in described:
        table.add_row(str(column["column"]), _short(column["header"] or ""), column["role"], column["key"],
                      _short(column["detail"]))
    out.print(table)


def _print_samples(samples: list[dict], mapping) -> None:
    """The first rows as they will be stored: a line per question (its text), a column per row of the file."""
    from rich.table import Table

    from voxpop.core.wording import counted
    from voxpop.imports.samples import sample_table
    from voxpop.imports.service import question_columns

    if not samples:
        return
    questions = {key: columns[0].label for key, columns in question_columns(mapping).items()}
    table = Table("question", *(f"row {sample['row']}" for sample in samples), show_edge=False, header_style="bold",
                  title=f"The first {counted(len(samples), 'row')} as they will be stored", title_justify="left")
    for what, values in sample_table(samples, questions):
        # The middle goes: a comment box's text is its question's text, then its own prompt.
        shown = what if len(what) <= 50 else f"{what[:24]}…{what[-25:]}"
        table.add_row(shown, *(_short(value) for value in values))
    out.print(table, markup=False)


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _progress(file: Path, *, enabled: bool):
    """A Rich progress bar with rows per second and the time left (rows estimated from the line count); `advance`
    takes the rows done and, optionally, the stage (a responses import is checked, then imported: the bar fills once
    for each)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    @contextmanager
    def bar():
        if not enabled:
            yield None
            return
        with file.open("rb") as handle:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,.0f} rows"),
                   TextColumn("{task.fields[speed]}"), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task("importing", total=max(lines, 1), speed="")

            def advance(rows: int, stage: str = "importing") -> None:
                if progress.tasks[0].description != stage:
                    progress.reset(task, description=stage)
                speed = progress.tasks[0].speed
                progress.update(task, completed=rows, speed=f"{speed:,.0f} rows/s" if speed else "")

            yield advance

    return bar()


@import_app.command("merge-option")
def merge_option_command(
    survey: Annotated[str, typer.Argument(help="The survey's key.")],
    question: Annotated[str, typer.Argument(help="The single-choice question's key.")],
    from_option: Annotated[str, typer.Argument(metavar="FROM", help="The option as the answers have it, e.g. Disgree.")],
    to_option: Annotated[str | None, typer.Argument(metavar="TO", help="The option to count its answers as, e.g. Disagree.")] = None,
    undo: Annotated[bool, typer.Option("--undo", help="Count FROM as itself again (TO may be left out).")] = False,
) -> None:
    """Count a question's answers of a misspelt option as the option it means, or undo that with --undo.

    The answers keep their text; results count them under TO. Recorded in the audit log."""
    from voxpop.imports.merges import MergeError, merge_option, undo_merge

    if not undo and to_option is None:
        fail("give the option to count the answers as (TO), or --undo to count FROM as itself again")
    db = _database()
    try:
        with db.write() as db_session:
            if undo:
                undone = undo_merge(db_session=db_session, survey_key=survey, question=question,
                                    from_option=from_option, actor=None, client="cli")
                sentence = f"{undone.from_option!r} is counted as itself again (it was counted as {undone.to_option!r})"
            else:
                merge_option(db_session=db_session, survey_key=survey, question=question, from_option=from_option,
                             to_option=to_option, actor=None, client="cli")
                sentence = (f"answers {from_option!r} to question {question!r} of survey {survey!r} are counted as "
                            f"{to_option!r}; undo with --undo")
    except MergeError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    out.print(sentence[:1].upper() + sentence[1:], highlight=False, markup=False, soft_wrap=True)


@import_app.command("transactions")
def import_transactions_command(
    file: Annotated[Path, typer.Argument(help="CDNOW text, a CSV/TSV/XLSX/Parquet file, or a folder of daily CSV files.")],
    source: Annotated[str, typer.Option("--from", help="auto, cdnow or csv.")] = "auto",
    mapping: Annotated[Path | None, typer.Option("--mapping", help="YAML naming the customer, date and amount "
                                                                    "columns of a CSV, e.g. {customer: CustomerID}.")] = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Import purchase lines (CDNOW, UCI Online Retail, or any file with customer, date and amount columns).

    The whole file is checked before anything is written; importing it again adds nothing."""
    from voxpop.accounts.service import audit
    from voxpop.analysis.engine import MetricError
    from voxpop.cli.customers import _columns
    from voxpop.customers.service import import_transactions
    from voxpop.customers.transaction_files import read_transactions

    if source not in ("auto", "cdnow", "csv"):
        fail(f"--from must be auto, cdnow or csv, not {source!r}")
    if output not in ("table", "json"):
        fail(f"--format must be table or json, not {output!r}")
    if not file.exists():
        fail(f"{file} does not exist")
    db = _database()
    try:
        read = read_transactions(file, source_format=source, **_columns(mapping))  # type: ignore[arg-type]
        with _progress(file, enabled=output == "table" and file.is_file()) as advance:
            summary = import_transactions(db, read, progress=advance)
        with db.write() as db_session:  # audited like the upload page's import
            audit(db_session=db_session, actor=None, action="import.transactions", target=file.name, via="cli",
                  new=summary.new, present=summary.present)
    except MetricError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    if output == "json":
        print(json.dumps({"format": read.source_format} | vars(summary)))
        return
    out.print(f"{file.name}: {read.source_format}; " + summary.sentence(), highlight=False, soft_wrap=True)
