"""Parquet copies of export files, so that several commands on one big export read it once.

A copy is keyed by the files' resolved paths, sizes and modification times (and the reading rules' version):
an export that changed has another key, so a stale copy is never found, and storing a new copy removes the
old ones of the same export. A copy is written under a temporary name and renamed, so two commands at once
never see half a copy. The folder keeps the most recently used `KEPT` copies.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import voxpop

KEPT = 8  # copies kept; older ones are removed when a new one is stored
MIN_BYTES = 1 << 20  # a smaller export is read faster than its copy is written
SETTLED_SECONDS = 2.0  # a file changed this recently may still be written, or change again within one clock tick
IN_USE_SECONDS = 600.0  # a copy used this recently may be open in another command: not removed to bound the folder
RULES = "2"  # bump when the way files are read changes, so that copies made by the old rules are not used


def key(paths: list[Path]) -> tuple[str, str]:
    """(export, version): the first names the export (its paths), the second its current contents."""
    stats = [(str(path.resolve()), path.stat()) for path in paths]
    export = hashlib.sha256("\n".join(name for name, _ in stats).encode()).hexdigest()[:16]
    state = json.dumps([RULES, voxpop.__version__, [(name, stat.st_size, stat.st_mtime_ns) for name, stat in stats]])
    return export, hashlib.sha256(state.encode()).hexdigest()[:16]


def worth_keeping(paths: list[Path]) -> bool:
    """Whether a copy pays off and can be trusted: a big enough export, not changed in the last moments."""
    stats = [path.stat() for path in paths]
    settled = all(time.time() - stat.st_mtime > SETTLED_SECONDS for stat in stats)
    return settled and sum(stat.st_size for stat in stats) >= MIN_BYTES


def find(folder: Path, paths: list[Path]) -> Path | None:
    """The copy of these files as they are now, or None; a copy found is marked as just used."""
    export, version = key(paths)
    copy = folder / f"{export}-{version}.parquet"
    try:
        os.utime(copy)
    except OSError:  # not there (or removed a moment ago)
        return None
    return copy


def temporary(folder: Path) -> Path:
    """A fresh name in `folder` to write a copy to before `store` renames it."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".partial-", suffix=".parquet", dir=folder)
    os.close(handle)
    return Path(name)


def store(folder: Path, paths: list[Path], written: Path, *, key_before: tuple[str, str]) -> Path | None:
    """Keep `written` as the copy of `paths` if they did not change while it was written (`key_before` is their
    key from before reading); remove the older copies of the same export, and the least recently used beyond
    `KEPT`. Returns the copy, or None when the files changed (the written file is then removed)."""
    export, version = key(paths)
    if (export, version) != key_before:
        written.unlink(missing_ok=True)
        return None
    copy = folder / f"{export}-{version}.parquet"
    os.replace(written, copy)
    for older in folder.glob(f"{export}-*.parquet"):
        if older != copy:
            older.unlink(missing_ok=True)
    now = time.time()
    copies = sorted(folder.glob("*-*.parquet"), key=_last_used, reverse=True)
    for unused in copies[KEPT:]:
        if now - _last_used(unused) > IN_USE_SECONDS:
            unused.unlink(missing_ok=True)
    for partial in folder.glob(".partial-*.parquet"):  # left by a command that was stopped while writing
        if now - _last_used(partial) > 86400:
            partial.unlink(missing_ok=True)
    return copy


def _last_used(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
