"""``helpdesk.calls``: screen pops and the calls recorded on tickets."""

from __future__ import annotations

from helpdesk_core.domain.access import Action
from helpdesk_core.domain.values import Actor
from helpdesk_core.errors import TicketNotFound
from helpdesk_core.facade.arguments import checked
from helpdesk_core.facade.guard import Guard
from helpdesk_core.ports.messaging import CallEvent
from helpdesk_core.services.calls import CallRecord, Calls, ScreenPop
from helpdesk_core.telephony import Call

__all__ = ["CallsSection"]


@checked
class CallsSection:
    def __init__(self, *, guard: Guard, calls: Calls) -> None:
        self._guard = guard
        self._calls = calls

    def screen_pop(self, event: CallEvent, *, actor: Actor | None = None) -> ScreenPop:
        """What the agent sees when the phone rings: caller, organisation, open tickets,
        recent orders."""
        self._guard.check(actor, Action.LOOK_UP_CALLER)
        return self._calls.screen_pop(event, visible_to=self._guard.visibility(actor))

    def record(self, *, call: Call, agent: Actor, summary: str, ticket_key: str | None = None,
               subject: str | None = None) -> CallRecord:
        """What was agreed on the phone, as a call article (on the ticket, or a new one)."""
        self._guard.check(agent, Action.RECORD_CALL, ticket_key)
        return self._calls.record(call=call, agent=agent, summary=summary,
                                  ticket_key=ticket_key, subject=subject)

    def record_missed(self, call: Call, *, callback_ticket: bool = True,
                      ticket_key: str | None = None,
                      actor: Actor | None = None) -> CallRecord | None:
        """A call that did not connect; a known customer's can raise a callback ticket."""
        self._guard.check(actor, Action.RECEIVE_INBOUND)
        return self._calls.record_missed(call, callback_ticket=callback_ticket,
                                         ticket_key=ticket_key)

    def find_recorded(self, provider_call_id: str, *,
                      actor: Actor | None = None) -> CallRecord | None:
        """Where the call was recorded (its ticket and article), or None — also for an
        agent limited to their teams when the ticket is not one they see."""
        self._guard.check(actor, Action.READ_INTERNAL)
        found = self._calls.find_recorded(provider_call_id)
        if found is not None and self._guard.visibility(actor) is not None:
            try:
                self._guard.check(actor, Action.READ_INTERNAL, found.ticket_id)
            except TicketNotFound:
                return None
        return found
