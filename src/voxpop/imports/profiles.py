"""What a column's values say about it, gathered in one streamed pass, and the answer kind they point to.

A profile counts each column's distinct answered values up to a cap, so memory stays bounded on files of
millions of rows; counting is done per batch with `collections.Counter`, which runs in C.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter

from voxpop.imports.scales import agreement_scale

DISTINCT_CAP = 1000
BATCH_ROWS = 10_000
CHOICE_MAX_OPTIONS = 30
WHOLE_NUMBER = re.compile(r"[+-]?\d+(?:\.0*)?")  # never an exponent: ids like 702979e085 stay text
DECLARED_SCALE = re.compile(r"\b([01])\s*(?:-|–|—|to|bis|a|à|al|tot)\s*(\d{1,2})\b")
RECOMMEND = re.compile(r"recommend|empfehl|recomend|recommand|raccomand|aanbevel")
SATISFACTION = re.compile(r"satisf|zufrieden|tevreden|soddisf")
EFFORT = re.compile(r"effort|aufwand|esfuerzo")
EASE = re.compile(r"\beas(?:y|e|ier|ily)\b|einfach|f[aá]cil")
RATING = re.compile(r"\brat(?:e|ing)\b|scale|skala|escala|how (?:likely|much|well|easy|difficult|satisfied)|enjoy|"
                    r"\bscore\b|\bstars?\b|agree")
ALL_THAT_APPLY = re.compile(r"all that apply|check all|select all|todas las que|alle zutreffenden|toutes les")


@dataclass
class Profile:
    """One column's answered values: how many, and the distinct ones with their counts (up to a cap)."""

    answered: int = 0  # exact while complete; once past the cap, counting stops at the first batch with answers
    counts: dict[str, int] = field(default_factory=dict)
    complete: bool = True  # False once more distinct values were seen than are kept


@dataclass
class Guess:
    """The answer kind a column's values point to."""

    role: str
    scale: tuple[int, int] | None = None
    ces_version: str | None = None
    options: list[str] = field(default_factory=list)
    note: str | None = None
    ordered: bool = False  # the options form a scale, in their order
    misspelt: dict[str, str] = field(default_factory=dict)  # an option's text -> the option it most likely means


def profile_rows(rows, width: int, missing: frozenset[str], scan_rows: int | None) -> list[Profile]:
    """Profiles of every column over the first `scan_rows` rows (all when None); blanks and missing codes skipped."""
    profiles = [Profile() for _ in range(width)]
    batch: list[list[str | None]] = []
    for _, cells in islice(rows, scan_rows):
        batch.append(cells)
        if len(batch) == BATCH_ROWS:
            _add_batch(profiles, batch, missing)
            batch = []
    if batch:
        _add_batch(profiles, batch, missing)
    return profiles


def _add_batch(profiles: list[Profile], batch: list[list[str | None]], missing: frozenset[str]) -> None:
    # A column past the cap with an answer seen has told all it can (ids, times, comments): skipping it makes
    # the mapping pass over a million-row file three times faster.
    for position, profile in enumerate(profiles):
        if not profile.complete and profile.answered:
            continue
        counter = Counter(map(itemgetter(position), batch))
        for value in list(counter):
            if value is None or not value.strip() or value.strip() in missing:
                del counter[value]
        profile.answered += sum(counter.values())
        if not profile.complete:
            continue
        for value, count in counter.items():
            profile.counts[value] = profile.counts.get(value, 0) + count
        if len(profile.counts) > DISTINCT_CAP:
            profile.complete = False


def whole_number(text: str) -> int | None:
    """The integer a cell states ("7", " 7 ", "7.0"), else None."""
    text = text.strip()
    return int(float(text)) if WHOLE_NUMBER.fullmatch(text) else None


def guess_answer(profile: Profile, wording: str, *, joined_multi: bool) -> Guess:
    """The kind of answer a question column holds, from its values and its wording (lower-cased)."""
    numbers = {value: whole_number(value) for value in profile.counts}
    numeric = sum(count for value, count in profile.counts.items() if numbers[value] is not None)
    # A stray "N/A" or 11 in a stated scale must become a row error, not turn the question into text.
    scored_wording = any(pattern.search(wording) for pattern in (SATISFACTION, EFFORT, EASE, RATING))
    share = 0.5 if declared_scale(wording) or RECOMMEND.search(wording) else 0.8 if scored_wording else 0.95
    if numeric and numeric >= share * sum(profile.counts.values()):
        return _numeric_guess(_plausible(numbers, profile), profile, wording)
    if joined_multi and (options := joined_options(profile, wording)):
        return Guess("multi_choice", options=options)
    if _few_values(profile):
        return choice_guess(list(profile.counts))
    return Guess("text")


def choice_guess(options: list[str]) -> Guess:
    """A single choice; an agreement scale in its order, with the options that look misspelt named."""
    scale = agreement_scale(options)
    if scale is None:
        return Guess("choice", options=options)
    note = None
    if scale.misspelt:
        looks = "; ".join(f"{found!r} looks like a misspelling of {meant!r}" for found, meant in scale.misspelt.items())
        note = (f"an agreement scale, kept in its order; {looks}: kept as written, next to it, so its answers are "
                "counted apart until you merge the two options")
    return Guess("choice", options=scale.options, note=note, ordered=True, misspelt=scale.misspelt)


