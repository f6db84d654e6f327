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
import subprocess
import sys

from voxpop.imports.formats import Export, ImportFileError
from voxpop.imports.profiles import DISTINCT_CAP, Profile, profile_rows

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
    worker = subprocess.Popen([sys.executable, "-m", "voxpop.imports.worker"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    try:
        pickle.dump(("profile", export, split, missing), worker.stdin)
        worker.stdin.close()
        seen = [0]
        try:
            first = profile_rows(_counted(export.rows(end=split), seen), width, missing, None)
        except ImportFileError:
            first = None  # the boundary was inside a quoted value, or the first half has a bad row
        if not seen[0]:
            first = None  # the boundary was among the header rows: the second half would read them as responses
        second = _read(worker) if first is not None else None
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait()
        worker.stdout.close()
    if first is None or second is None:
        return profile_rows(export.rows(), width, missing, scan_rows)
    return merged(first, second)


def _counted(rows, seen: list[int]):
    for row in rows:
        seen[0] += 1
        yield row


def _read(worker: subprocess.Popen) -> list[Profile] | None:
    try:
        result = pickle.load(worker.stdout)
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
