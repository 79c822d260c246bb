"""``helpdesk.sms``: inbound SMS and gateways' delivery reports (the actor is the gateway)."""

from __future__ import annotations

from datetime import datetime

from helpdesk_core.services.sms import DeliveryOutcome, SmsOutcome, SmsService
from helpdesk_core.sms import DeliveryStatus

__all__ = ["SmsSection"]


class SmsSection:
    def __init__(self, *, service: SmsService) -> None:
        self._service = service

    def receive(self, *, from_number: str, to_number: str, text: str, at: datetime,
                provider_id: str, region: str = "CZ") -> SmsOutcome:
        """An inbound SMS: an article on the sender's newest active ticket, or a new ticket."""
        return self._service.receive(from_number=from_number, to_number=to_number, text=text,
                                     at=at, provider_id=provider_id, region=region)

    def delivery_report(self, *, provider_id: str, status: DeliveryStatus | str,
                        at: datetime, detail: str = "", reference: str | None = None,
                        recipient: str | None = None) -> DeliveryOutcome:
        """A gateway's delivery report: outbox results, and a note on the ticket when final."""
        return self._service.delivery_report(provider_id=provider_id, status=status, at=at,
                                             detail=detail, reference=reference,
                                             recipient=recipient)
