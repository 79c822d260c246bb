"""``helpdesk.outbox``: what is queued to go out, sending it, and sending it again."""

from __future__ import annotations

from helpdesk_core.domain.access import Action
from helpdesk_core.domain.outbox import OutboxMessage
from helpdesk_core.domain.values import Actor
from helpdesk_core.facade.arguments import checked
from helpdesk_core.facade.guard import Guard
from helpdesk_core.ports.messaging import MailSender, SmsSender
from helpdesk_core.services.outbox import Dispatcher, DispatchPolicy, DispatchReport
from helpdesk_core.services.unit_of_work import Units

__all__ = ["OutboxSection"]


@checked
class OutboxSection:
    def __init__(self, *, guard: Guard, units: Units, dispatcher: Dispatcher) -> None:
        self._guard = guard
        self._units = units
        self._dispatcher = dispatcher

    def for_ticket(self, key: str, *, actor: Actor | None = None) -> list[OutboxMessage]:
        """The ticket's outgoing messages (acknowledgements, replies), oldest first."""
        self._guard.check(actor, Action.READ_INTERNAL, key)
        with self._units(read_only=True) as unit:
            return unit.outbox.for_ticket(unit.tickets.load(key).id)

    def dispatch(self, *, mail_sender: MailSender | None = None,
                 sms_sender: SmsSender | None = None, policy: DispatchPolicy | None = None,
                 actor: Actor | None = None) -> DispatchReport:
        """Send what is due through the given senders and record each result."""
        self._guard.check(actor, Action.RUN_BACKGROUND_WORK)
        return self._dispatcher.dispatch(mail_sender=mail_sender, sms_sender=sms_sender,
                                         policy=policy)

    def resend(self, outbox_id: str, *, actor: Actor) -> OutboxMessage:
        """Queue a failed or uncertain message again, with the same Message-ID."""
        self._guard.check(actor, Action.RESEND)
        return self._dispatcher.resend(outbox_id, actor=actor)
