"""Where the webhook app keeps the calls in progress: their events and screen pops.

The core keeps no call state; a call exists only as the events its provider reported. The
:class:`CallStore` protocol is all the app needs; :class:`InMemoryCallStore` serves a single
process. Hosts running several web workers implement the protocol over a shared store (a
database table, Redis) so that every worker sees every event of a call.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Protocol

from helpdesk_core.ports.messaging import CallEvent

__all__ = ["CallStore", "InMemoryCallStore"]


class CallStore(Protocol):
    def add(self, event: CallEvent) -> tuple[CallEvent, ...]:
        """Remember ``event``; return every event of its call so far, this one included."""

    def events(self, call_id: str) -> tuple[CallEvent, ...]:
        """The events of a call; empty when it is unknown or forgotten."""

    def set_screen_pop(self, call_id: str, pop: dict[str, Any]) -> None:
        """Keep the screen pop shown for a call (plain JSON data)."""

    def screen_pop(self, call_id: str) -> dict[str, Any] | None: ...

    def call_ids(self) -> list[str]:
        """The calls remembered, oldest first."""

    def forget(self, call_id: str) -> None:
        """Drop a call once it was recorded."""


class InMemoryCallStore:
    """A bounded, thread-safe store: the oldest call is dropped when ``max_calls`` is reached,
    and a call keeps at most ``max_events`` events (a flood of pushes cannot fill memory)."""

    def __init__(self, *, max_calls: int = 1000, max_events: int = 50) -> None:
        self.max_calls = max_calls
        self.max_events = max_events
        self._lock = threading.Lock()
        self._events: OrderedDict[str, list[CallEvent]] = OrderedDict()
        self._pops: dict[str, dict[str, Any]] = {}

    def add(self, event: CallEvent) -> tuple[CallEvent, ...]:
        with self._lock:
            known = self._events.get(event.provider_call_id)
            if known is None:
                while len(self._events) >= self.max_calls:
                    oldest, _ = self._events.popitem(last=False)
                    self._pops.pop(oldest, None)
                known = self._events[event.provider_call_id] = []
            if event not in known and len(known) < self.max_events:
                known.append(event)
            return tuple(known)

    def events(self, call_id: str) -> tuple[CallEvent, ...]:
        with self._lock:
            return tuple(self._events.get(call_id, ()))

    def set_screen_pop(self, call_id: str, pop: dict[str, Any]) -> None:
        with self._lock:
            if call_id in self._events:
                self._pops[call_id] = pop

    def screen_pop(self, call_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._pops.get(call_id)

    def call_ids(self) -> list[str]:
        with self._lock:
            return list(self._events)

    def forget(self, call_id: str) -> None:
        with self._lock:
            self._events.pop(call_id, None)
            self._pops.pop(call_id, None)
