"""In-process token buckets, one per API key and one per client IP, refilled continuously over a minute.

Per process: behind several workers each holds its own buckets, so the effective limit is per worker.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`per_minute` requests a minute with bursts up to the same number; 0 means unlimited."""

    def __init__(self, per_minute: int, max_tracked: int = 50_000) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._max_tracked = max_tracked
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, key: str, now: float | None = None) -> float:
        """Takes one token for `key`; returns 0 when allowed, else the seconds until a token is available."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.pop(key, None) or _Bucket(tokens=float(self.per_minute), updated=now)
            bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
            self._buckets[key] = bucket  # most recently used last, so the oldest is evicted first
            while len(self._buckets) > self._max_tracked:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self._rate
