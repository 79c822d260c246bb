"""The resolution message, prepared automatically when a ticket is resolved.

An in-transaction handler on ``status_changed``: when a ticket enters the *resolved*
category — by an agent, an API call or any later capability — the ``resolution`` template
(for its incident type and language) is rendered and queued to the customer in the same
transaction, archived on the ticket as an outbound article. ``MailPolicy.resolution_message``
turns it off (the handler is then not registered). A customer without an e-mail address gets
nothing, and the move still happens; so does an address whose mail was recognised as
automatic within ``MailPolicy.machine_window`` (an autoresponder is not told twice).
"""

from __future__ import annotations

from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.outgoing import Automation
from helpdesk_core.domain.status import StatusCategory
from helpdesk_core.domain.values import Actor, Channel
from helpdesk_core.errors import NotFound
from helpdesk_core.services.acknowledgement import machine_quiet
from helpdesk_core.services.messagebus import Raised
from helpdesk_core.services.replies import Replies
from helpdesk_core.services.templates import Templates
from helpdesk_core.services.unit_of_work import Unit

__all__ = ["RESOLVER", "ResolutionMessage"]

RESOLVER = Actor.system("resolution")


class ResolutionMessage:
    """The ``resolution_message`` in-transaction handler."""

    def __init__(self, *, templates: Templates, replies: Replies) -> None:
        self.templates = templates
        self.replies = replies

    def __call__(self, raised: Raised, unit: Unit) -> None:
        resolved = [e for e in raised.of_kind(EventKind.STATUS_CHANGED)
                    if e.data.get("to_category") == StatusCategory.RESOLVED.value]
        if not resolved:
            return
        ticket = raised.ticket
        if ticket.status_category is not StatusCategory.RESOLVED:
            return  # resolved and moved on within the same change
        customer = self.templates.customer(ticket)
        if customer is None or not customer.emails:
            return
        if machine_quiet(unit, customer.emails[0], policy=self.replies.policy,
                         now=self.replies.clock.now()) is not None:
            return
        try:
            rendered = self.templates.render(ticket, "resolution", customer=customer,
                                             unit=unit)
        except NotFound:
            return
        draft = self.replies.draft(unit, ticket, author=RESOLVER, text=rendered.text,
                                   html=rendered.html, subject=rendered.subject or None,
                                   channel=Channel.EMAIL, kind="resolution",
                                   automation=Automation.GENERATED)
        self.replies.send(unit, ticket, draft, author=RESOLVER)
