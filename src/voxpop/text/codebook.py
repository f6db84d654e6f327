"""Codebook tagging: a hierarchy of themes, each defined by phrases and patterns with exclusions.

Tagging is deterministic and explainable: every tag lists the words that matched. A phrase matches as whole
words, case-insensitively, with any run of spaces between its words; a pattern is a regular expression, also
case-insensitive, whose context-only parts belong in a lookahead so the tag shows just the telling words. A match that overlaps a match of one of the theme's exclusions does not count ("can't wait"
is not a wait). A theme also applies when one of its sub-themes does, so `delivery.late` implies `delivery`.

A comment mentions few themes, so each theme first checks its cues (the first word of each phrase among the
comment's words, else a search for one of its patterns) and runs its full matcher only when one is there.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import regex
import yaml

log = logging.getLogger("voxpop.text")

KEY = re.compile(r"^[a-z0-9_]+$")
# Patterns are people's regular expressions, and one that backtracks catastrophically (like (a+)+b) would hang
# the comment worker on a single comment. So themes are matched with the `regex` module, whose searches take a
# timeout (a comment whose search gives up is left untagged by that theme, and logged), and a pattern that is
# already slow on a short probe text is refused when the codebook is saved.
SEARCH_TIMEOUT = 0.25  # seconds per theme and comment; normal searches take microseconds, even on 10,000 characters
PROBE_TIMEOUT = 0.05
PROBE_REPEATS = 30  # catastrophic backtracking doubles its time with each repeat of the text it chokes on
# The timeout is wall-clock time: a busy machine can pause a process past it on a pattern that takes microseconds
# (two servers' workers loading one codebook during a test run did). A pattern that backtracks runs out of time on
# every try, so a pattern is refused only when each of these tries does.
PROBE_TRIES = 3
WORD = re.compile(r"\w+")


class CodebookError(ValueError):
    """A codebook definition that cannot be used, said in a sentence the user can act on."""


@dataclass(frozen=True)
class Theme:
    """A compiled theme: its dotted key (`delivery.late`), label, matchers and sub-themes."""

    key: str
    label: str
    include: regex.Pattern[str] | None
    exclude: regex.Pattern[str] | None
    children: tuple[Theme, ...]
    cue_words: frozenset[str] = frozenset()
    cue_patterns: regex.Pattern[str] | None = None
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


def matcher(phrases: list[str], patterns: list[str], where: str) -> regex.Pattern[str] | None:
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
            compiled = regex.compile(pattern, regex.IGNORECASE)
        except regex.error as error:
            raise CodebookError(f"{where} has an invalid pattern {pattern!r}: {error}") from None
        probe(compiled, where)
        alternatives.append(f"(?:{pattern})")
    return regex.compile("|".join(alternatives), regex.IGNORECASE) if alternatives else None


def probe(pattern: regex.Pattern[str], where: str) -> None:
    """Refuse a pattern that takes more than PROBE_TIMEOUT on a short run of one of its own characters or words,
    the text on which catastrophic backtracking shows."""
    units = {c for c in pattern.pattern.lower() if c.isalnum() or c == " "} | {"a", "1", " "}
    units |= {f"{unit} " for unit in units} | set(regex.findall(r"[^\W_]{2,}", pattern.pattern.lower()))
    for unit in sorted(units):
        if not any(_finishes(pattern, unit * PROBE_REPEATS + "!") for _ in range(PROBE_TRIES)):
            raise CodebookError(
                f"{where}: the pattern {pattern.pattern!r} takes more than {PROBE_TIMEOUT} s on {unit!r} repeated "
                f"{PROBE_REPEATS} times, so it would stall on real comments; inside a repeat, avoid alternatives "
                "that can match the same text, such as (a|aa)+ (an atomic group (?>...) is safe)")


def _finishes(pattern: regex.Pattern[str], text: str) -> bool:
    """Whether searching `text` ends within PROBE_TIMEOUT."""
    try:
        pattern.search(text, timeout=PROBE_TIMEOUT)
    except TimeoutError:
        return False
    return True


def cues(phrases: list[str], patterns: list[str]) -> tuple[frozenset[str], regex.Pattern[str] | None]:
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
    return frozenset(words), regex.compile(alternatives, regex.IGNORECASE) if searched else None


FIELDS = ("key", "label", "description", "phrases", "patterns", "exclude", "exclude_patterns", "children")
WORD_LISTS = ("phrases", "patterns", "exclude", "exclude_patterns")
# A codebook is a few hundred themes at most; a bigger text is a pasted file gone wrong.
MAX_CODEBOOK_CHARS = 200_000
MAX_THEMES = 1_000
MAX_DEPTH = 5  # theme, sub-theme, ...: deeper hierarchies are unreadable on every page


def strings(definition: Mapping, field: str, where: str) -> list[str]:
    """A list-of-words field, checked: a lone string would otherwise be read letter by letter."""
    value = definition.get(field) or []
    if isinstance(value, str) or not isinstance(value, list):
        raise CodebookError(f"{where}: {field} must be a list, one item per line starting with '- '")
    for item in value:
        if not isinstance(item, str):
            # YAML reads 10:30 as a number and yes as true: refused rather than silently turned into "630".
            raise CodebookError(f"{where}: an item of {field} is read as the {type(item).__name__} {item!r}, not as "
                                "text; put it in single quotes (YAML reads 10:30 as 630 and yes as true)")
    return value


def compile_theme(definition: Mapping, parent: str | None = None, count: list[int] | None = None) -> Theme:
    """A theme from its definition: key, label, description, phrases, patterns, exclude, exclude_patterns, children.

    `count` holds how many themes were compiled so far, to stop a runaway codebook early."""
    count = [0] if count is None else count
    count[0] += 1
    if count[0] > MAX_THEMES:
        raise CodebookError(f"a codebook holds at most {MAX_THEMES:,} themes")
    if parent is not None and parent.count(".") + 1 >= MAX_DEPTH:
        raise CodebookError(f"themes nest at most {MAX_DEPTH} deep; {parent!r} has sub-themes too deep")
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
    children = tuple(compile_theme(child, dotted, count) for child in children_given)
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
    count = [0]
    themes = tuple(compile_theme(definition, None, count) for definition in given)
    duplicates = sorted(key for key, times in Counter(theme.key for theme in walk(themes)).items() if times > 1)
    if duplicates:
        raise CodebookError(f"theme keys must be unique; repeated: {', '.join(duplicates)}")
    return Codebook(themes)


class NoAliasLoader(yaml.SafeLoader):
    """The safe loader, refusing aliases: `*name` repeats a node, and a few nested ones make a short text
    stand for millions of themes."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise CodebookError(f"line {mark.line + 1}: a codebook cannot use YAML aliases (*name); write the "
                                "theme out in full")
        return super().compose_node(parent, index)


