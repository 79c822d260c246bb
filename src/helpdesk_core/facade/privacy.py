"""``helpdesk.privacy``: a contact's personal data — export it, erase it (GDPR)."""

from __future__ import annotations

from helpdesk_core.domain.access import Action
from helpdesk_core.domain.privacy import ErasureReport, PersonalDataExport
from helpdesk_core.domain.values import Actor
from helpdesk_core.facade.arguments import checked
from helpdesk_core.facade.guard import Guard
from helpdesk_core.services.privacy import Privacy

__all__ = ["PrivacySection"]


@checked
class PrivacySection:
    def __init__(self, *, guard: Guard, privacy: Privacy) -> None:
        self._guard = guard
        self._privacy = privacy

    def export(self, contact_id: str, *, actor: Actor) -> PersonalDataExport:
        """Everything stored about one contact of the built-in directory: the contact, their
        tickets, articles, attachments, history, outbox messages, Message-ID records,
        automatic-sender records and staged mails. ``to_json()`` and ``write_zip()`` give it
        to them."""
        self._guard.check(actor, Action.EXPORT_PERSONAL_DATA)
        return self._privacy.export(contact_id)

    def erase(self, contact_id: str, *, actor: Actor, reason: str) -> ErasureReport:
        """Replace the contact's name, e-mail addresses and phone numbers everywhere they are
        stored, delete the bytes of their attachments and mails, and record on each of their
        tickets who erased their data and why. The tickets and their statistics stay.
        Running it again changes nothing."""
        self._guard.check(actor, Action.ERASE_PERSONAL_DATA)
        return self._privacy.erase(contact_id, actor=actor, reason=reason)
