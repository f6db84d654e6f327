"""Which voxpop question, attribute or customer field each column of an export becomes, detected from the
layout, the column names and one streamed pass over the values; a YAML mapping file overrides any of it."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Literal

from voxpop.imports import times
from voxpop.imports.columns import (
    Keys,
    metadata_role,
    option_column,
    option_texts,
    question_text,
    slug,
)
from voxpop.imports.formats import Advice, Export, ImportFileError, SourceColumn
from voxpop.imports.overrides import load_overrides
from voxpop.imports.profiles import Guess, Profile, guess_answer
from voxpop.imports.scan import file_profiles
from voxpop.surveys.schemas import CES_SCALES

__all__ = ["ColumnMapping", "Mapping", "Role", "apply_overrides", "describe", "detect_mapping", "load_overrides"]

Role = Literal["response_id", "submitted_at", "started_at", "nps", "csat", "ces", "rating", "text", "choice",
               "multi_choice", "yes_no", "customer_email", "customer_ref", "attribute", "ignore"]
ROLES = Role.__args__
SCORED = ("nps", "csat", "ces", "rating")
TIMES = ("submitted_at", "started_at")
ONE_PER_RESPONSE = ("response_id", "submitted_at", "started_at", "customer_email", "customer_ref")
MISSING_CODES = {"qualtrics": frozenset({"-99"}), "qualtrics-legacy": frozenset({"-99"})}
KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
NPS_CUTS = (6, 9)  # detractors up to 6, promoters from 9: the same on 0–10 and on 1–10


@dataclass
class ColumnMapping:
    """What one column becomes. Columns of one multi-select with one column per option (Typeform, Qualtrics,
    SurveyMonkey, LimeSurvey) share their key; each lists the one option it stands for."""

    position: int
    header: str
    label: str
    role: Role
    key: str
    scale: tuple[int, int] | None = None
    cuts: tuple[int, int] | None = None
    ces_version: str | None = None
    options: list[str] = field(default_factory=list)
    missing: frozenset[str] = frozenset()
    time_format: str | None = None
    time_zone: str | None = None  # overrides the mapping's time zone for this column (Typeform's "(UTC)")
    ordered: bool = False  # a single choice whose options form a scale, in their order (an agreement scale)

    @property
    def name(self) -> str:
        """How messages name the column: its header, else its label."""
        return self.header.strip() or self.label


@dataclass
class Mapping:
    source: str
    columns: list[ColumnMapping]
    timezone: str
    warnings: list[str]


def detect_mapping(export: Export, *, timezone: str = "UTC", scan_rows: int | None = None) -> Mapping:
    """The detected mapping of every column, from one streamed pass over the first `scan_rows` rows (all by default).

    Use the default for an import: choice options are the values seen, so a value first met after the
    scanned rows would be refused."""
    try:
        times.zone(timezone)
    except ValueError as exc:
        raise ImportFileError(str(exc)) from None
    missing = MISSING_CODES.get(export.format, frozenset())
    profiles = file_profiles(export, missing, scan_rows)
    warnings = list(export.warnings)
    columns = _columns(export, profiles, missing, warnings)
    _choose_submit_time(columns, profiles, warnings)
    if any(c.role in TIMES and c.time_zone is None for c in columns) and timezone == "UTC":
        warnings.append(Advice("the times in this file do not state their time zone, so they are read as UTC; if "
                               "they were written in another zone, give it", "timezone"))
    return Mapping(export.format, columns, timezone, warnings)


def _columns(export: Export, profiles: list[Profile], missing: frozenset[str], warnings: list[str]) -> list[ColumnMapping]:
    keys, taken_roles, group_keys = Keys(), set(), {}
    notes: dict[str, list[str]] = {}  # a note that many columns share is given once, naming them all
    groups = _option_groups(export, profiles)
    columns: list[ColumnMapping] = []
    for column, profile in zip(export.columns, profiles, strict=True):
        label = column.label or column.header.strip() or f"column {column.position + 1}"
        if export.format == "surveymonkey" and not column.header.strip() and column.sub_label:
            label = f"{label} — {column.sub_label}"
        mapped = ColumnMapping(column.position, column.header, label, "ignore", "", missing=missing)
        if (found := metadata_role(column, export.format)) is not None:
            role, key = found
            if role in ONE_PER_RESPONSE and role in taken_roles:
                warnings.append(f"column {mapped.name!r} is not imported: column {_first(columns, role)!r} already "
                                f"gives the {role.replace('_', ' ')}")
                role = "ignore"
            taken_roles.add(role)
            mapped = replace(mapped, role=role, key=keys.claim(key))
            if role in TIMES:
                mapped = _timed(mapped, column, export.format, profile, warnings)
        elif not profile.answered:
            mapped.key = keys.claim(_wanted_key(column, export.format, columns))
            notes.setdefault("empty in every row, so not imported", []).append(mapped.name)
        elif column.position in groups:
            first, text, wanted, options = groups[column.position]
            if first not in group_keys:
                group_keys[first] = keys.claim(slug(wanted))
            mapped = replace(mapped, role="multi_choice", key=group_keys[first], label=text, options=options)
        elif _embedded_data(column, export.format):
            mapped = replace(mapped, role="attribute", key=keys.claim(slug(column.header or label)))
        else:
            guess = _guess(column, profile, export.format)
            mapped = _answer(mapped, guess, keys.claim(_wanted_key(column, export.format, columns)))
            if guess.misspelt:
                warnings.append(Advice(f"column {mapped.name!r} (question {mapped.key}): {guess.note}", "merge_option"))
            elif guess.note:
                notes.setdefault(guess.note, []).append(mapped.name)
        columns.append(mapped)
    warnings += [f"{named_columns(names)}: {note}" for note, names in notes.items()]
    return columns


def named_columns(names: list[str], shown: int = 4) -> str:
    """'column 'Q1'', or 'columns 'Q1', 'Q2' and 'Q3'', or the first few and how many more."""
    if len(names) == 1:
        return f"column {names[0]!r}"
    listed = ", ".join(map(repr, names[:shown - 1] if len(names) > shown else names[:-1]))
    rest = f"{len(names) - shown + 1} more" if len(names) > shown else repr(names[-1])
    return f"columns {listed} and {rest}"


def _first(columns: list[ColumnMapping], role: str) -> str:
    return next(column.name for column in columns if column.role == role)


def _guess(column: SourceColumn, profile: Profile, export_format: str) -> Guess:
    if export_format == "surveymonkey" and _comment_box(column):
        return Guess("text")
    if export_format.startswith("qualtrics") and (column.header.upper().endswith("_TEXT")
                                                  or (column.import_id or "").upper().endswith("_TEXT")):
        return Guess("text")
    wording = " ".join(filter(None, [column.label, column.header])).lower()
    return guess_answer(profile, wording, joined_multi=export_format in ("googleforms", "csv"))


def _embedded_data(column: SourceColumn, export_format: str) -> bool:
    """A Qualtrics embedded-data field (segment, store, ...): its ImportId is its own name, not a QID. These
    describe the response, so they become sliceable attributes rather than questions."""
    import_id = (column.import_id or "").strip()
    return export_format == "qualtrics" and bool(import_id) and not import_id.upper().startswith("QID") \
        and not import_id.startswith("_")


def _comment_box(column: SourceColumn) -> bool:
    """A SurveyMonkey comment box or "Other (please specify)" of the question before it: a prompt, not an option."""
    prompt = (column.sub_label or "").strip()
    return not column.header.strip() and (prompt.endswith(("?", ":")) or "specify" in prompt.lower()
                                          or "comment" in prompt.lower())


def _answer(mapped: ColumnMapping, guess: Guess, key: str) -> ColumnMapping:
    cuts = NPS_CUTS if guess.role == "nps" else None
    return replace(mapped, role=guess.role, key=key, scale=guess.scale, cuts=cuts, ces_version=guess.ces_version,
                   options=guess.options, ordered=guess.ordered)


def _wanted_key(column: SourceColumn, export_format: str, earlier: list[ColumnMapping]) -> str:
    """Export tags and codes where the tool has them, else the question text; a comment box follows its question."""
    if export_format == "surveymonkey" and not column.header.strip() and earlier:
        if _comment_box(column):
            return f"{earlier[-1].key.removesuffix('_comment')}_comment"
        return slug(f"{column.label} {column.sub_label}")
    if export_format in ("qualtrics", "qualtrics-legacy", "limesurvey") and column.header.strip():
        return slug(column.header)
    return slug(column.label or column.header or f"column {column.position + 1}")


def _timed(mapped: ColumnMapping, column: SourceColumn, export_format: str, profile: Profile,
           warnings: list[str]) -> ColumnMapping:
    time_format, ambiguous = times.detect_format(profile.counts)
    if time_format is None:
        example = next(iter(profile.counts), "")
        warnings.append(f"column {mapped.name!r} holds times in a format voxpop does not know (e.g. {example!r}); "
                        "give its time_format in the mapping file")
    elif ambiguous:
        warnings.append(f"column {mapped.name!r}: every date reads both as month/day and as day/month; read as "
                        f"{time_format!r} (month first); set time_format in the mapping file if the day comes first")
    zone = column.time_zone
    if zone is None and (column.header.strip().endswith("(UTC)") or export_format == "typeform"):
        zone = "UTC"
    return replace(mapped, time_format=time_format, time_zone=zone, missing=frozenset())


def _choose_submit_time(columns: list[ColumnMapping], profiles: list[Profile], warnings: list[str]) -> None:
    """Without a known submit-time column, take the first column whose values are all times, and say so."""
    if any(column.role == "submitted_at" for column in columns):
        return
    for column in columns:
        if column.role in ("text", "choice") and (found := times.detect_format(profiles[column.position].counts))[0]:
            column.role, column.time_format, column.options = "submitted_at", found[0], []
            warnings.append(f"column {column.name!r} holds times, so it is taken as the submit time; say otherwise "
                            "in the mapping file if it is not")
            return
    fallback = "the start time is used instead" if any(c.role == "started_at" for c in columns) else (
        "name the column with the submit time in the mapping file (role: submitted_at)")
    warnings.append(f"no column holds the submit time; {fallback}")


def _option_groups(export: Export, profiles: list[Profile]) -> dict[int, tuple[int, str, str, list[str]]]:
    """position → (the group's first position, question text, key wanted, options) for the columns of multi-selects with one column per option."""
    runs: list[list[tuple[int, str, str]]] = []
    for column, profile in zip(export.columns, profiles, strict=True):
        found = None
        if profile.complete and len(profile.counts) == 1 and metadata_role(column, export.format) is None:
            found = option_column(column, next(iter(profile.counts)), export.format)
        if found is None:
            continue
        question, option = found
        previous = runs[-1][-1] if runs else None
        if previous and previous[0] == column.position - 1 and previous[1] == question:
            runs[-1].append((column.position, question, option))
        else:
            runs.append([(column.position, question, option)])
    groups = {}
    for run in runs:
        positions, question, labels = [p for p, _, _ in run], run[0][1], [o for _, _, o in run]
        columns = [export.columns[p] for p in positions]
        if export.format.startswith("qualtrics"):
            options, text, wanted = option_texts(labels), question_text(labels), question
        elif export.format == "typeform":
            options, text, wanted = labels, ", ".join(labels), f"{labels[0]} to {labels[-1]}"
        else:
            options, text, wanted = labels, question or columns[0].header, question or columns[0].header
        for position, option in zip(positions, options, strict=True):
            groups[position] = (positions[0], text, wanted, [option])
    return groups


def describe(mapping: Mapping) -> list[dict]:
    """The mapping as rows for a dry run's table: one per column, in file order."""
    return [
        {"column": column.position + 1, "header": column.name, "role": column.role, "key": column.key,
         "label": column.label,
         "scale": f"{column.scale[0]}–{column.scale[1]}" if column.scale else None,
         "nps_cuts": f"detractors ≤ {column.cuts[0]}, promoters ≥ {column.cuts[1]}" if column.cuts else None,
         "ces_version": column.ces_version, "options": list(column.options), "ordered": column.ordered,
         "missing": sorted(column.missing), "time_format": column.time_format,
         "time_zone": column.time_zone or (mapping.timezone if column.role in TIMES else None),
         "detail": _detail(column, mapping)}
        for column in mapping.columns
    ]


def _detail(column: ColumnMapping, mapping: Mapping) -> str:
    """One line a person reads in the dry run: the scale and cuts, the options, or the time format and zone."""
    if column.scale:
        text = f"{column.scale[0]}–{column.scale[1]}"
        if column.cuts:
            text += f"; detractors ≤ {column.cuts[0]}, promoters ≥ {column.cuts[1]}"
        return text + (f"; CES {column.ces_version}" if column.ces_version else "")
    if column.options:
        return ("in this order: " if column.ordered else "") + ", ".join(column.options)
    if column.role in TIMES:
        return f"{column.time_format or 'detected'} in {column.time_zone or mapping.timezone}"
    return ""


def apply_overrides(mapping: Mapping, overrides: dict, export: Export) -> Mapping:
    """The mapping with a mapping file's settings applied; a column it names that is not there, or a setting that
    does not fit its role, is an ImportFileError saying so."""
    columns = list(mapping.columns)
    warnings = list(mapping.warnings)
    for name, settings in overrides.get("columns", {}).items():
        position = _position(columns, name)
        changed = _overridden(columns[position], settings, export)
        if changed.role in ONE_PER_RESPONSE:
            for index, other in enumerate(columns):
                if index != position and other.role == changed.role:
                    columns[index] = replace(other, role="ignore")
                    warnings.append(f"column {other.name!r} is no longer the {changed.role.replace('_', ' ')}: the "
                                    f"mapping file gives that role to {changed.name!r}")
        columns[position] = changed
    _check_keys(columns)
    timezone = overrides.get("timezone") or mapping.timezone
    try:
        times.zone(timezone)
    except ValueError as exc:
        raise ImportFileError(f"the mapping file: {exc}") from None
    return Mapping(mapping.source, columns, timezone, warnings)


def _position(columns: list[ColumnMapping], name: object) -> int:
    """Where the column a mapping file names is: by number (1 = first), header, key or question text."""
    if isinstance(name, int) and not isinstance(name, bool):
        if 1 <= name <= len(columns):
            return name - 1
        raise ImportFileError(f"the mapping file names column {name}, but the file has {len(columns)} columns")
    text = str(name).strip()
    for field_name in ("header", "key", "label"):
        found = [i for i, column in enumerate(columns) if str(getattr(column, field_name)).strip() == text]
        if len(found) > 1 and field_name == "header":
            keys = ", ".join(columns[i].key for i in found)
            raise ImportFileError(f"the mapping file names column {text!r}, but {len(found)} columns have that header; "
                                  f"name one by its key ({keys}) or its number ({', '.join(str(i + 1) for i in found)})")
        if found:
            return found[0]
    names = [column.header.strip() for column in columns if column.header.strip()] + [c.key for c in columns]
    close = difflib.get_close_matches(text, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else (
        f"; the columns are: {', '.join(repr(column.name[:40]) for column in columns[:20])}"
        f"{' ...' if len(columns) > 20 else ''}")
    raise ImportFileError(f"the mapping file names column {text!r}, which is not in the file{hint}")


def _overridden(column: ColumnMapping, settings: dict, export: Export) -> ColumnMapping:
    """One column with its settings applied and checked against its (new) role."""
    role = settings.get("role", column.role)
    where = f"the mapping file: column {column.name!r}"
    if role not in ROLES:
        raise ImportFileError(f"{where}: unknown role {role!r}; the roles are: {', '.join(ROLES)}")
    changed = replace(column, role=role, **{k: v for k, v in settings.items() if k in ("key", "label", "time_format",
                                                                                     "time_zone")})
    if "missing" in settings:
        changed.missing = frozenset(settings["missing"])
    if not KEY.fullmatch(changed.key):
        raise ImportFileError(f"{where}: the key {changed.key!r} must start with a letter and hold only a-z, 0-9 "
                              "and _ (at most 64 characters)")
    changed.scale, changed.cuts, changed.ces_version = _scored(column, settings, role, where)
    changed.options = [str(option) for option in settings.get("options", column.options)] \
        if role in ("choice", "multi_choice") else []
    changed.ordered = settings.get("ordered", column.ordered) and role == "choice"
    if settings.get("ordered") and role != "choice":
        raise ImportFileError(f"{where}: ordered applies only to a single choice (role: choice), whose options form "
                              "a scale in the order given")
    if role in TIMES and changed.time_format is None:
        values = (cells[column.position] or "" for _, cells in islice(export.rows(), times.SAMPLE))
        changed.time_format = times.detect_format(values)[0]
    if changed.time_zone is not None:
        try:
            times.zone(changed.time_zone)
        except ValueError as exc:
            raise ImportFileError(f"{where}: {exc}") from None
    return changed


def _scored(column: ColumnMapping, settings: dict, role: str, where: str):
    """(scale, cuts, ces_version) of a scored role: as given, else as detected, else the role's standard scale."""
    if role not in SCORED:
        return None, None, None
    given = settings.get("scale")
    scale = tuple(given) if given else (column.scale if column.role in SCORED else None)
    ces_version = settings.get("ces_version", column.ces_version)
    if role == "ces":
        ces_version = ces_version or {(1, 5): "1.0", (1, 7): "2.0"}.get(scale, "2.0")
        if ces_version not in CES_SCALES:
            raise ImportFileError(f"{where}: ces_version must be '1.0' (effort, 1–5) or '2.0' (agreement, 1–7)")
    scale = scale or {"nps": (0, 10), "csat": (1, 5), "ces": CES_SCALES.get(ces_version)}.get(role)
    if scale is None or not 0 <= scale[0] < scale[1] <= 11:
        raise ImportFileError(f"{where}: a {role} question needs its scale, e.g. scale: [1, 5]")
    cuts = None
    if role == "nps":
        cuts = tuple(settings.get("cuts") or (column.cuts if column.role == "nps" and column.cuts else NPS_CUTS))
        if not scale[0] <= cuts[0] < cuts[1] <= scale[1]:
            raise ImportFileError(f"{where}: NPS cuts {list(cuts)} must lie within the scale {list(scale)}, the "
                                  "detractors' highest score first")
    return scale, cuts, ces_version if role == "ces" else None


def _check_keys(columns: list[ColumnMapping]) -> None:
    """Keys are unique, except that the option columns of one multi-select share theirs."""
    seen: dict[str, ColumnMapping] = {}
    for column in columns:
        other = seen.setdefault(column.key, column)
        if other is not column and not (other.role == column.role == "multi_choice"):
            raise ImportFileError(f"the mapping gives the key {column.key!r} to both {other.name!r} and "
                                  f"{column.name!r}; give one of them another key")
