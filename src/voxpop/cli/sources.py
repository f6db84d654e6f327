"""`voxpop sources`: Focus groups and interviews: import transcripts as qualitative sources."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import typer

from voxpop.cli import _database, app, fail, out
from voxpop.cli.audit import record

sources_app = typer.Typer(help="Focus groups and interviews: import transcripts as qualitative sources.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
# The service names the field that settles a refusal; here it is said as the option.
OPTION_OF = {"kind": "--kind", "title": "--title", "held_on": "--date", "moderator": "--moderator",
             "participants": "--participant", "notes": "--notes"}


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        fail(f"{path} does not exist")
    except OSError as exc:
        fail(f"{path} cannot be read: {exc}")


@sources_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="The transcript: .txt, .vtt, .srt or .docx (docs/qualitative.md).")],
    kind: Annotated[str, typer.Option("--kind", help="focus-group or interview.")],
    title: Annotated[str, typer.Option("--title", help="The session's title.")],
    held_on: Annotated[str, typer.Option("--date", help="The day it was held, e.g. 2026-11-20.")],
    moderator: Annotated[str | None, typer.Option("--moderator", help="The moderator's name as the transcript "
                                                                      "writes it.")] = None,
    participant: Annotated[list[str] | None, typer.Option(
        "--participant", help="Link a speaker: \"Anna=NW-000123\" (a customer's id) or \"Ben=segment:SMB\"; "
                              "repeat for each.")] = None,
    notes: Annotated[str, typer.Option("--notes", help="Notes on the session.")] = "",
) -> None:
    """Import a transcript as a focus group or interview; its turns are redacted and analysed like comments."""
    from voxpop.qualitative.service import SourceRefused, import_transcript, parse_participants

    data = _read_bytes(file)
    try:
        day = date.fromisoformat(held_on.strip())
    except ValueError:
        fail(f"--date must be a day such as 2026-11-20, not {held_on!r}")
    db = _database()
    try:
        links = parse_participants(participant or [])
        with db.write() as db_session:
            imported = import_transcript(db_session, data=data, filename=file.name, kind=kind, title=title,
                                         held_on=day, moderator=moderator, participants=links, notes=notes)
            record(db_session, "source.import", imported.key, file=file.name, turns=imported.turns)
    except SourceRefused as exc:
        where = f"{file}: " if exc.field == "file" else f"{OPTION_OF.get(exc.field, exc.field)}: "
        fail(where + str(exc))
    finally:
        db.dispose()
    out.print(f"imported {imported.key}: {imported.turns} turns by {imported.participants} participants "
              f"({imported.file_format}); {imported.themed_turns} turns themed, {imported.redacted_turns} with "
              "personal data removed", highlight=False, markup=False)


@sources_app.command("list")
def list_command(
    output: Annotated[Literal["table", "json"], typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Every focus group and interview, latest first (GET /api/v1/sources)."""
    from voxpop.qualitative.views import source_list

    db = _database()
    try:
        with db.read_connection() as connection:
            listed = source_list(connection)
    finally:
        db.dispose()
    if output == "json":
        print(listed.model_dump_json(indent=2))
        return
    if not listed.sources:
        out.print("no sources yet; import a transcript with `voxpop sources import FILE`", highlight=False,
                  markup=False)
        return
    for source in listed.sources:
        out.print(f"{source.key}  {source.held_on}  {source.kind.replace('_', ' ')}  {source.participants} "
                  f"participants  {source.turns} turns  {source.title}", highlight=False, markup=False)


@sources_app.command("show")
def show_command(
    key: Annotated[str, typer.Argument(help="The source's key (voxpop sources list).")],
    theme: Annotated[str, typer.Option("--theme", help="Only turns on this theme (a codebook key).")] = "",
    speaker: Annotated[str, typer.Option("--speaker", help="Only this speaker's turns.")] = "",
    output: Annotated[Literal["text", "json"], typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """A session: its participants and its turns, redacted, with sentiment and themes."""
    from voxpop.qualitative.views import session_detail
    from voxpop.qualitative.voices import UnknownSource
    from voxpop.text.codebooks import current_codebook

    db = _database()
    try:
        with db.read_connection() as connection:
            detail = session_detail(connection, key, theme=theme, speaker=speaker,
                                    codebook=current_codebook(connection).codebook)
    except UnknownSource:
        fail(f"there is no source {key!r}; `voxpop sources list` shows them")
    finally:
        db.dispose()
    if output == "json":
        print(json.dumps(detail.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    source = detail.source
    lines = [f"{source.title} ({source.kind.replace('_', ' ')}, {source.held_on}"
             + (f", moderated by {source.moderator}" if source.moderator else "") + ")"]
    for person in detail.participants:
        linked = ", ".join(part for part in (person.customer and f"customer {person.customer}",
                                             person.segment and f"segment {person.segment}") if part)
        lines.append(f"  {person.label} ({person.role}{'; ' + linked if linked else ''}): {person.turns} turns")
    lines.append("")
    for turn in detail.turns:
        feeling = turn.sentiment_label or "not scored"
        themes = ", ".join(tag.label for tag in turn.themes)
        at = f"[{int(turn.start_seconds) // 3600:02d}:{int(turn.start_seconds) % 3600 // 60:02d}:" \
             f"{int(turn.start_seconds) % 60:02d}] " if turn.start_seconds is not None else ""
        lines.append(f"{at}{turn.speaker}: {turn.text}")
        lines.append(f"    {feeling}{' · ' + themes if themes else ''}")
    for line in lines:
        out.print(line, highlight=False, markup=False, soft_wrap=True)


@sources_app.command("reanalyse")
def reanalyse_command(
    everything: Annotated[bool, typer.Option("--all", help="Every turn, not only those an older codebook or "
                                                           "pipeline analysed.")] = False,
) -> None:
    """Analyse turns again after the codebook changed; staff corrections are kept."""
    from voxpop.qualitative.service import refresh_turns

    db = _database()
    try:
        with db.write() as db_session:
            count = refresh_turns(db_session, everything=everything)
    finally:
        db.dispose()
    out.print(f"analysed {count} turns again", highlight=False, markup=False)
