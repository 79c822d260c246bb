"""Rate limits: a token bucket per caller and action, as pure values.

A :class:`RateRule` says how many calls may come at once (``calls``) and how fast that
allowance comes back (all of it over ``per``). A :class:`Bucket` is one caller's state under
a rule: how many calls it has left at an instant. :meth:`Bucket.take` returns the bucket
after one call, or how long to wait; nothing here reads a clock or keeps state — the
:class:`~helpdesk_core.ports.ratelimit.RateLimiter` port keeps the buckets.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import attrs

from helpdesk_core.errors import ConfigurationError

__all__ = ["Bucket", "RateRule"]


def _positive_calls(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1_000_000:
        raise ConfigurationError(f"{attribute.name} must be a whole number from 1 to 1000000")


def _positive_period(instance: object, attribute: attrs.Attribute[timedelta],
                     value: object) -> None:
    if not isinstance(value, timedelta) or not timedelta(0) < value <= timedelta(days=366):
        raise ConfigurationError(f"{attribute.name} must be a duration of up to a year")


@attrs.frozen
class RateRule:
    """``calls`` calls at once, refilled evenly over ``per`` (10 per 15 minutes: one more
    every 90 seconds, up to 10)."""

    calls: int = attrs.field(validator=_positive_calls)
    per: timedelta = attrs.field(validator=_positive_period)

    @property
    def interval(self) -> float:
        """Seconds for one call to come back."""
        return self.per.total_seconds() / self.calls


@attrs.frozen
class Bucket:
    """How many calls are left (``level``, fractions count towards the next) at ``at``."""

    level: float
    at: datetime

    @classmethod
    def full(cls, rule: RateRule, at: datetime) -> Bucket:
        return cls(float(rule.calls), at)

    def refilled(self, rule: RateRule, now: datetime) -> Bucket:
        """The bucket at ``now``: refilled for the time since ``at`` (a clock that went back
        refills nothing)."""
        elapsed = max((now - self.at).total_seconds(), 0.0)
        level = min(float(rule.calls), self.level + elapsed / rule.interval)
        return Bucket(level, max(now, self.at))

    def wait(self, rule: RateRule, now: datetime) -> float | None:
        """Seconds until one call is allowed; None when it is allowed now."""
        bucket = self.refilled(rule, now)
        if bucket.level >= 1.0:
            return None
        return max(math.ceil((1.0 - bucket.level) * rule.interval * 1000) / 1000, 0.001)

    def take(self, rule: RateRule, now: datetime) -> tuple[Bucket, float | None]:
        """One call at ``now``: the bucket after it and None, or the bucket unchanged (but
        refilled) and the seconds to wait — a refused call takes nothing."""
        bucket = self.refilled(rule, now)
        wait = bucket.wait(rule, now)
        if wait is not None:
            return bucket, wait
        return Bucket(bucket.level - 1.0, bucket.at), None

    def is_full(self, rule: RateRule, now: datetime) -> bool:
        """Whether forgetting this bucket changes nothing (a limiter may drop it)."""
        return self.refilled(rule, now).level >= rule.calls
