"""``helpdesk.sms``: inbound SMS and gateways' delivery reports."""

from __future__ import annotations

from datetime import datetime

from helpdesk_core.domain.access import Action
from helpdesk_core.domain.values import Actor
from helpdesk_core.facade.arguments import checked
from helpdesk_core.facade.guard import Guard
from helpdesk_core.services.sms import DeliveryOutcome, SmsOutcome, SmsService
from helpdesk_core.sms import DeliveryStatus

__all__ = ["SmsSection"]


@checked
class SmsSection:
    """Called by the SMS gateway's callbacks: without ``actor``, the host itself."""

    def __init__(self, *, guard: Guard, service: SmsService) -> None:
        self._guard = guard
        self._service = service

    def receive(self, *, from_number: str, to_number: str, text: str, at: datetime,
                provider_id: str, region: str = "CZ", actor: Actor | None = None) -> SmsOutcome:
        """An inbound SMS: an article on the sender's newest active ticket, or a new ticket."""
        self._guard.check(actor, Action.RECEIVE_INBOUND)
        return self._service.receive(from_number=from_number, to_number=to_number, text=text,
                                     at=at, provider_id=provider_id, region=region)

    def delivery_report(self, *, provider_id: str, status: DeliveryStatus | str,
                        at: datetime, detail: str = "", reference: str | None = None,
                        recipient: str | None = None,
                        actor: Actor | None = None) -> DeliveryOutcome:
        """A gateway's delivery report: outbox results, and a note on the ticket when final."""
        self._guard.check(actor, Action.RECEIVE_INBOUND)
        return self._service.delivery_report(provider_id=provider_id, status=status, at=at,
                                             detail=detail, reference=reference,
                                             recipient=recipient)
