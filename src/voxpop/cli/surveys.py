"""Reading surveys on the command line: `survey list`, `survey show KEY` and `survey export KEY`."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import typer

from voxpop.cli import _database, fail, get_settings, out, survey_app

# Eight heights of a bar, so a terminal shows the monthly trend in one word, as the page's sparkline does.
BARS = "▁▂▃▄▅▆▇█"
CONDITION_WORDS = {"eq": "=", "ne": "≠", "lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}


def bars(counts: list[int]) -> str:
    """Counts as a row of bars from zero to the highest count."""
    high = max(counts, default=0) or 1
    return "".join(BARS[round(count / high * (len(BARS) - 1))] for count in counts)


def condition_words(condition) -> str:
    """A show_if condition as a reader says it: 'nps ≤ 6', 'resolved in yes, partly', 'because answered'."""
    if condition.answered is not None:
        return f"{condition.question} {'answered' if condition.answered else 'not answered'}"
    if condition.any_of is not None:
        return f"{condition.question} in {', '.join(map(str, condition.any_of))}"
    name = next(name for name in CONDITION_WORDS if getattr(condition, name) is not None)
    return f"{condition.question} {CONDITION_WORDS[name]} {getattr(condition, name)}"


def _survey(db_session, key: str):
    from voxpop.surveys import service

    survey = service.get_by_key(db_session=db_session, key=key)
    if survey is None or survey.current_version is None:
        fail(f"there is no survey with key {key!r}; `voxpop survey list` shows the keys")
    return survey


@survey_app.command("list")
def survey_list(
    search: Annotated[str | None, typer.Option(help="Words of the title or key (case-insensitive).")] = None,
    status: Annotated[Literal["draft", "live", "closed"] | None, typer.Option(help="draft, live or closed.")] = None,
    owner: Annotated[str | None, typer.Option(help="The owner's e-mail.")] = None,
    output: Annotated[Literal["table", "json", "csv"], typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """Every survey: status, responses, last response, responses per month over the last 12 months, owner, version;
    the same filters as the survey list page."""
    from voxpop.results import survey_list as lists

    with _database().read() as db_session:
        listing = lists.list_surveys(db_session=db_session, now=datetime.now(timezone.utc), search=search,
                                     status=status, owner=owner)
    if output == "json":
        print(json.dumps({"months": listing.months,
                          "rows": [survey.model_dump(mode="json") for survey in listing.surveys]}, ensure_ascii=False))
        return
    if output == "csv":
        sys.stdout.write(lists.survey_csv(listing))
        return
    from rich.markup import escape

    zone = ZoneInfo(get_settings().timezone)
    if not listing.surveys:
        out.print("no survey matches these filters" if search or status or owner
                  else "no surveys yet: apply a survey file with `voxpop survey apply FILE`")
        return
    # Two lines a survey, not a table: eight columns do not fit a terminal 80 characters wide.
    width = max(len(survey.key) for survey in listing.surveys)
    lines = []
    for survey in listing.surveys:
        last = survey.last_response_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if survey.last_response_at else "none yet"
        lines.append(f"[bold]{survey.key:<{width}}[/]  {survey.status:<6}  v{survey.version or '–'}  "
                     f"{bars(survey.monthly_responses)}  {survey.responses:,} responses, last {last}")
        lines.append(f"{'':<{width}}  {escape(survey.title)} · owner {escape(survey.owner or 'nobody')}")
    lines.append(f"The bars are responses per month, {listing.months[0]} to {listing.months[-1]} (UTC), the last so far.")
    out.print("\n".join(lines), highlight=False, soft_wrap=True)


@survey_app.command("show")
def survey_show(key: Annotated[str, typer.Argument(help="The survey's key (see `voxpop survey list`).")]) -> None:
    """A survey's title, status, languages, owner, versions with their responses, and the current questions."""
    from rich.markup import escape

    from voxpop.results import survey_list as lists
    from voxpop.surveys import service
    from voxpop.surveys.schemas import text_in

    with _database().read() as db_session:
        survey = _survey(db_session, key)
        [listed] = lists.list_surveys(db_session=db_session, now=datetime.now(timezone.utc), key=key).surveys
        per_version = lists.responses_per_version(db_session=db_session, survey_id=survey.id)
        versions = [(version.number, version.created_at, version.fingerprint, len(version.questions),
                     per_version.get(version.id, 0)) for version in survey.versions]
        definition = service.definition_of(survey.current_version, status=survey.status)
    language = definition.languages[0]
    lines = [f"[bold]{escape(listed.title)}[/] ({listed.key})",
             f"status {listed.status}; languages {', '.join(definition.languages)}; owner {escape(listed.owner or 'nobody')}",
             f"responses {listed.responses:,}; last "
             f"{listed.last_response_at.isoformat(timespec='minutes') if listed.last_response_at else 'none yet'}",
             "", "[bold]versions[/]"]
    lines += [f"  {number}  {created:%Y-%m-%d %H:%M} UTC  {questions} questions  {responses:,} responses  "
              f"fingerprint {fingerprint[:12]}" for number, created, fingerprint, questions, responses in versions]
    lines += ["", f"[bold]questions of version {versions[-1][0]}[/]"]
    for position, question in enumerate(definition.questions, start=1):
        about = [question.kind + (f" {question.ces_version}" if question.ces_version else "")]
        if question.bounds:
            about.append(f"{question.bounds[0]}–{question.bounds[1]}")
        if question.required:
            about.append("required")
        lines.append(f"  {position}. {question.key} ({', '.join(about)}): "
                     f"{escape(text_in(question.text, language, language))}")
        if question.options:
            lines.append("     options: " + escape(", ".join(
                option.value + (f" ({text_in(option.label, language, language)})" if option.label else "")
                for option in question.options)))
        if question.show_if:
            lines.append(f"     shown if {escape(condition_words(question.show_if))}")
    out.print("\n".join(lines), highlight=False, soft_wrap=True)


@survey_app.command("export")
def survey_export(
    key: Annotated[str, typer.Argument(help="The survey's key (see `voxpop survey list`).")],
    version: Annotated[int | None, typer.Option(min=1, help="A version's number; the current one by default.")] = None,
    output_format: Annotated[Literal["yaml", "json"], typer.Option("--format", help="yaml or json.")] = "yaml",
    output: Annotated[Path | None, typer.Option(help="The file to write; standard output by default.")] = None,
) -> None:
    """A survey as a definition file, which `voxpop survey apply` reads back without making a new version."""
    from voxpop.surveys import service

    with _database().read() as db_session:
        survey = _survey(db_session, key)
        chosen = survey.current_version if version is None else next(
            (each for each in survey.versions if each.number == version), None)
        if chosen is None:
            numbers = ", ".join(str(each.number) for each in survey.versions)
            fail(f"survey {key!r} has no version {version}; its versions are {numbers}")
        text = service.dump_definition(service.definition_of(chosen, status=survey.status), format=output_format)
        number = chosen.number
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}", 1)
    out.print(f"survey {key!r} version {number} written to {output}")
