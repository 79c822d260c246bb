"""Calendars and ticket stories shared by the SLA tests.

Histories are recorded by the real ``Ticket`` aggregate, so the clocks read exactly the events
the services store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from helpdesk_core.domain import (
    Actor,
    Channel,
    Direction,
    EventKind,
    Priority,
    Ticket,
    TicketEvent,
    Workflow,
)
from helpdesk_core.sla import BusinessCalendar, SlaPolicy, SlaTarget, TargetKind

PRAGUE = ZoneInfo("Europe/Prague")
AGENT = Actor.agent("petra", "Petra Malá")
CUSTOMER = Actor.customer("c-1", "Jana Nováková")
WORKFLOW = Workflow.default()

# The tracker's example: Prague, Monday-Friday 08:00-16:00, Czech public holidays.
CZ_OFFICE = BusinessCalendar.weekly("Europe/Prague", {"mon-fri": "08:00-16:00"}, country="CZ")
# An office with a lunch break, open on Saturday mornings too.
CZ_LUNCH = BusinessCalendar.weekly(
    "Europe/Prague", {"mon-fri": "08:00-12:00, 12:30-16:30", "sat": "09:00-12:00"}, country="CZ")
# Round the clock, every day: business time is real time except for the clock changes.
ALWAYS = BusinessCalendar.weekly("Europe/Prague", {"mon-sun": "00:00-24:00"})


def prague(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Prague wall-clock time as a UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=PRAGUE).astimezone(UTC)


def shown(instant: datetime | None) -> str | None:
    """An instant as Prague wall-clock text, for readable assertions."""
    return None if instant is None else f"{instant.astimezone(PRAGUE):%a %Y-%m-%d %H:%M}"


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def resolution_policy(duration: timedelta = timedelta(hours=8),
                      calendar: BusinessCalendar = CZ_OFFICE) -> SlaPolicy:
    return SlaPolicy("standard", calendar, [SlaTarget.uniform(TargetKind.RESOLUTION, duration)])


class Story:
    """A ticket worked through time; ``events`` is its history so far."""

    def __init__(self, at: datetime, *, priority: Priority = Priority.NORMAL) -> None:
        self.ticket = Ticket.open(number="HD-2026-000001", subject="Damaged parcel",
                                  channel=Channel.EMAIL, at=at, actor=CUSTOMER,
                                  priority=priority)

    @property
    def events(self) -> list[TicketEvent]:
        return list(self.ticket.pending_events)

    def status(self, key: str, at: datetime) -> Story:
        self.ticket.transition(key, workflow=WORKFLOW, at=at, actor=AGENT)
        return self

    def reply(self, at: datetime, *, public: bool = True) -> Story:
        self.ticket.add_article(direction=Direction.OUTBOUND, channel=Channel.EMAIL,
                                author=AGENT, body_text="Dobrý den", at=at, public=public)
        return self

    def note(self, at: datetime) -> Story:
        self.ticket.add_article(direction=Direction.INTERNAL, channel=Channel.EMAIL,
                                author=AGENT, body_text="checking", at=at)
        return self

    def customer_writes(self, at: datetime) -> Story:
        self.ticket.add_article(direction=Direction.INBOUND, channel=Channel.EMAIL,
                                author=CUSTOMER, body_text="Any news?", at=at, public=True)
        return self

    def priority(self, priority: Priority, at: datetime) -> Story:
        self.ticket.set_priority(priority, at=at, actor=AGENT)
        return self


    # -- merging, as the merge records it. The ticket itself cannot enter ``merged``: these
    # record the merge's events on it and leave its status alone, which is the status an
    # undo returns to.

    def merged(self, at: datetime, *, number: str | None = "HD-2026-000002") -> Story:
        """Merged into ticket ``number`` at ``at``: the status change into ``merged``, then
        ``merged``."""
        ticket = self.ticket
        self._add(at, EventKind.STATUS_CHANGED, field="status", old=ticket.status,
                  new="merged", data={"from_category": ticket.status_category.value,
                                      "to_category": "merged"})
        self._add(at, EventKind.MERGED, field="merged_into", new="t-target",
                  data={"operation": "op-1", "other_number": number})
        return self

    def unmerged(self, at: datetime) -> Story:
        """That merge undone at ``at``: back to the status the ticket had, then ``unmerged``."""
        ticket = self.ticket
        self._add(at, EventKind.STATUS_CHANGED, field="status", old="merged", new=ticket.status,
                  data={"from_category": "merged",
                        "to_category": ticket.status_category.value})
        self._add(at, EventKind.UNMERGED, field="merged_into", old="t-target",
                  data={"operation": "op-1"})
        return self

    def received(self, at: datetime, *, since: datetime | None,
                 number: str = "HD-2026-000009", operation: str = "op-2") -> Story:
        """Ticket ``number`` merged into this one at ``at``; its first response owed since
        ``since`` when the merge takes the earliest obligation (else None)."""
        self._add(at, EventKind.MERGE_RECEIVED, field="merged_from", new="t-source",
                  data={"operation": operation, "other_number": number,
                        "first_response_since": None if since is None else since.isoformat()})
        return self

    def released(self, at: datetime, *, number: str = "HD-2026-000009",
                 operation: str = "op-2") -> Story:
        """The merge ``operation`` of ticket ``number`` into this one undone at ``at``."""
        self._add(at, EventKind.MERGE_RELEASED, field="merged_from", old="t-source",
                  data={"operation": operation, "other_number": number})
        return self

    def _add(self, at: datetime, kind: EventKind, **values: Any) -> None:
        ticket = self.ticket
        ticket.event_seq += 1
        ticket.pending_events.append(TicketEvent(ticket_id=ticket.id, seq=ticket.event_seq,
                                                 at=at, actor=AGENT, kind=kind, **values))
