"""Human-facing ticket numbers such as ``HD-2026-000042``.

The storage hands out a strictly increasing integer per *scope* (a year, when the format
contains the year; one global scope otherwise) inside the transaction that creates the ticket;
this module turns that integer into text and finds numbers in text again (mail subjects).
"""

from __future__ import annotations

import re
import string
from datetime import datetime

import attrs

from helpdesk_core.errors import ConfigurationError

__all__ = ["TicketNumberFormat"]

_ALLOWED_FIELDS = {"prefix", "year", "seq"}
_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,15}")


@attrs.frozen
class TicketNumberFormat:
    """``pattern`` is a str.format pattern over ``prefix``, ``year`` and ``seq`` (required).

    Examples: ``"{prefix}{year}-{seq:06d}"`` → ``HD-2026-000042``; ``"{prefix}{seq}"`` → ``T-42``.
    """

    prefix: str = "HD-"
    pattern: str = "{prefix}{year}-{seq:06d}"

    def __attrs_post_init__(self) -> None:
        if self.prefix and not _PREFIX.fullmatch(self.prefix.rstrip("-#/")):
            raise ConfigurationError(f"ticket number prefix {self.prefix!r} is not allowed")
        fields = set()
        try:
            parsed = list(string.Formatter().parse(self.pattern))
        except ValueError as exc:
            raise ConfigurationError(f"bad ticket number pattern: {exc}") from exc
        for _literal, name, _spec, conversion in parsed:
            if name is None:
                continue
            if name not in _ALLOWED_FIELDS or conversion:
                raise ConfigurationError(f"ticket number pattern may not use {{{name}}}")
            fields.add(name)
        if "seq" not in fields:
            raise ConfigurationError("ticket number pattern must contain {seq}")
        try:
            samples = [self.pattern.format(prefix=self.prefix, year=2026, seq=seq)
                       for seq in (1, 42, 1234567)]
        except (ValueError, KeyError, IndexError) as exc:
            raise ConfigurationError(f"bad ticket number pattern: {exc}") from exc
        # Format specs such as {seq:x}, {seq:>6} or {seq:,} render numbers regex() cannot find.
        for sample in samples:
            if not self.regex().fullmatch(sample):
                raise ConfigurationError(
                    f"ticket number pattern {self.pattern!r} renders {sample!r}, which could not"
                    " be recognised in a mail subject; use only zero-padding such as {seq:06d}"
                )

    @property
    def yearly(self) -> bool:
        """The sequence restarts every year when the year is part of the number."""
        return any(name == "year" for _, name, _, _ in string.Formatter().parse(self.pattern))

    def scope(self, created_at: datetime) -> str:
        """The name of the sequence a ticket created at ``created_at`` draws from."""
        return f"ticket:{created_at.year}" if self.yearly else "ticket"

    def render(self, *, seq: int, created_at: datetime) -> str:
        if seq < 1:
            raise ValueError("sequence values start at 1")
        return self.pattern.format(prefix=self.prefix, year=created_at.year, seq=seq)

    def regex(self) -> re.Pattern[str]:
        """A pattern that finds rendered numbers inside longer text, not inside longer numbers."""
        parts: list[str] = []
        for literal, name, _spec, _conv in string.Formatter().parse(self.pattern):
            parts.append(re.escape(literal))
            if name == "prefix":
                parts.append(re.escape(self.prefix))
            elif name == "year":
                parts.append(r"\d{4}")
            elif name == "seq":
                parts.append(r"\d+")
        return re.compile(r"(?<![\w-])" + "".join(parts) + r"(?!\d)", re.IGNORECASE)
