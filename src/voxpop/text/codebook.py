"""Codebook tagging: a hierarchy of themes, each defined by phrases and patterns with exclusions.

Tagging is deterministic and explainable: every tag lists the words that matched. A phrase matches as whole
words, case-insensitively, with any run of spaces between its words; a pattern is a regular expression, also
case-insensitive, whose context-only parts belong in a lookahead so the tag shows just the telling words. A match that overlaps a match of one of the theme's exclusions does not count ("can't wait"
is not a wait). A theme also applies when one of its sub-themes does, so `delivery.late` implies `delivery`.

A comment mentions few themes, so each theme first checks its cues (the first word of each phrase among the
comment's words, else a search for one of its patterns) and runs its full matcher only when one is there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import yaml

KEY = re.compile(r"^[a-z0-9_]+$")
# A group holding + or * that is itself repeated, like (a+)+ or (?:\w+\s?)*: Python's regular expressions
# backtrack exponentially on such a pattern when a comment almost matches, and the worker would hang on it.
NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*(?<!\\)[+*](?:[^()\\]|\\.)*\)(?:[+*]|\{\d*,)")
WORD = re.compile(r"\w+")


class CodebookError(ValueError):
    """A codebook definition that cannot be used, said in a sentence the user can act on."""


@dataclass(frozen=True)
class Theme:
    """A compiled theme: its dotted key (`delivery.late`), label, matchers and sub-themes."""

    key: str
    label: str
    include: re.Pattern[str] | None
    exclude: re.Pattern[str] | None
    children: tuple[Theme, ...]
    cue_words: frozenset[str] = frozenset()
    cue_patterns: re.Pattern[str] | None = None
    description: str = ""


@dataclass(frozen=True)
class Tag:
    """A theme found in a comment, with the matched words and their [start, end) offsets."""

    theme: str
    matches: tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class Codebook:
    """The top-level themes, in the order they were defined."""

    themes: tuple[Theme, ...]

    def keys(self) -> list[str]:
        """Every theme key, parents before their sub-themes."""
        return [theme.key for theme in walk(self.themes)]


def walk(themes: tuple[Theme, ...]) -> list[Theme]:
    """Themes depth-first, parents first."""
    return [node for theme in themes for node in (theme, *walk(theme.children))]


def matcher(phrases: list[str], patterns: list[str], where: str) -> re.Pattern[str] | None:
    """One case-insensitive alternation of whole-word phrases and patterns, or None if there are none."""
    words = [phrase.split() for phrase in phrases if phrase.strip()]
    alternatives = []
    if words:
        # Looking ahead for the phrases' first letters spares trying every phrase at every position (2–3× faster);
        # the phrases are still tried in order, before the patterns, so the matches are the same.
        first = "".join(sorted({re.escape(phrase[0][0]) for phrase in words}))
        phrase_matchers = (r"\b" + r"\s+".join(map(re.escape, phrase)) + r"\b" for phrase in words)
        alternatives.append(f"(?=[{first}])(?:{'|'.join(phrase_matchers)})")
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            raise CodebookError(f"{where} has an invalid pattern {pattern!r}: {error}") from None
        if NESTED_REPEAT.search(pattern):
            raise CodebookError(f"{where}: the pattern {pattern!r} repeats a group that itself repeats, like (a+)+; "
                                "such a pattern can take minutes on one comment, so write it without the nesting")
        alternatives.append(f"(?:{pattern})")
    return re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None


def cues(phrases: list[str], patterns: list[str]) -> tuple[frozenset[str], re.Pattern[str] | None]:
    """Words one of which a comment must contain for a phrase to match, and the patterns to search otherwise.

    A phrase matches as whole words, so its first word is one of the comment's words; a phrase that does not
    start with a word character has no such word and is searched like a pattern.
    """
    words, searched = set(), list(patterns)
    for phrase in filter(str.strip, phrases):
        first = WORD.match(phrase.strip().casefold())
        if first:
            words.add(first.group())
        else:
            searched.append(r"\s+".join(map(re.escape, phrase.split())))
    alternatives = "|".join(f"(?:{pattern})" for pattern in searched)
    return frozenset(words), re.compile(alternatives, re.IGNORECASE) if searched else None


FIELDS = ("key", "label", "description", "phrases", "patterns", "exclude", "exclude_patterns", "children")
WORD_LISTS = ("phrases", "patterns", "exclude", "exclude_patterns")
# A codebook is a few hundred themes at most; a bigger text is a pasted file gone wrong.
MAX_CODEBOOK_CHARS = 200_000


def strings(definition: Mapping, field: str, where: str) -> list[str]:
    """A list-of-words field, checked: a lone string would otherwise be read letter by letter."""
    value = definition.get(field) or []
    if isinstance(value, str) or not isinstance(value, list):
        raise CodebookError(f"{where}: {field} must be a list, one item per line starting with '- '")
    if not all(isinstance(item, str | int | float) and not isinstance(item, bool) for item in value):
        raise CodebookError(f"{where}: every item of {field} must be a word or phrase, not a list or mapping")
    return [str(item) for item in value]


def compile_theme(definition: Mapping, parent: str | None = None) -> Theme:
    """A theme from its definition: key, label, description, phrases, patterns, exclude, exclude_patterns, children."""
    if not isinstance(definition, Mapping):
        raise CodebookError(f"every theme{f' under {parent!r}' if parent else ''} must be a mapping with a key, "
                            f"not {definition!r}")
    key = str(definition.get("key", ""))
    if not KEY.match(key):
        raise CodebookError(f"theme key {key!r} must be lower-case letters, digits and underscores")
    dotted = f"{parent}.{key}" if parent else key
    where = f"theme {dotted!r}"
    unknown = sorted(set(map(str, definition)) - set(FIELDS))
    if unknown:
        raise CodebookError(f"{where} has unknown field {', '.join(unknown)}; a theme may have {', '.join(FIELDS)}")
    phrases, patterns, exclude, exclude_patterns = (strings(definition, field, where) for field in WORD_LISTS)
    include = matcher(phrases, patterns, where)
    children_given = definition.get("children") or []
    if not isinstance(children_given, list):
        raise CodebookError(f"{where}: children must be a list of themes")
    children = tuple(compile_theme(child, dotted) for child in children_given)
    if include is None and not children:
        raise CodebookError(f"{where} needs at least one phrase, pattern or sub-theme")
    return Theme(dotted, str(definition.get("label") or key.replace("_", " ")), include,
                 matcher(exclude, exclude_patterns, where), children, *cues(phrases, patterns),
                 description=str(definition.get("description") or ""))


def codebook_from_dict(data: Mapping) -> Codebook:
    """A codebook from `{"themes": [...]}`; keys must be unique."""
    given = data.get("themes")
    if not isinstance(given, list) or not given:
        raise CodebookError("a codebook needs a 'themes' list with at least one theme")
    themes = tuple(compile_theme(definition) for definition in given)
    keys = [theme.key for theme in walk(themes)]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise CodebookError(f"theme keys must be unique; repeated: {', '.join(duplicates)}")
    return Codebook(themes)


def codebook_from_yaml(text: str) -> Codebook:
    """A codebook from its YAML text; a syntax error names its line and column."""
    if len(text) > MAX_CODEBOOK_CHARS:
        raise CodebookError(f"the codebook is {len(text):,} characters long; the limit is {MAX_CODEBOOK_CHARS:,}")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        place = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise CodebookError(f"the YAML cannot be read at {place}{problem}; check the indentation and quote "
                            "patterns with single quotes") from None
    if not isinstance(data, Mapping):
        raise CodebookError("a codebook is a mapping with a 'themes' list")
    unknown = sorted(set(map(str, data)) - {"themes"})
    if unknown:
        raise CodebookError(f"a codebook has only a 'themes' list; remove {', '.join(unknown)}")
    return codebook_from_dict(data)


def add_theme(text: str, definition: dict, parent: str | None = None) -> str:
    """The codebook's YAML with one more theme, at the top level or under `parent` (a dotted key).

    Rewritten with a round-trip parser so the comments and layout people gave the YAML survive; the result is
    compiled before it is returned, so a clash with an existing key raises CodebookError.
    """
    from io import StringIO

    from ruamel.yaml import YAML

    codebook_from_yaml(text)
    round_trip = YAML()
    round_trip.width = 120
    round_trip.preserve_quotes = True
    data = round_trip.load(text)
    siblings = data["themes"]
    for part in (parent.split(".") if parent else []):
        found = next((theme for theme in siblings if str(theme.get("key")) == part), None)
        if found is None:
            raise CodebookError(f"there is no theme {parent!r} to put the new theme under")
        siblings = found.setdefault("children", [])
    siblings.append(definition)
    written = StringIO()
    round_trip.dump(data, written)
    codebook_from_yaml(written.getvalue())
    return written.getvalue()


def theme_matches(theme: Theme, text: str, words: set[str]) -> tuple[tuple[str, int, int], ...]:
    """The theme's own matches in text (whose casefolded words are `words`), less those overlapping an exclusion."""
    if theme.include is None:
        return ()
    if theme.cue_words.isdisjoint(words) and not (theme.cue_patterns and theme.cue_patterns.search(text)):
        return ()
    found = [(match.group(), *match.span()) for match in theme.include.finditer(text) if match.group()]
    if found and theme.exclude is not None:
        excluded = [match.span() for match in theme.exclude.finditer(text)]
        found = [item for item in found if all(item[2] <= start or item[1] >= end for start, end in excluded)]
    return tuple(found)


def tag_theme(theme: Theme, text: str, words: set[str]) -> list[Tag]:
    """Tags for a theme and its sub-themes; the parent carries its own and its sub-themes' matches."""
    child_tags = [tag_theme(child, text, words) for child in theme.children]
    inherited = {match for child, tags in zip(theme.children, child_tags) if tags and tags[0].theme == child.key
                 for match in tags[0].matches}
    matches = tuple(sorted(set(theme_matches(theme, text, words)) | inherited, key=lambda match: match[1:]))
    return ([Tag(theme.key, matches)] if matches else []) + [tag for tags in child_tags for tag in tags]


def tag_comment(codebook: Codebook, text: str) -> list[Tag]:
    """Every theme of the codebook found in text, parents before their sub-themes."""
    words = set(WORD.findall(text.casefold()))
    return [tag for theme in codebook.themes for tag in tag_theme(theme, text, words)]


# The themes a workspace starts with, until someone saves its own (text/codebooks.py keeps the versions).
DEFAULT_CODEBOOK_YAML = resources.files("voxpop.text").joinpath("default_codebook.yaml").read_text(encoding="utf-8")
DEFAULT_CODEBOOK = codebook_from_yaml(DEFAULT_CODEBOOK_YAML)