def codebook_from_yaml(text: str) -> Codebook:
    """A codebook from its YAML text; a syntax error names its line and column."""
    if len(text) > MAX_CODEBOOK_CHARS:
        raise CodebookError(f"the codebook is {len(text):,} characters long; the limit is {MAX_CODEBOOK_CHARS:,}")
    try:
        data = yaml.load(text, Loader=NoAliasLoader)  # noqa: S506 (a SafeLoader)
    except RecursionError:
        raise CodebookError("the YAML is nested too deeply to be a codebook") from None
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
    from ruamel.yaml.comments import CommentedSeq
    from ruamel.yaml.scalarstring import SingleQuotedScalarString as Quoted

    codebook_from_yaml(text)  # a text that does not compile is refused as it is, before it is rewritten
    round_trip = YAML()
    round_trip.width = 120
    round_trip.preserve_quotes = True
    data = round_trip.load(text)
    siblings = data["themes"]
    for part in (parent.split(".") if parent else []):
        found = next((theme for theme in siblings if str(theme.get("key")) == part), None)
        if found is None:
            raise CodebookError(f"there is no theme {parent!r} to put the new theme under")
        if found.get("children") is None:  # absent, or `children:` left empty
            found["children"] = CommentedSeq()
        siblings = found["children"]
    # Quoted, so a phrase such as 10:30 or yes stays text whichever YAML version reads it.
    siblings.append({name: [Quoted(item) for item in value] if isinstance(value, list) else
                     Quoted(value) if name != "key" else value for name, value in definition.items()})
    written = StringIO()
    round_trip.dump(data, written)
    codebook_from_yaml(written.getvalue())
    return written.getvalue()


def theme_matches(theme: Theme, text: str, words: set[str]) -> tuple[tuple[str, int, int], ...]:
    """The theme's own matches in text (whose casefolded words are `words`), less those overlapping an exclusion."""
    if theme.include is None:
        return ()
    try:
        if theme.cue_words.isdisjoint(words) and not (
                theme.cue_patterns and theme.cue_patterns.search(text, timeout=SEARCH_TIMEOUT)):
            return ()
        found = [(match.group(), *match.span()) for match in theme.include.finditer(text, timeout=SEARCH_TIMEOUT)
                 if match.group()]
        if found and theme.exclude is not None:
            excluded = [match.span() for match in theme.exclude.finditer(text, timeout=SEARCH_TIMEOUT)]
            found = [item for item in found if all(item[2] <= start or item[1] >= end for start, end in excluded)]
    except TimeoutError:
        log.warning("theme %r gave up after %s s on a comment of %d characters; rewrite its patterns",
                    theme.key, SEARCH_TIMEOUT, len(text))
        return ()
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
