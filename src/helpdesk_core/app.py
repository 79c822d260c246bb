"""The Helpdesk facade: what a host holds after ``bootstrap()``.

It only forwards to the use cases in :mod:`helpdesk_core.services`; no rules live here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk_core.domain.article import Article, AttachmentMeta, Direction
from helpdesk_core.domain.history import TicketEvent
from helpdesk_core.domain.incident_types import IncidentType
from helpdesk_core.domain.intake import StaffVia
from helpdesk_core.domain.mailbox import StagedMail, StagedState
from helpdesk_core.domain.outbox import OutboxMessage
from helpdesk_core.domain.queue import Page, TicketQuery
from helpdesk_core.domain.templates import MessageTemplate
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor, Channel, CustomValue, EntityRef, Priority
from helpdesk_core.ports.messaging import CallEvent, MailInbox, MailSender, SmsSender
from helpdesk_core.services import (
    assignment,
    calls,
    configuration,
    intake,
    mail_fetch,
    mail_ingest,
    replies,
    resolution,
    tickets,
)
from helpdesk_core.services import outbox as dispatcher
from helpdesk_core.services import sla as sla_service
from helpdesk_core.services import sms as sms_service
from helpdesk_core.services import templates as message_templates
from helpdesk_core.services.calls import CallRecord, ScreenPop
from helpdesk_core.services.deps import Deps
from helpdesk_core.services.mail_fetch import FetchReport
from helpdesk_core.services.mail_ingest import MailOutcome
from helpdesk_core.services.outbox import DispatchPolicy, DispatchReport
from helpdesk_core.services.sla import SweepReport
from helpdesk_core.services.sms import DeliveryOutcome, SmsOutcome
from helpdesk_core.sla import SlaClocks
from helpdesk_core.sms import DeliveryStatus
from helpdesk_core.telephony import Call
from helpdesk_core.templates import RenderedMessage

if TYPE_CHECKING:
    import pluggy

    from helpdesk_core.plugins.registry import Registry
    from helpdesk_core.settings import Settings

__all__ = ["Helpdesk"]


class Helpdesk:
    def __init__(self, *, deps: Deps, settings: Settings, registry: Registry,
                 plugin_manager: pluggy.PluginManager) -> None:
        self.deps = deps
        self.settings = settings
        self.registry = registry
        self.plugin_manager = plugin_manager

    # -- intake ---------------------------------------------------------------------------

    def open_from_web_form(self, fields: Mapping[str, object]) -> Ticket:
        """Fields: email, name, message, optional subject, order_number, language."""
        return intake.open_from_web_form(self.deps, fields)

    def open_by_staff(self, *, agent: Actor, via: StaffVia, subject: str, message: str,
                      **details: Any) -> Ticket:
        """See :func:`helpdesk_core.services.intake.open_by_staff` for ``details``."""
        return intake.open_by_staff(self.deps, agent=agent, via=via, subject=subject,
                                    message=message, **details)

    def open_from_order(self, *, agent: Actor, order_number: str, subject: str, message: str,
                        **details: Any) -> Ticket:
        return intake.open_from_order(self.deps, agent=agent, order_number=order_number,
                                      subject=subject, message=message, **details)

    # -- reading --------------------------------------------------------------------------

    def ticket(self, key: str) -> Ticket:
        """By id or number; raises TicketNotFound."""
        return tickets.get_ticket(self.deps, key)

    def history(self, key: str) -> list[TicketEvent]:
        return tickets.history(self.deps, key)

    def articles(self, key: str, *, public_only: bool = False) -> list[Article]:
        return tickets.articles(self.deps, key, public_only=public_only)

    def queue(self, query: TicketQuery | None = None) -> Page[Ticket]:
        """Defaults to the active queue sorted by priority."""
        return tickets.queue(self.deps, query or TicketQuery.active())

    # -- changing -------------------------------------------------------------------------

    def transition(self, key: str, to: str, *, actor: Actor,
                   expected_version: int | None = None) -> Ticket:
        return resolution.transition(self.deps, key, to, actor=actor,
                                  expected_version=expected_version)

    def set_priority(self, key: str, priority: Priority, *, actor: Actor,
                     expected_version: int | None = None) -> Ticket:
        return tickets.set_priority(self.deps, key, priority, actor=actor,
                                    expected_version=expected_version)

    def assign(self, key: str, assignee: str | None, *, actor: Actor, team: str | None = None,
               expected_version: int | None = None) -> Ticket:
        return tickets.assign(self.deps, key, assignee, actor=actor, team=team,
                              expected_version=expected_version)

    def set_due(self, key: str, due_at: datetime | None, *, actor: Actor,
                reason: str | None = None) -> Ticket:
        """Set or clear the due date the queue sorts by (SLA policies will set it too)."""
        return tickets.set_due(self.deps, key, due_at, actor=actor, reason=reason)

    def tag(self, key: str, *tags: str, actor: Actor) -> Ticket:
        return tickets.tag(self.deps, key, *tags, actor=actor)

    def untag(self, key: str, *tags: str, actor: Actor) -> Ticket:
        return tickets.untag(self.deps, key, *tags, actor=actor)

    def set_field(self, key: str, name: str, value: CustomValue, *, actor: Actor) -> Ticket:
        return tickets.set_field(self.deps, key, name, value, actor=actor)

    def link(self, key: str, ref: EntityRef, *, actor: Actor) -> Ticket:
        return tickets.link(self.deps, key, ref, actor=actor)

    def add_note(self, key: str, text: str, *, agent: Actor,
                 attachments: Iterable[AttachmentMeta] = ()) -> Article:
        """An internal note: never shown to the customer."""
        return tickets.add_article(self.deps, key, direction=Direction.INTERNAL,
                                   channel=Channel.STAFF, author=agent, body_text=text,
                                   public=False, attachments=tuple(attachments))

    def add_article(self, key: str, *, direction: Direction, channel: Channel, author: Actor,
                    body_text: str, **details: Any) -> Article:
        return tickets.add_article(self.deps, key, direction=direction, channel=channel,
                                   author=author, body_text=body_text, **details)

    def add_attachment(self, *, data: bytes, filename: str,
                       content_type: str = "application/octet-stream") -> AttachmentMeta:
        return tickets.add_attachment(self.deps, data=data, filename=filename,
                                      content_type=content_type)

    def start_followup(self, key: str, action: str, *, actor: Actor,
                       data: Mapping[str, object] | None = None) -> EntityRef:
        return tickets.start_followup(self.deps, key, action, actor=actor, data=data)

    # -- mail -----------------------------------------------------------------------------

    def receive_mail(self, raw: bytes, *, channel: str = "default") -> MailOutcome:
        """Handle one raw inbound mail (bytes as received) in one transaction.

        ``channel`` names a configured :class:`MailChannel` (its defaults apply to new
        tickets). The outcome says what became of the mail: see ``Outcome``.
        """
        return mail_ingest.receive_mail(self.deps, raw, channel=self.deps.mail_channel(channel))

    def fetch_mail(self, inbox: MailInbox, *, limit: int = 100,
                   max_bytes: int | None = None) -> FetchReport:
        """One crash-safe run over a mailbox: stage, handle, then acknowledge on the server.

        ``max_bytes`` (default: the policy's parser limit) refuses larger mail before it is
        downloaded; an inbox that raises MessageTooLarge is obeyed the same way.
        """
        return mail_fetch.fetch_mailbox(self.deps, inbox, limit=limit, max_bytes=max_bytes)

    def staged_mail(self, *, account: str | None = None, state: StagedState | None = None,
                    limit: int = 100) -> list[StagedMail]:
        """Staged mails, e.g. ``state=StagedState.QUARANTINED`` with their reasons."""
        with self.deps.storage.unit_of_work(read_only=True) as uow:
            return uow.staged_mail.list(account=account, state=state, limit=limit)

    def reprocess_mail(self, *, account: str | None = None,
                       keys: list[str] | None = None) -> list[tuple[StagedMail,
                                                                    MailOutcome | None]]:
        """Run quarantined mail again."""
        return mail_fetch.reprocess(self.deps, account=account, keys=keys)

    def outbox(self, key: str) -> list[OutboxMessage]:
        """The ticket's outgoing messages (acknowledgements, replies), oldest first."""
        ticket_id = self.ticket(key).id
        with self.deps.storage.unit_of_work(read_only=True) as uow:
            return uow.outbox.for_ticket(ticket_id)

    # -- outgoing -------------------------------------------------------------------------

    def reply(self, key: str, text: str, *, agent: Actor, channel: Channel = Channel.EMAIL,
              **details: Any) -> tuple[Article, OutboxMessage]:
        """Answer the customer: the article and its outbox message commit together.

        ``details``: ``html``, ``attachments``, ``to``, ``cc``, ``subject``,
        ``mail_channel``. Nothing is sent until :meth:`dispatch_outbox` runs.
        """
        return replies.reply(self.deps, key, agent=agent, text=text, channel=channel,
                             **details)

    def dispatch_outbox(self, *, mail_sender: MailSender | None = None,
                        sms_sender: SmsSender | None = None,
                        policy: DispatchPolicy | None = None) -> DispatchReport:
        """Send what is due through the given senders and record each result."""
        return dispatcher.dispatch(self.deps, mail_sender=mail_sender, sms_sender=sms_sender,
                               policy=policy)

    def resend(self, outbox_id: str, *, actor: Actor) -> OutboxMessage:
        """Queue a failed or uncertain message again, with the same Message-ID."""
        return dispatcher.resend(self.deps, outbox_id, actor=actor)

    # -- SLA ------------------------------------------------------------------------------

    def sla_clocks(self, key: str, *, now: datetime | None = None) -> SlaClocks | None:
        """The ticket's SLA clocks now — state, elapsed, remaining and due per target — with
        every deadline change explained; None when no SLA applies."""
        return sla_service.clocks(self.deps, key, now=now)

    def sweep_sla(self, *, now: datetime | None = None, limit: int = 1000) -> SweepReport:
        """Fire the escalation levels that are due, each once, and queue their notices."""
        return sla_service.sweep(self.deps, now=now, limit=limit)

    def recompute_sla(self, keys: list[str] | None = None) -> int:
        """Rebuild deadlines after a policy or calendar change (default: every active
        ticket); each moved deadline is recorded with its reason."""
        return sla_service.recompute(self.deps, keys=keys)

    # -- telephony ------------------------------------------------------------------------

    def screen_pop(self, event: CallEvent) -> ScreenPop:
        """What the agent sees when the phone rings: caller, organisation, open tickets,
        recent orders."""
        return calls.screen_pop(self.deps, event)

    def record_call(self, *, call: Call, agent: Actor, summary: str,
                    ticket_key: str | None = None, subject: str | None = None) -> CallRecord:
        """What was agreed on the phone, as a call article (on the ticket, or a new one)."""
        return calls.record_call(self.deps, call=call, agent=agent, summary=summary,
                                 ticket_key=ticket_key, subject=subject)

    def record_missed_call(self, call: Call, *, callback_ticket: bool = True,
                           ticket_key: str | None = None) -> CallRecord | None:
        """A call that did not connect; a known customer's can raise a callback ticket."""
        return calls.record_missed_call(self.deps, call, callback_ticket=callback_ticket,
                                        ticket_key=ticket_key)

    def find_recorded_call(self, provider_call_id: str) -> CallRecord | None:
        return calls.find_recorded(self.deps, provider_call_id)

    # -- SMS --------------------------------------------------------------------------------

    def receive_sms(self, *, from_number: str, to_number: str, text: str, at: datetime,
                    provider_id: str, region: str = "CZ") -> SmsOutcome:
        """An inbound SMS: an article on the sender's newest active ticket, or a new ticket."""
        return sms_service.receive_sms(self.deps, from_number=from_number, to_number=to_number,
                                       text=text, at=at, provider_id=provider_id, region=region)

    def sms_delivery_report(self, *, provider_id: str, status: DeliveryStatus | str,
                            at: datetime, detail: str = "", reference: str | None = None,
                            recipient: str | None = None) -> DeliveryOutcome:
        """A gateway's delivery report: outbox results, and a note on the ticket when final."""
        return sms_service.record_delivery_report(
            self.deps, provider_id=provider_id, status=status, at=at, detail=detail,
            reference=reference, recipient=recipient)

    # -- templates ------------------------------------------------------------------------

    def save_template(self, template: MessageTemplate, *,
                      actor: Actor | None = None) -> MessageTemplate:
        """Check and store a template (replacing the one with its key, language and incident
        type); TemplateError lists every problem with its line. Returns it as stored."""
        return message_templates.save_template(self.deps, template, actor=actor)

    def templates(self, *, key: str | None = None,
                  include_defaults: bool = False) -> list[MessageTemplate]:
        """Stored templates; ``include_defaults`` adds the built-in ones not overridden."""
        return message_templates.list_templates(self.deps, key=key,
                                                include_defaults=include_defaults)

    def delete_template(self, key: str, language: str,
                        incident_type: str | None = None) -> bool:
        return message_templates.delete_template(self.deps, key, language, incident_type)

    def preview(self, key: str, template: MessageTemplate | str, *,
                language: str | None = None, agent: Actor | None = None) -> RenderedMessage:
        """Render a template key, or an unsaved template, against ticket ``key``; sends and
        stores nothing."""
        return message_templates.preview(self.deps, key, template, language=language,
                                         agent=agent)

    def render_template(self, key: str, template: str, *, language: str | None = None,
                        agent: Actor | None = None) -> RenderedMessage:
        """The template ``template`` resolved for ticket ``key`` (incident type, language)
        and rendered, ready to be sent by the caller."""
        return message_templates.render_for_ticket(self.deps, key, template,
                                                   language=language, agent=agent)

    # -- assignment -----------------------------------------------------------------------

    def reassign(self, key: str, assignee: str | None, *, actor: Actor, reason: str = "",
                 team: str | None = None, expected_version: int | None = None) -> Ticket:
        """Manual reassignment, recorded with the reason and the previous assignee."""
        return assignment.reassign(self.deps, key, assignee, actor=actor, reason=reason,
                                   team=team, expected_version=expected_version)

    def assignment_trace(self, key: str) -> list[dict[str, Any]]:
        """Every assignment of the ticket, oldest first: who, why, and the chain's trace."""
        return assignment.assignment_trace(self.deps, key)

    # -- configuration --------------------------------------------------------------------

    def define_incident_type(self, incident_type: IncidentType) -> None:
        """Add or replace a node of the incident-type tree; define parents first."""
        configuration.define_incident_type(self.deps, incident_type)

    def incident_types(self) -> list[IncidentType]:
        return configuration.incident_types(self.deps)

    def close(self) -> None:
        self.deps.storage.close()

    def __enter__(self) -> Helpdesk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
