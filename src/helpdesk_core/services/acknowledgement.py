"""The acknowledgement a customer's new ticket gets: the ``acknowledgement`` template,
resolved for the ticket's incident type and language, rendered in the template sandbox and
queued in the outbox in the ticket's own transaction.

An in-transaction handler on ``created``: a ticket the customer opened by mail or through the
web form is acknowledged once, with its number — unless the deployment turned
acknowledgements off, a loop rule suppresses it (the mail intake notes that on the ticket
with an :class:`AcknowledgementRequest`), the sender's mail was recognised as automatic
within ``machine_window`` (:func:`machine_quiet`), or the sender already got ``ack_limit`` of
them within ``ack_window``. What happened is noted back as an :class:`AcknowledgementResult`.

The built-in templates (cs, de, sk, en) come first, then ``MailPolicy.ack_templates``, then
the templates saved in the template store; the later wins for the same language and incident
type. :func:`render_acknowledgement` works without a running helpdesk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import attrs

from helpdesk_core.domain.contacts import Contact, Order
from helpdesk_core.domain.history import EventKind
from helpdesk_core.domain.outgoing import Automation, Draft
from helpdesk_core.domain.templates import (
    MessageTemplate,
    TemplateKind,
    language_chain,
    resolve_template,
)
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor, ActorKind, Channel, EntityKind
from helpdesk_core.errors import ConfigurationError, TemplateError
from helpdesk_core.mail.policy import MailChannel, MailPolicy
from helpdesk_core.ports import Clock
from helpdesk_core.services.messagebus import Raised
from helpdesk_core.services.templates import Templates
from helpdesk_core.services.unit_of_work import Unit
from helpdesk_core.templates import (
    DEFAULT_TEMPLATES,
    TemplateLimits,
    render_message,
    template_context,
)

__all__ = [
    "ACKNOWLEDGER",
    "DEFAULT_ACK_TEMPLATES",
    "AcknowledgementRequest",
    "AcknowledgementResult",
    "Acknowledger",
    "machine_quiet",
    "render_acknowledgement",
]

ACKNOWLEDGER = Actor.system("acknowledgement")
_KEY = TemplateKind.ACKNOWLEDGEMENT.value
_BUILT_IN = tuple(t for t in DEFAULT_TEMPLATES if t.key == _KEY)

# language → (subject, text): the built-in acknowledgement, in MailPolicy.ack_templates' form.
DEFAULT_ACK_TEMPLATES: Mapping[str, tuple[str, str]] = {
    t.language: (t.subject, t.body_text) for t in _BUILT_IN
}


@attrs.frozen
class AcknowledgementRequest:
    """What the mail intake knows about the mail that opened the ticket: who to answer,
    from which address, the thread, and why not to answer (a loop rule), if so."""

    recipient: str | None
    sender: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    suppressed: str | None = None
    customer: Contact | None = None


@attrs.frozen
class AcknowledgementResult:
    """The queued outbox message's id, or the reason none was queued."""

    outbox_id: str | None
    reason: str | None = None


def _policy_templates(templates: Mapping[str, tuple[str, str]]) -> list[MessageTemplate]:
    return [MessageTemplate(key=_KEY, kind=TemplateKind.ACKNOWLEDGEMENT, language=language,
                            name="Acknowledgement (mail policy)", subject=subject,
                            body_text=text)
            for language, (subject, text) in templates.items()]


