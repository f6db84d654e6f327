"""The YAML mapping file a user writes to override what detection chose. For example::

    timezone: Europe/Berlin            # naive times in the file are Berlin time
    columns:
      "How likely are you to recommend us?": {role: nps, key: recommend, scale: [1, 10]}
      Q5: csat                         # just the role
      other_2: ignore                  # a column named by its detected key (for repeated headers)
      7: {role: choice, options: [Disagree, Neutral, Agree], ordered: true}   # by its number, 1 for the first
      Date: {role: submitted_at, time_format: "%d.%m.%Y %H:%M"}

A column is named by its header, its detected key, its question text or its number.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from voxpop.imports.reading import ImportFileError

FIELDS = {"role": str, "key": str, "label": str, "scale": list, "cuts": list, "ces_version": str, "options": list,
          "missing": list, "time_format": str, "time_zone": str, "ordered": bool}
KINDS = {str: "text", list: "list", bool: "true or false"}
TOP_LEVEL = {"timezone", "columns"}


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false, so options such as Yes, No or On stay text."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def load_overrides(path: Path) -> dict:
    """The mapping file as {"timezone": str | None, "columns": {name or number: {field: value}}}, its shape checked."""
    path = Path(path)
    try:
        document = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=_Loader)
    except OSError as exc:
        raise ImportFileError(f"the mapping file {path} cannot be read ({exc.strerror}); check the path") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ImportFileError(f"the mapping file {path.name} is not valid YAML{where}; fix it and try again") from None
    document = document or {}
    if not isinstance(document, dict) or set(document) - TOP_LEVEL:
        raise ImportFileError(f"the mapping file {path.name} must be a YAML mapping with 'timezone' and 'columns'; "
                              f"found {sorted(map(str, document)) if isinstance(document, dict) else type(document).__name__}")
    columns = document.get("columns") or {}
    if not isinstance(columns, dict):
        raise ImportFileError(f"the mapping file {path.name}: 'columns' must map column names to roles or settings")
    timezone = document.get("timezone")
    if timezone is not None and not isinstance(timezone, str):
        raise ImportFileError(f"the mapping file {path.name}: 'timezone' must be a name such as Europe/Berlin")
    return {"timezone": timezone, "columns": {name: _settings(name, value, path) for name, value in columns.items()}}


def _settings(name: object, value: object, path: Path) -> dict:
    """One column's settings; a bare string is its role."""
    if isinstance(value, str):
        value = {"role": value}
    if not isinstance(value, dict):
        raise ImportFileError(f"the mapping file {path.name}: column {name!r} needs a role (e.g. 'text') or settings "
                              "such as {role: nps, scale: [0, 10]}")
    for field, given in value.items():
        if field not in FIELDS:
            raise ImportFileError(f"the mapping file {path.name}: column {name!r} has an unknown setting {field!r}; "
                                  f"the settings are: {', '.join(FIELDS)}")
        if not isinstance(given, FIELDS[field]):
            raise ImportFileError(f"the mapping file {path.name}: column {name!r}: {field} must be "
                                  f"{'' if FIELDS[field] is bool else 'a '}{KINDS[FIELDS[field]]}, not {given!r}")
    for field in ("scale", "cuts"):
        pair = value.get(field)
        if pair is not None and (len(pair) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) for n in pair)):
            raise ImportFileError(f"the mapping file {path.name}: column {name!r}: {field} must be two whole "
                                  f"numbers, e.g. [0, 10], not {pair!r}")
    for field in ("options", "missing"):
        if field in value:
            value[field] = [str(item) for item in value[field]]  # YAML reads 10 as a number
    return value
