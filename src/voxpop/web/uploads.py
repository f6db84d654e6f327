"""An uploaded file's name, as the client gave it, made safe to show, store and spool under."""

from __future__ import annotations

import re
import unicodedata

NAME_CHARACTERS = 100  # shown on pages, stored in columns of 200 characters with a prefix ("import:...")
NAME_BYTES = 200  # a file system takes 255 bytes in one name
KEPT_SUFFIX = 16  # a longer "suffix" is no file type: it is cut like the rest


def upload_name(filename: str | None, default: str) -> str:
    """The last part of the client's file name (after any / or \\), spaces made plain and without control or
    format characters (NUL, right-to-left overrides), cut to 100 characters and 200 bytes keeping its suffix; `default`
    when nothing is left. The result is one safe path part, never "." or "..", so a fresh folder may hold it."""
    name = re.split(r"[\\/]", filename or "")[-1]
    # Any space (a tab, a no-break space) becomes a plain one; other control and format characters go.
    name = "".join(" " if ch.isspace() else ch for ch in name
                   if ch.isspace() or not unicodedata.category(ch).startswith("C")).strip()
    if name in ("", ".", ".."):
        return default
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem or len(suffix) > KEPT_SUFFIX:
        stem, suffix = name, ""
    else:
        suffix = "." + suffix
    if len(name) <= NAME_CHARACTERS and len(name.encode()) <= NAME_BYTES:
        return name
    stem = stem[:NAME_CHARACTERS - 1 - len(suffix)]
    while len((stem + "…" + suffix).encode()) > NAME_BYTES:
        stem = stem[:-1]
    return stem + "…" + suffix
