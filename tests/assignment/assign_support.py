"""Shared values and helpers of the assignment tests."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from helpdesk_core import Helpdesk
from helpdesk_core.domain import Actor, EventKind, StaffVia
from helpdesk_core.domain.staff import Agent, HelpdeskStaff, Team

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EVA = Actor.agent("eva", "Eva Agentová")

# olga owns Petr's account; carla answers the "support" mailbox; the returns team takes turns.
AGENTS = (
    Agent("olga", "Olga"), Agent("petr", "Petr"), Agent("carla", "Carla"),
    Agent("hana", "Hana"), Agent("ales", "Aleš"), Agent("bara", "Bára"), Agent("cyril", "Cyril"),
)
RETURNS = Team("returns", "Returns", members=("ales", "bara", "cyril"), strategy="round_robin")


def staff(**changes: Any) -> HelpdeskStaff:
    values: dict[str, Any] = {"agents": AGENTS, "teams": (RETURNS,)}
    values.update(changes)
    return HelpdeskStaff(**values)


def raw_mail(sender: str = "Jana <jana@example.cz>", to: str = "support@shop.example") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, "Konvice nefunguje"
    msg["Message-ID"] = "<assign-1@mail.example.cz>"
    msg.set_content("Dobrý den, konvice nehřeje.")
    return bytes(msg)


def open_ticket(helpdesk: Helpdesk, **details: Any) -> Any:
    details.setdefault("subject", "Dotaz")
    details.setdefault("message", "Dobrý den")
    return helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, **details)


def the_reason(helpdesk: Helpdesk, ticket: Any) -> dict[str, Any]:
    """The reason of the ticket's only automatic ASSIGNED event."""
    [event] = [e for e in helpdesk.tickets.history(ticket.id) if e.kind is EventKind.ASSIGNED]
    reason: dict[str, Any] = event.data["reason"]
    return reason


def steps(reason: dict[str, Any]) -> list[str]:
    return [step["resolver"] for step in reason["trace"]]
