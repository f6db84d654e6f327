"""Counts and errors as messages say them: "1 row", "2 rows", "1,838 responses"; "Since must be a date …."
(no I/O, so every layer may use it)."""

from __future__ import annotations


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """The number with thousands separators and the noun in its number ("1 row", "0 rows", "1,838 rows")."""
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"


def listed(names) -> str:
    """Names a message offers to choose from, sorted and joined ("a, b, c"), or "none yet"."""
    return ", ".join(sorted(names)) if names else "none yet"


def sentence(text: str) -> str:
    """The text with its first letter in capitals, the rest as written (`NPS` stays `NPS`)."""
    return text[:1].upper() + text[1:]


def as_sentence(message: str) -> str:
    """An error as people read it: a capital letter first and a full stop last."""
    message = sentence(message.strip())
    return message if message.endswith((".", "!", "?")) else message + "."


def first_line(error: BaseException) -> str:
    """What an error says first: its first line that is not blank (a library's reason may run over several lines),
    or its type's name when it says nothing."""
    return next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