class Acknowledger:
    """The ``acknowledgement`` in-transaction handler."""

    def __init__(self, *, templates: Templates, policy: MailPolicy,
                 channels: tuple[MailChannel, ...], clock: Clock) -> None:
        self.templates = templates
        self.policy = policy
        self.channels = channels
        self.clock = clock
        self.headers = policy.headers()

    def __call__(self, raised: Raised, unit: Unit) -> None:
        created = raised.of_kind(EventKind.CREATED)
        ticket = raised.ticket
        if not created or not raised.new or created[0].actor.kind is not ActorKind.CUSTOMER:
            return
        request = unit.noted(ticket, AcknowledgementRequest)
        if request is None and ticket.channel is Channel.WEB_FORM:
            customer = self.templates.customer(ticket)
            request = AcknowledgementRequest(
                recipient=customer.emails[0] if customer and customer.emails else None,
                customer=customer)
        if request is None:
            return
        unit.note(ticket, self._acknowledge(unit, ticket, request))

    def _acknowledge(self, unit: Unit, ticket: Ticket,
                     request: AcknowledgementRequest) -> AcknowledgementResult:
        policy = self.policy
        if not policy.acknowledge:
            return AcknowledgementResult(None, "acknowledgements are off")
        if request.suppressed:
            return AcknowledgementResult(None, request.suppressed)
        if request.recipient is None:
            return AcknowledgementResult(None, "no sender address")
        now = self.clock.now()
        quiet = machine_quiet(unit, request.recipient, policy=policy, now=now)
        if quiet is not None:
            return AcknowledgementResult(None, quiet)
        if unit.outbox.count_since(recipient=request.recipient, kind="acknowledgement",
                                   since=now - policy.ack_window) >= policy.ack_limit:
            return AcknowledgementResult(None, "rate-limit")
        customer = request.customer or self.templates.customer(ticket)
        try:
            rendered = self.templates.render(
                ticket, _KEY, customer=customer, unit=unit,
                extra=_policy_templates(policy.ack_templates))
        except TemplateError as exc:
            raise ConfigurationError(f"acknowledgement template: {exc}") from exc
        own = policy.own(self.channels)
        sender = request.sender or next(iter(sorted(own)),
                                        f"helpdesk@{policy.message_id_domain}")
        sent = ticket.send(Draft(
            kind="acknowledgement", channel=Channel.EMAIL, sender=sender,
            recipients=(request.recipient,), subject=rendered.subject, text=rendered.text,
            automation=Automation.REPLIED, in_reply_to=request.in_reply_to,
            references=request.references), author=ACKNOWLEDGER, at=now, policy=self.headers)
        unit.outbox.add(sent.message)
        if sent.record is not None:
            unit.messages.add(sent.record)
        return AcknowledgementResult(sent.message.id)


def machine_quiet(unit: Unit, address: str, *, policy: MailPolicy,
                  now: datetime) -> str | None:
    """Why no automatic message may go to ``address`` at ``now`` — mail from it was
    recognised as automatic less than ``policy.machine_window`` ago — or None."""
    known = unit.automatic_senders.get(address)
    if known is None or not known.quiet(now=now, window=policy.machine_window):
        return None
    return f"automatic sender: {known.reason}"


def render_acknowledgement(
    ticket: Ticket,
    *,
    customer_name: str,
    language: str | None,
    templates: Mapping[str, tuple[str, str]] | None = None,
    stored: Iterable[MessageTemplate] = (),
    default_language: str | None = None,
    limits: TemplateLimits | None = None,
) -> tuple[str, str]:
    """Subject and text in the ticket's language (else the default, else English), without
    a running helpdesk: the built-in templates, ``templates`` and ``stored`` only."""
    candidates = [*_BUILT_IN, *_policy_templates(templates or {}), *stored]
    template = resolve_template(candidates, key=_KEY, incident_type=ticket.incident_type,
                                languages=language_chain(language, default_language))
    assert template is not None  # English is always in the chain and built in
    orders = [Order(ref=ref, number=ref.id)
              for ref in sorted(ticket.links) if ref.kind is EntityKind.ORDER]
    context = template_context(ticket=ticket, language=template.language,
                               now=ticket.updated_at, orders=orders)
    context["customer"]["name"] = customer_name
    try:
        rendered = render_message(template, context, limits=limits)
    except TemplateError as exc:
        raise ConfigurationError(f"acknowledgement template ({template.language}): "
                                 f"{exc}") from exc
    return rendered.subject, rendered.text
