"""Per-client rate limiting of the public endpoints: a token bucket per client address, in memory.

In memory is right for one process; several workers each keep their own buckets, so the effective
limit is multiplied by the worker count (documented in docs/admin-guide.md and docs/scaling.md). Shared buckets
would cost a database write on every public request; what must hold across processes, the failed log-ins that
lock an account, is counted in the store instead (accounts.throttle).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class RateLimiter:
    """Allow `per_minute` requests per client, refilled continuously, with bursts up to the same number."""

    def __init__(self, per_minute: int, *, max_clients: int = 100_000, clock=time.monotonic):
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client: str) -> tuple[bool, float]:
        """Whether the client may proceed now, and else how many seconds until it may."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.refill_per_second)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[client] = (tokens, now)
            if len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)  # forget the least recently seen client
        wait = 0.0 if allowed else (1.0 - tokens) / self.refill_per_second
        return allowed, wait
