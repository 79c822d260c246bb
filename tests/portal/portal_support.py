"""Helpers of the portal tests: a helpdesk with a portal secret and a fake clock, customers."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from helpdesk_core import Actor, Helpdesk, Settings, bootstrap
from helpdesk_core.inmemory import FakeClock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
SECRET = "portal-test-secret-" + "k" * 32
EVA = Actor.agent("eva", "Eva")


def make_helpdesk(clock: FakeClock | None = None, **settings: object) -> Helpdesk:
    values: dict[str, object] = {"storage": "memory", "autoload_plugins": False,
                                 "portal_secret": SECRET, **settings}
    return bootstrap(Settings(**values), clock=clock or FakeClock(T0),  # type: ignore[arg-type]
                     environ={})


def customer_of(desk: Helpdesk, email: str, name: str = "") -> Actor:
    """Open a ticket from ``email``'s web form and return that customer as an actor."""
    ticket = desk.tickets.open_from_web_form({"email": email, "name": name or email,
                                              "message": "Dobrý den", "subject": "Konvice"})
    assert ticket.customer_id is not None
    return Actor.customer(ticket.customer_id, name or email)


def add_participant(desk: Helpdesk, key: str, email: str) -> None:
    with desk.storage.unit_of_work() as uow:
        ticket = desk.tickets.get(key)
        loaded = uow.tickets.get(ticket.id)
        loaded.add_participant(email, at=desk.clock.now(), actor=EVA)
        uow.tickets.save(loaded)
        uow.commit()


def written(desk: Helpdesk) -> dict[str, str]:
    """What the in-memory database holds (but for sequence values)."""
    state = desk.storage._state  # type: ignore[attr-defined]
    return {field.name: repr(getattr(state, field.name)) for field in attrs.fields(type(state))
            if field.name not in {"lock", "claimed", "sequences"}}
