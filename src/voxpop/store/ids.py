"""Public ids of records: unguessable, and in creation order.

A random UUID (v4) lands anywhere in its unique index, so every insert of a large import touches a random
page: measured on SQLite here, 300,000 responses went in at 31,500/s with v4 ids and 50,000/s with ordered
ones. The layout of UUIDv7 (RFC 9562) keeps the index appending: 48 bits of Unix milliseconds, then a
counter that keeps ids made in the same millisecond in order, then 62 random bits.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid

_lock = threading.Lock()
_last = [0, 0]  # the last millisecond used, and the counter within it


def public_id() -> str:
    """A new time-ordered UUID (version 7) as text."""
    with _lock:
        millisecond = time.time_ns() // 1_000_000
        if millisecond <= _last[0]:
            millisecond, counter = _last[0], _last[1] + 1
            if counter >= 1 << 12:  # 4,096 ids in one millisecond: borrow the next one
                millisecond, counter = millisecond + 1, 0
        else:
            counter = 0
        _last[:] = [millisecond, counter]
    value = (millisecond << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | secrets.randbits(62)
    return str(uuid.UUID(int=value))
