"""The change history: every change to a ticket is a :class:`TicketEvent`.

Events are the record of truth that later features derive from (SLA clocks, reports, undoing a
merge), so each one says who, when, what, and the old and new value as JSON-safe data.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.values import Actor

__all__ = ["EventKind", "TicketEvent"]


class EventKind(enum.Enum):
    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    PRIORITY_CHANGED = "priority_changed"
    SUBJECT_CHANGED = "subject_changed"
    ASSIGNED = "assigned"
    TEAM_CHANGED = "team_changed"
    INCIDENT_TYPE_CHANGED = "incident_type_changed"
    CUSTOMER_CHANGED = "customer_changed"
    TAG_ADDED = "tag_added"
    TAG_REMOVED = "tag_removed"
    FIELD_CHANGED = "field_changed"
    LINK_ADDED = "link_added"
    LINK_REMOVED = "link_removed"
    DUE_CHANGED = "due_changed"
    ARTICLE_ADDED = "article_added"
    PARTICIPANT_ADDED = "participant_added"
    CC_RECORDED = "cc_recorded"  # an address in Cc of the customer's mail (no participant)
    DELIVERY = "delivery"  # what became of an outgoing message (outbox)
    SLA_POLICY = "sla_policy"  # the SLA policy chosen for the ticket, and why
    ESCALATED = "escalated"  # an SLA escalation level was reached
    MERGED = "merged"  # this ticket was merged into another (the undo record is in data)
    MERGE_RECEIVED = "merge_received"  # another ticket was merged into this one
    UNMERGED = "unmerged"  # this ticket's merge was undone
    MERGE_RELEASED = "merge_released"  # a ticket merged into this one was taken back out
    SPLIT_OFF = "split_off"  # articles moved from this ticket into a new one
    SPLIT_FROM = "split_from"  # this ticket was made from articles split off another
    RELATED = "related"  # a link to another ticket (parent, child, related, duplicate)
    UNRELATED = "unrelated"  # such a link removed
    PERSONAL_DATA_ERASED = "personal_data_erased"  # a contact's data was replaced (no data)


@attrs.frozen
class TicketEvent:
    """One change. ``seq`` orders the events of a ticket (1, 2, 3 ... without gaps)."""

    ticket_id: str
    seq: int
    at: datetime
    actor: Actor
    kind: EventKind
    field: str | None = None
    old: Any = None
    new: Any = None
    data: dict[str, Any] = attrs.field(factory=dict)

    def describe(self) -> str:
        """A one-line human description, for history views and the demo."""
        who = self.actor.name or self.actor.id or self.actor.kind.value
        if self.kind is EventKind.CREATED:
            return f"{who} created the ticket via {self.data.get('channel', '?')}"
        if self.kind is EventKind.ARTICLE_ADDED:
            direction = self.data.get("direction", "")
            noun = {"inbound": "an incoming message", "outbound": "an outgoing message",
                    "internal": "an internal note"}.get(direction, "an article")
            return f"{who} added {noun}"
        if self.kind is EventKind.SLA_POLICY:
            was = f" (was {_shown(self.old)})" if self.old is not None else ""
            return (f"{who} chose SLA policy {_shown(self.new)}{was}: "
                    f"{self.data.get('reason', '')}")
        if self.kind is EventKind.ESCALATED:
            target = str(self.data.get("target", "")).replace("_", " ")
            sent = ", ".join(self.data.get("notified", ())) or "nobody"
            return f"{who} escalated: {self.new} of the {target} target reached (told {sent})"
        if self.kind is EventKind.DELIVERY:
            what = f"{self.data.get('channel', '')} {self.data.get('kind', 'message')}".strip()
            detail = f" ({self.data['error']})" if self.data.get("error") else ""
            return f"{who} recorded the {what}: {self.new}{detail}"
        if self.kind in _TICKET_WORDS:
            number = self.data.get("other_number") or self.new or self.old or "?"
            why = f": {self.data['reason']}" if self.data.get("reason") else ""
            return f"{who} {_TICKET_WORDS[self.kind].format(number=number)}{why}"
        if self.kind is EventKind.CC_RECORDED:
            told = " (copied on replies)" if self.data.get("notified") else ""
            return f"{who} recorded {self.new} in Cc{told}"
        if self.kind in (EventKind.TAG_ADDED, EventKind.LINK_ADDED, EventKind.PARTICIPANT_ADDED):
            return f"{who} added {self.field} {self.new}"
        if self.kind in (EventKind.TAG_REMOVED, EventKind.LINK_REMOVED):
            return f"{who} removed {self.field} {self.old}"
        label = (self.field or "").replace("custom_fields.", "").replace("_", " ")
        return f"{who} changed {label}: {_shown(self.old)} → {_shown(self.new)}"


_TICKET_WORDS = {
    EventKind.MERGED: "merged this ticket into {number}",
    EventKind.MERGE_RECEIVED: "merged {number} into this ticket",
    EventKind.UNMERGED: "undid the merge of this ticket into {number}",
    EventKind.MERGE_RELEASED: "undid the merge of {number} into this ticket",
    EventKind.SPLIT_OFF: "split articles off into {number}",
    EventKind.SPLIT_FROM: "made this ticket from articles split off {number}",
    EventKind.RELATED: "linked {number}",
    EventKind.UNRELATED: "removed the link to {number}",
}


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_shown(v)}" for k, v in value.items())
    return str(value)
