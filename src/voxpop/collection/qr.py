"""A survey's public link with its attributes (e.g. per store or table), and its QR code as SVG or PNG.

The link is checked against the survey before a code is made: a code printed on a thousand table cards with a
misspelt store cannot be taken back, so an attribute the survey does not declare, or a value outside its list,
is refused here rather than dropped later.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlencode

import segno

from voxpop.core.wording import listed
from voxpop.surveys.schemas import SurveyDefinition, link_value

QrFormat = Literal["svg", "png"]
FORMATS: tuple[QrFormat, ...] = ("svg", "png")
MEDIA_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
# Error correction M (15 % of the code may be lost): survives a scuffed table card without making the code dense.
ERROR_CORRECTION = "m"
QUIET_ZONE = 4  # modules of white around the code, the minimum ISO/IEC 18004 asks for
PNG_SCALE = 10  # pixels per module: about 4 cm wide at 300 dpi for a typical link, sharp when printed
SVG_SCALE = 8


class LinkProblem(ValueError):
    """A link that cannot be made as asked; `field` names the attribute (or `language`)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def public_link(public_url: str, definition: SurveyDefinition, attributes: Mapping[str, str],
                language: str | None = None) -> str:
    """The survey's public link carrying `attributes` (empty ones left out) and, if given, the language."""
    query: dict[str, str] = {}
    if language:
        if language not in definition.languages:
            raise LinkProblem("language", f"the survey is in {listed(definition.languages)}, not {language!r}")
        query["lang"] = language
    for name in attributes:
        if name not in definition.attributes:
            declared = listed(definition.attributes) if definition.attributes else "none"
            raise LinkProblem(name, f"{name!r} is not an attribute of survey {definition.key!r} (its attributes: {declared})")
    allowed = definition.allowed_values
    for name in definition.attributes:  # in the survey's order, so one choice always makes the same link
        value = link_value(attributes.get(name) or "")
        if not value:
            continue
        if name in allowed and value not in allowed[name]:
            raise LinkProblem(name, f"{value!r} is not one of the values survey {definition.key!r} allows for "
                              f"{name}: {listed(allowed[name])}")
        if len(value) > 200:
            raise LinkProblem(name, f"the {name} value is {len(value)} characters long; a link carries at most 200")
        query[name] = value
    base = f"{public_url.rstrip('/')}/s/{definition.key}"
    return f"{base}?{urlencode(query)}" if query else base


def qr_code(link: str, format: QrFormat) -> bytes:
    """The QR code for `link`, dark on white (a transparent code disappears on a dark print background)."""
    code = segno.make(link, error=ERROR_CORRECTION, micro=False, boost_error=False)
    out = io.BytesIO()
    if format == "svg":
        code.save(out, kind="svg", scale=SVG_SCALE, border=QUIET_ZONE, dark="#000", light="#fff",
                  title=link, xmldecl=True)
    else:
        code.save(out, kind="png", scale=PNG_SCALE, border=QUIET_ZONE, dark="#000", light="#fff")
    return out.getvalue()


def file_name(definition: SurveyDefinition, attributes: Mapping[str, str], format: QrFormat) -> str:
    """`post-purchase-store-berlin.png`: the survey and its attribute values, safe in any file system."""
    parts = [definition.key] + [f"{name}-{value}" for name, value in attributes.items() if value.strip()]
    stem = re.sub(r"[^\w.-]+", "-", "-".join(parts), flags=re.ASCII).strip("-.").lower() or "survey"
    return f"{stem[:120]}.{format}"


def codes_per_value(public_url: str, definition: SurveyDefinition, attribute: str, attributes: Mapping[str, str],
                    format: QrFormat, language: str | None = None) -> bytes:
    """A zip of one QR code per allowed value of `attribute` (e.g. one per store), each link also carrying
    `attributes`; with a links.csv naming each file's link, for whoever prints them."""
    values = definition.allowed_values.get(attribute)
    if values is None:
        with_lists = listed(list(definition.allowed_values)) if definition.allowed_values else "none"
        raise LinkProblem("each", f"{attribute!r} has no list of values in survey {definition.key!r}, so there is "
                          f"no code per value to make (attributes with a list: {with_lists})")
    out = io.BytesIO()
    index = ["file,link"]
    used: set[str] = set()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for value in values:
            each = {**{name: given for name, given in attributes.items() if name != attribute}, attribute: value}
            link = public_link(public_url, definition, each, language)
            name = file_name(definition, each, format)
            if name in used:  # "Köln" and "Koln" make the same ASCII name: number the second
                name = name.replace(f".{format}", f"-{len(used) + 1}.{format}")
            used.add(name)
            archive.writestr(name, qr_code(link, format))
            index.append(f"{name},{link}")
        archive.writestr("links.csv", "\n".join(index) + "\n")
    return out.getvalue()
