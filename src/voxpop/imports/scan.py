"""The mapping pass over a whole export: every column's profile (profiles.py), read in two processes for a big
text file, this one reading the first half while a worker reads the second, then merged.

The halves meet at a record boundary that `FileSource.record_boundary` guesses; this process's reader then
proves it by ending outside a quoted value, after the header rows. On any doubt (no boundary, the guess
disproved, a bad row in either half, the worker failing) the whole file is read here in one pass, so every
message is the single pass's. The merged profiles are the single pass's too, with one difference: a column
with more values than a profile keeps (ids, times, comments) is judged from the first values of each half,
which include the first values of the file that one pass would keep (tests/imports/test_scan.py).
"""

from __future__ import annotations

import pickle
import sys
from itertools import chain
from typing import BinaryIO

from voxpop.imports.formats import Export, ImportFileError
from voxpop.imports.profiles import DISTINCT_CAP, Profile, profile_rows
from voxpop.imports.worker import started

SPLIT_MIN_BYTES = 32 << 20  # below this, starting a second process costs more than it saves


def file_profiles(export: Export, missing: frozenset[str], scan_rows: int | None = None) -> list[Profile]:
    """Every column's profile over the first `scan_rows` rows (all when None)."""
    width = len(export.columns)
    size = export.path.stat().st_size
    split = None
    if scan_rows is None and size >= SPLIT_MIN_BYTES and sys.executable and export.source is not None:
        split = export.source.record_boundary(size // 2)
    if split is None:
        return profile_rows(export.rows(), width, missing, scan_rows)
    with started("profile", export, split, missing) as worker:
        rows = export.rows(end=split)
        try:
            # No row before the boundary: it was among the header rows, which the second half would read as
            # responses. An error: it was inside a quoted value, or the first half has a bad row.
            first = profile_rows(chain([head], rows), width, missing, None) if (head := next(rows, None)) else None
        except ImportFileError:
            first = None
        second = _read(worker.stdout) if first is not None else None
    if first is None or second is None:
        return profile_rows(export.rows(), width, missing, scan_rows)
    return merged(first, second)


def _read(results: BinaryIO) -> list[Profile] | None:
    try:
        result = pickle.load(results)
    except EOFError:
        return None
    return result if isinstance(result, list) else None


def serve_profiles(export: Export, start: int, missing: frozenset[str]) -> list[Profile] | str:
    """The worker's side: the profiles of the records from `start` on, or why they could not be read."""
    try:
        return profile_rows(export.rows(start=start), len(export.columns), missing, None)
    except ImportFileError as exc:
        return str(exc)


def merged(first: list[Profile], second: list[Profile]) -> list[Profile]:
    """The profiles of two halves as one: answers and counts added, complete while both were and the distinct
    values together stay within the cap."""
    for one, other in zip(first, second, strict=True):
        one.answered += other.answered
        for value, count in other.counts.items():
            one.counts[value] = one.counts.get(value, 0) + count
        one.complete = one.complete and other.complete and len(one.counts) <= DISTINCT_CAP
    return first
