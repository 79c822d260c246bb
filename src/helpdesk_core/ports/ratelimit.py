"""Rate limiting: where the buckets of :mod:`helpdesk_core.domain.ratelimit` are kept.

The built-in :class:`~helpdesk_core.inmemory.ratelimit.InMemoryRateLimiter` keeps them in the
process: enough for one process, or for a limit per process. A deployment with several
processes (web workers behind a balancer) passes ``bootstrap(rate_limiter=...)`` one they
share — a Redis one is the plan — so that a caller cannot multiply its allowance by the number
of workers. Not a store of the helpdesk's data: it is not run through the storage contracts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from helpdesk_core.domain.ratelimit import RateRule

__all__ = ["RateLimiter"]


class RateLimiter(Protocol):
    def take(self, key: str, rule: RateRule, *, now: datetime) -> float | None:
        """One call of ``key`` (caller and action) under ``rule``: None when it is allowed
        (and counted), else the seconds until one would be (and nothing is counted)."""

    def wait(self, key: str, rule: RateRule, *, now: datetime) -> float | None:
        """The seconds until a call of ``key`` would be allowed, or None when it would be
        now; counts nothing."""