def _few_values(profile: Profile) -> bool:
    distinct = len(profile.counts)
    return profile.complete and distinct <= CHOICE_MAX_OPTIONS and distinct * 2 <= profile.answered


def _plausible(numbers: dict[str, int | None], profile: Profile) -> list[int]:
    """The distinct numbers, without stray ones outside 0–11 when nine in ten answers are inside: a typo such
    as -3 in a recommend question must be rejected by its row, not turn the question into text."""
    inside = sum(count for value, count in profile.counts.items() if numbers[value] is not None and 0 <= numbers[value] <= 11)
    total = sum(count for value, count in profile.counts.items() if numbers[value] is not None)
    values = sorted({number for number in numbers.values() if number is not None})
    return [value for value in values if 0 <= value <= 11] if inside >= 0.9 * total else values


def _numeric_guess(values: list[int], profile: Profile, wording: str) -> Guess:
    """NPS, CSAT, CES or another rating by wording and range; else yes/no, coded choice or a number as text."""
    low, high = values[0], values[-1]
    declared = declared_scale(wording)
    if RECOMMEND.search(wording) and low >= 0 and (high >= 6 or declared):
        return _nps_guess(values, declared)
    if SATISFACTION.search(wording) and low >= 1 and high <= 5 and declared in (None, (1, 5)):
        return Guess("csat", scale=(1, 5))
    if EFFORT.search(wording) and low >= 1 and high <= 5 and declared in (None, (1, 5)):
        return Guess("ces", scale=(1, 5), ces_version="1.0")
    if (EASE.search(wording) or EFFORT.search(wording)) and low >= 1 and high <= 7 and (high > 5 or declared == (1, 7)):
        return Guess("ces", scale=(1, 7), ces_version="2.0")
    if declared:
        return Guess("rating", scale=declared)
    if RATING.search(wording) and low >= 0 and 2 <= high <= 11:
        low = min(low, 1)
        return Guess("rating", scale=(low, high), note=f"the {low}–{high} scale is taken from the answers; state the "
                                                        "scale in the mapping file if the question offered more")
    if set(values) <= {0, 1}:
        return Guess("yes_no")
    if _few_values(profile):
        return Guess("choice", options=sorted(profile.counts, key=_code_order))
    return Guess("text")


def _code_order(value: str) -> tuple[bool, int, str]:
    """Numeric codes in numeric order, any text after them."""
    number = whole_number(value)
    return number is None, number or 0, value


def _nps_guess(values: list[int], declared: tuple[int, int] | None) -> Guess:
    if declared in ((0, 10), (1, 10)):
        scale = declared
    elif declared:
        return Guess("rating", scale=declared, note=f"a recommend question on a {declared[0]}–{declared[1]} scale "
                                                    "is not NPS; it is imported as a rating")
    else:
        scale = (1, 10) if values[0] == 1 else (0, 10)
    if scale == (1, 10):
        return Guess("nps", scale=scale, note="a recommend question on a 1–10 scale (no 0 offered"
                     f"{'' if declared else ', none answered'}): imported on its real 1–10 scale with detractors "
                     "1–6, passives 7–8 and promoters 9–10; if it offered 0, set scale: [0, 10] in the mapping file")
    note = None if declared or values[0] == 0 else ("no answer is 0 or 1, so the standard 0–10 scale is assumed; "
                                                   "state the scale in the mapping file if it was another")
    return Guess("nps", scale=scale, note=note)


def declared_scale(wording: str) -> tuple[int, int] | None:
    """A scale the question text states, such as 'on a scale of 1 to 5' or '(0-10)'."""
    for match in DECLARED_SCALE.finditer(wording):
        low, high = int(match.group(1)), int(match.group(2))
        if 2 <= high <= 11:
            return low, high
    return None


def joined_options(profile: Profile, wording: str) -> list[str]:
    """The options of a multi-select written as one cell joined with ", " (Google Forms), or [] if it is not one."""
    split = {value: split_joined(value) for value in profile.counts}
    answered = sum(profile.counts.values())
    joined = sum(count for value, count in profile.counts.items() if len(split[value]) > 1)
    if not profile.complete or not joined or joined < (0.02 if ALL_THAT_APPLY.search(wording) else 0.1) * answered:
        return []
    parts: Counter[str] = Counter()
    for value, count in profile.counts.items():
        for part in split[value]:
            parts[part] += count
    common = sum(count for _, count in parts.most_common(CHOICE_MAX_OPTIONS))
    alone = sum(count for part, count in parts.items() if part in profile.counts)
    if common < 0.8 * sum(parts.values()) or alone < 0.8 * sum(parts.values()):
        return []  # free text, or single choices whose option texts hold commas: options are also chosen alone
    return [part for part, count in parts.items() if count >= 2 or len(parts) <= CHOICE_MAX_OPTIONS]


def split_joined(value: str) -> list[str]:
    """A ", "-joined cell as its options; a comma inside parentheses ("Online course (e.g., Coursera)") is
    part of one option's text, not a separator."""
    chosen: list[str] = []
    for piece in value.split(", "):
        if chosen and chosen[-1].count("(") > chosen[-1].count(")"):
            chosen[-1] += ", " + piece
        else:
            chosen.append(piece)
    return [option.strip() for option in chosen if option.strip()]
