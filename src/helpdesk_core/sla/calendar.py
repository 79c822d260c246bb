"""Business calendars: when a support team works, and business-time arithmetic over it.

A :class:`BusinessCalendar` names an IANA time zone, the weekly business hours (several intervals
a day, so a lunch break is two intervals), the public holidays of a country and subdivision
(from the ``holidays`` package), custom closed days and extra working days with their own hours.

Every instant going in or out is a timezone-aware UTC ``datetime``; the calendar's wall-clock
hours are turned into UTC instants day by day, in the calendar's zone. The arithmetic walks day
by day, never minute by minute, so adding a year of business time touches about 365 days.

Wall-clock boundaries on days when the clocks change:

- A boundary is the first instant at which the wall clock shows that time. In the repeated
  hour (autumn) that is the first pass; an interval ``00:00-24:00`` then lasts 25 hours.
- A boundary that falls into the skipped hour (spring) is the instant the clock jumps over it,
  so an interval ``01:00-02:30`` in Prague ends at 03:00 CEST and one lying wholly inside the
  skipped hour does not exist that day.

Both rules keep boundaries in wall-clock order, so adjacent intervals stay adjacent.

A calendar must open again after any instant, or no deadline could ever be found in it. The
closed and extra days are finite, and public holidays close a few dates a year, never a weekday
for good, so after the last closed or extra day a weekday with hours comes round within days: a
calendar opens again after every instant exactly when some weekday has business hours. One
without (extra working days alone, or hours that are all empty) is refused when it is built. A
long stretch of closed days only delays the next opening; it is accepted.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import re
import types
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import holidays as holiday_data

from helpdesk_core.domain.values import ensure_utc
from helpdesk_core.errors import ConfigurationError, ValidationError

__all__ = ["BusinessCalendar", "Interval", "holiday_dates"]

_DAY = timedelta(days=1)
_ZERO = timedelta(0)
# A calendar accepted when built opens within days of its last closed or extra day: its week
# has hours, and public holidays never close a weekday for good. Closed this long after that
# day, it never opens again (a calendar that escaped the check, say by unpickling an older
# version); adding business time to it would never end.
_MAX_CLOSED_RUN = 366
_CACHE_LIMIT = 4096

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _parse_clock(text: str, *, end: bool) -> time:
    match = _CLOCK.fullmatch(text.strip())
    if not match:
        raise ConfigurationError(f"{text!r} is not a time of day (HH:MM)")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if end and (hour, minute, second) == (24, 0, 0):
        return time(0)  # 24:00 is stored as midnight, read as the end of the day
    if hour > 23 or minute > 59 or second > 59:
        raise ConfigurationError(f"{text!r} is not a time of day (HH:MM)")
    return time(hour, minute, second)


@attrs.frozen
class Interval:
    """Business hours within one day, in wall-clock time: ``[start, end)``.

    ``end`` of ``time(0)`` means the end of the day (24:00), so ``Interval(time(0), time(0))``
    is the whole day.
    """

    start: time
    end: time

    def __attrs_post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ConfigurationError("interval times are wall-clock times, without a zone")
        if self.end != time(0) and self.end <= self.start:
            raise ConfigurationError(f"interval {self} ends before it starts")

    @classmethod
    def parse(cls, text: str | tuple[str, str]) -> Interval:
        """``"08:00-12:00"``, or the pair ``("08:00", "12:00")``; ``24:00`` is allowed as an
        end. Anything else is a ConfigurationError."""
        if _is_pair(text):
            text = f"{text[0]}-{text[1]}"
        if not isinstance(text, str):
            raise ConfigurationError(f"{text!r} is not an interval: give \"08:00-12:00\" or "
                                     "(\"08:00\", \"12:00\")")
        head, sep, tail = text.partition("-")
        if not sep:
            raise ConfigurationError(f"{text!r} is not an interval (HH:MM-HH:MM)")
        return cls(_parse_clock(head, end=False), _parse_clock(tail, end=True))

    @property
    def ends_at_midnight(self) -> bool:
        return self.end == time(0)

    def _end_key(self) -> tuple[int, time]:
        return (1, time(0)) if self.ends_at_midnight else (0, self.end)

    def __str__(self) -> str:
        end = "24:00" if self.ends_at_midnight else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


IntervalSpec = str | Interval | Iterable[str | Interval]


def _is_pair(spec: object) -> bool:
    """``("08:00", "12:00")``: one interval as a pair of times (not two intervals)."""
    return isinstance(spec, tuple) and len(spec) == 2 and \
        all(isinstance(t, str) and "-" not in t for t in spec)


def _intervals(spec: IntervalSpec) -> tuple[Interval, ...]:
    """Normalise ``"08:00-12:00, 12:30-16:30"`` or a list of intervals; checks no overlap."""
    if isinstance(spec, Interval):
        items: list[Interval] = [spec]
    elif isinstance(spec, str):
        items = [Interval.parse(part) for part in spec.split(",") if part.strip()]
    elif _is_pair(spec):
        items = [Interval.parse(spec)]  # type: ignore[arg-type]  # one ("08:00", "12:00")
    elif isinstance(spec, Iterable):
        items = [i if isinstance(i, Interval) else Interval.parse(i) for i in spec]
    else:
        raise ConfigurationError(f"{spec!r} are no business hours: give \"08:00-12:00\" or a "
                                 "list of intervals")
    items.sort(key=lambda i: i.start)
    for before, after in itertools.pairwise(items):
        if before.ends_at_midnight or before.end > after.start:
            raise ConfigurationError(f"intervals {before} and {after} overlap")
    return tuple(items)


def _weekdays(key: str | int) -> list[int]:
    """``0``-``6``, ``"mon"``, ``"mon-fri"`` → weekday numbers (Monday is 0)."""
    if isinstance(key, int):
        if not 0 <= key <= 6:
            raise ConfigurationError(f"weekday {key} is not 0 (Monday) to 6 (Sunday)")
        return [key]
    first, sep, last = key.strip().lower().partition("-")
    try:
        a = _DAY_NAMES.index(first[:3])
        b = _DAY_NAMES.index(last[:3]) if sep else a
    except ValueError:
        raise ConfigurationError(f"{key!r} is not a weekday or a range of weekdays") from None
    if b < a:
        raise ConfigurationError(f"weekday range {key!r} runs backwards")
    return list(range(a, b + 1))


@functools.lru_cache(maxsize=256)
def holiday_dates(country: str, subdivision: str | None, year: int) -> Mapping[date, str]:
    """The public holidays of one year, ``{date: name}``; cached per country and year."""
    try:
        found = holiday_data.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError as exc:
        raise ConfigurationError(str(exc)) from exc
    return types.MappingProxyType(
        {day: str(name) for day, name in found.items() if day.year == year})


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _utc_of_wall(naive: datetime, zone: ZoneInfo) -> datetime:
    """The first instant at which the wall clock in ``zone`` shows ``naive`` (or later)."""
    first = naive.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the first pass
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # Skipped by a forward change: find the jump, at whole seconds, between the two readings.
    low = math.floor(naive.replace(tzinfo=zone, fold=1).timestamp())
    high = math.ceil(first.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        wall = datetime.fromtimestamp(middle, zone).replace(tzinfo=None)
        if wall >= naive:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _day(value: object, what: str) -> date:
    """A calendar day: a ``date``, or its ISO text (``"2026-06-16"``, as read from a settings
    file). Anything else is refused: a day that is silently not a day moves every deadline."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ConfigurationError(f"{what} {value!r} is not a date like 2026-06-16") from None
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ConfigurationError(f"{what} {value!r} must be a date")
    return value


