"""Rate limits kept in this process (see :mod:`helpdesk_core.ports.ratelimit`)."""

from __future__ import annotations

import threading
from datetime import datetime

from helpdesk_core.domain.ratelimit import Bucket, RateRule

__all__ = ["InMemoryRateLimiter"]


class InMemoryRateLimiter:
    """Buckets in a dict, behind a lock: the limits hold per process.

    At most ``max_keys`` buckets are kept; past that, full buckets (which say nothing a new
    one would not) are dropped first, then the oldest — so a flood of callers costs bounded
    memory, at worst forgetting some callers' history."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._buckets: dict[str, tuple[RateRule, Bucket]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def _bucket(self, key: str, rule: RateRule, now: datetime) -> Bucket:
        known = self._buckets.get(key)
        if known is None or known[0] != rule:
            return Bucket.full(rule, now)
        return known[1]

    def take(self, key: str, rule: RateRule, *, now: datetime) -> float | None:
        with self._lock:
            bucket, wait = self._bucket(key, rule, now).take(rule, now)
            if wait is None:
                self._buckets.pop(key, None)
                self._buckets[key] = (rule, bucket)  # newest last
                self._trim(now)
            return wait

    def wait(self, key: str, rule: RateRule, *, now: datetime) -> float | None:
        with self._lock:
            return self._bucket(key, rule, now).wait(rule, now)

    def _trim(self, now: datetime) -> None:
        if len(self._buckets) <= self._max_keys:
            return
        for key, (rule, bucket) in list(self._buckets.items()):
            if bucket.is_full(rule, now):
                del self._buckets[key]
        while len(self._buckets) > self._max_keys:
            del self._buckets[next(iter(self._buckets))]
