"""`voxpop survey qr`: a QR code for a survey link with its attributes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from voxpop.cli import _database, fail, get_settings, out, survey_app


def _pairs(given: list[str]) -> dict[str, str]:
    """`store=Berlin` options as a mapping; a name given twice, or without `=`, is refused by name."""
    pairs: dict[str, str] = {}
    for each in given:
        name, equals, value = each.partition("=")
        if not equals or not name.strip():
            fail(f"--attribute {each!r} needs the form name=value, e.g. --attribute store=Berlin")
        if name.strip() in pairs:
            fail(f"--attribute {name.strip()} is given twice; a link carries one value per attribute")
        pairs[name.strip()] = value
    return pairs


@survey_app.command("qr")
def survey_qr(
    key: Annotated[str, typer.Argument(help="The survey's key (see `voxpop survey list`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write: one code, or with --each a zip.")],
    attribute: Annotated[list[str] | None, typer.Option(
        "--attribute", "-a", help="An attribute the link carries, name=value (repeat for more), e.g. store=Berlin.")] = None,
    output_format: Annotated[Literal["svg", "png"], typer.Option("--format", help="svg (for print) or png.")] = "svg",
    language: Annotated[str | None, typer.Option("--lang", help="Open the survey in this language; by default in "
                                                 "the visitor's browser language.")] = None,
    each: Annotated[str | None, typer.Option(help="Make one code per listed value of this attribute (one per "
                                             "store), zipped with links.csv.")] = None,
) -> None:
    """The QR code of the survey's public link carrying the attributes given (VOXPOP_PUBLIC_URL is its address).

    A value outside the survey's list for the attribute, or an attribute the survey does not declare, is refused:
    a printed code cannot be corrected."""
    from voxpop.collection.qr import LinkProblem, codes_per_value, public_link, qr_code
    from voxpop.surveys import service

    attributes = _pairs(attribute or [])
    with _database().read() as db_session:
        survey = service.get_by_key(db_session=db_session, key=key)
        if survey is None or survey.current_version is None:
            fail(f"there is no survey with key {key!r}; `voxpop survey list` shows the keys")
        definition = service.definition_of(survey.current_version, status=survey.status)
    public_url = get_settings().public_url
    try:
        if each:
            content = codes_per_value(public_url, definition, each, attributes, output_format, language)
            link = None
        else:
            link = public_link(public_url, definition, attributes, language)
            content = qr_code(link, output_format)
    except LinkProblem as refused:
        fail(f"{'--' + refused.field if refused.field in ('language', 'each') else '--attribute ' + refused.field}: "
             f"{refused.message}".replace("--language", "--lang"))
    try:
        output.write_bytes(content)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}", 1)
    if definition.status != "live":
        out.print(f"note: survey {key!r} is {definition.status}; its link works once it is live", highlight=False)
    out.print(f"wrote {output}" + (f" for {link}" if link else f" with one code per {each}"), highlight=False,
              soft_wrap=True)
