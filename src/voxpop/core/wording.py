"""Counts as messages say them: "1 row", "2 rows", "1,838 responses" (no I/O, so every layer may use it)."""

from __future__ import annotations


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """The number with thousands separators and the noun in its number ("1 row", "0 rows", "1,838 rows")."""
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"