def _days(value: Iterable[date | str]) -> frozenset[date]:
    if isinstance(value, (str, date)):
        raise ConfigurationError("closed_days must be a list of dates, not a single one")
    return frozenset(_day(day, "closed day") for day in value)


def _extra_days(value: Mapping[date | str, IntervalSpec] | None,
                ) -> Mapping[date, tuple[Interval, ...]]:
    return {_day(day, "extra working day"): _intervals(spec)
            for day, spec in (value or {}).items()}


def _name(value: object) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(f"a calendar's name must be text, not {value!r}")
    return value.strip()


def _week(value: Iterable[Iterable[Interval]]) -> tuple[tuple[Interval, ...], ...]:
    days = tuple(_intervals(tuple(day)) for day in value)
    if len(days) != 7:
        raise ConfigurationError("weekly hours need seven days, Monday first")
    return days


def _zone_name(value: str | ZoneInfo) -> str:
    """An IANA zone name; a ``ZoneInfo`` gives its key. Anything else is refused here rather
    than as a TypeError deep inside."""
    if isinstance(value, ZoneInfo):
        return value.key
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"a calendar needs an IANA time zone name like "
                                 f"'Europe/Prague', not {value!r}")
    return value.strip()


@attrs.frozen
class BusinessCalendar:
    """Business hours in a time zone, with public holidays and exceptions. Build it with
    :meth:`weekly`.

    - ``week``: seven tuples of :class:`Interval`, Monday first.
    - ``country``/``subdivision``: public holidays from the ``holidays`` package
      (``"CZ"``, ``"SK"``, ``"AT"``, ``"DE"`` with ``"BY"`` ...); none when ``country`` is None.
    - ``closed_days``: extra days off (a company holiday).
    - ``extra_days``: days with their own hours, overriding the weekday, a holiday and the week
      (a working Saturday; a holiday with reduced hours).
    - ``name``: what messages call the calendar (else its zone); it decides nothing.

    Some weekday must have hours (:meth:`check`), else a ConfigurationError.
    """

    zone: str = attrs.field(converter=_zone_name)
    week: tuple[tuple[Interval, ...], ...] = attrs.field(converter=_week)
    country: str | None = None
    subdivision: str | None = None
    closed_days: frozenset[date] = attrs.field(default=frozenset(), converter=_days)
    # Compared but not hashed (a dict); equal calendars still hash alike.
    extra_days: Mapping[date, tuple[Interval, ...]] = attrs.field(
        factory=dict, converter=_extra_days, hash=False)
    # For people: errors and reasons name the calendar by it (else by its zone).
    name: str = attrs.field(default="", converter=_name)
    _tz: ZoneInfo = attrs.field(init=False, eq=False, repr=False)
    _fingerprint: str = attrs.field(init=False, eq=False, repr=False)
    _last_special: date | None = attrs.field(init=False, eq=False, repr=False)
    # Day → UTC spans; a memo of a pure function, bounded, invisible to equality.
    _spans_memo: dict[date, tuple[tuple[datetime, datetime], ...]] = attrs.field(
        init=False, eq=False, repr=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        try:
            object.__setattr__(self, "_tz", ZoneInfo(self.zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(f"unknown time zone {self.zone!r}") from None
        if self.subdivision is not None and self.country is None:
            raise ConfigurationError("a holiday subdivision needs a country")
        if self.country is not None:
            holiday_dates(self.country, self.subdivision, 2000)  # unknown names fail now
        both = self.closed_days & set(self.extra_days)
        if both:
            raise ConfigurationError(f"{min(both)} is both a closed and an extra working day")
        object.__setattr__(self, "_fingerprint", _digest(self._canonical()))
        object.__setattr__(self, "_last_special",
                           max(self.closed_days | set(self.extra_days), default=None))
        self.check()

    def check(self) -> None:
        """Refuse a calendar that does not open again after every instant: one without
        business hours on any weekday. A ConfigurationError names the calendar and why."""
        if any(self.week):
            return
        open_extra = sorted(day for day, hours in self.extra_days.items() if hours)
        if open_extra:
            raise ConfigurationError(
                f"calendar {self.label} has no business hours on any weekday, only on extra "
                f"working days: after {open_extra[-1]} it never opens again, so no deadline "
                "could be found; give it weekly hours")
        raise ConfigurationError(
            f"calendar {self.label} has no business hours on any weekday: it never opens, so "
            "no deadline could be found; give it weekly hours")

    @property
    def label(self) -> str:
        """How messages name the calendar: ``'Prague office'``, or its zone when unnamed."""
        return repr(self.name) if self.name else self.zone

    @classmethod
    def weekly(
        cls,
        zone: str,
        hours: Mapping[str | int, IntervalSpec],
        *,
        country: str | None = None,
        subdivision: str | None = None,
        closed_days: Iterable[date | str] = (),
        extra_days: Mapping[date | str, IntervalSpec] | None = None,
        name: str = "",
    ) -> BusinessCalendar:
        """``BusinessCalendar.weekly("Europe/Prague", {"mon-fri": "08:00-12:00, 12:30-16:30"},
        country="CZ")``. Days not named are closed; some day must have hours."""
        week: list[tuple[Interval, ...]] = [() for _ in range(7)]
        for key, spec in hours.items():
            for day in _weekdays(key):
                if week[day]:
                    raise ConfigurationError(f"{_DAY_NAMES[day]} is given twice")
                week[day] = _intervals(spec)
        return cls(zone, week, country=country, subdivision=subdivision,
                   closed_days=_days(closed_days), extra_days=dict(extra_days or {}), name=name)

    # -- days ------------------------------------------------------------------------------

    @property
    def tzinfo(self) -> ZoneInfo:
        return self._tz

    @property
    def fingerprint(self) -> str:
        """A short digest of everything that decides business time: the zone, the weekly hours,
        the holiday country and subdivision, the closed and the extra days. Equal for equal
        calendars in every process, so a stored one tells whether the calendar changed since."""
        return self._fingerprint

    def _canonical(self) -> str:
        week = ";".join(",".join(map(str, day)) for day in self.week)
        closed = ",".join(day.isoformat() for day in sorted(self.closed_days))
        extra = ";".join(f"{day.isoformat()}={','.join(map(str, hours))}"
                         for day, hours in sorted(self.extra_days.items()))
        return "|".join((self.zone, week, self.country or "", self.subdivision or "", closed,
                         extra))

    def holiday_name(self, day: date) -> str | None:
        """The public holiday on ``day``, if any (whether or not an extra day overrides it)."""
        if self.country is None:
            return None
        return holiday_dates(self.country, self.subdivision, day.year).get(day)

    def hours_on(self, day: date) -> tuple[Interval, ...]:
        """The business hours of a local date: extra day, else closed, else the weekday."""
        extra = self.extra_days.get(day)
        if extra is not None:
            return extra
        if day in self.closed_days or self.holiday_name(day) is not None:
            return ()
        return self.week[day.weekday()]

    def _spans(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The business periods of a local date as UTC ``[start, end)`` pairs, empty ones
        (an interval inside a skipped hour) left out."""
        cached = self._spans_memo.get(day)
        if cached is not None:
            return cached
        spans = []
        midnight = datetime.combine(day, time(0))
        for interval in self.hours_on(day):
            start = _utc_of_wall(datetime.combine(day, interval.start), self._tz)
            end_wall = midnight + _DAY if interval.ends_at_midnight else datetime.combine(
                day, interval.end)
            end = _utc_of_wall(end_wall, self._tz)
            if end > start:
                spans.append((start, end))
        result = tuple(spans)
        if len(self._spans_memo) >= _CACHE_LIMIT:
            self._spans_memo.clear()
        self._spans_memo[day] = result
        return result

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self._tz).date()

    def _days_from(self, instant: datetime) -> Iterator[tuple[date, tuple[tuple[datetime,
                                                                              datetime], ...]]]:
        day = self._local_date(instant)
        last = self._last_special
        closed_run = 0  # closed days in a row after the last closed or extra day
        while True:
            spans = self._spans(day)
            closed_run = 0 if spans or (last is not None and day <= last) else closed_run + 1
            if closed_run > _MAX_CLOSED_RUN:
                raise ConfigurationError(
                    f"calendar {self.label} never opens again after {day - closed_run * _DAY}")
            yield day, spans
            day += _DAY

    # -- arithmetic ------------------------------------------------------------------------

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which ``duration`` of business time has passed since ``start``.

        A zero duration gives ``start`` when the calendar is open then, else the next opening.
        A positive duration that uses up a period exactly ends at its closing instant.
        """
        start = ensure_utc(start, field="start")
        if duration < _ZERO:
            raise ValidationError("must not be negative", field="duration")
        remaining = duration
        for _day, spans in self._days_from(start):
            for span_start, span_end in spans:
                if span_end <= start:
                    continue
                begin = max(span_start, start)
                available = span_end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        raise AssertionError("unreachable")  # pragma: no cover - _days_from never ends

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants; zero when ``end`` is not after ``start``."""
        start = ensure_utc(start, field="start")
        end = ensure_utc(end, field="end")
        total = _ZERO
        for begin, finish in self.periods(start, end):
            total += finish - begin
        return total

    def periods(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The business periods within ``[start, end)``, clipped, in order (UTC)."""
        start = ensure_utc(start, field="start")
        end = ensure_utc(end, field="end")
        if end <= start:
            return
        last = self._local_date(end)
        day = self._local_date(start)
        while day <= last:
            for span_start, span_end in self._spans(day):
                begin, finish = max(span_start, start), min(span_end, end)
                if finish > begin:
                    yield begin, finish
            day += _DAY

    def is_open(self, instant: datetime) -> bool:
        """Whether ``instant`` lies within business hours (a period's start is open, its end
        is not)."""
        instant = ensure_utc(instant, field="instant")
        return any(s <= instant < e for s, e in self._spans(self._local_date(instant)))

    def next_open(self, instant: datetime) -> datetime:
        """``instant`` itself when open, else the start of the next business period."""
        return self.add(instant, _ZERO)
