"""The Helpdesk facade: what a host holds after ``bootstrap()``.

It is a set of sections, one per context, each built with only what it needs::

    helpdesk.tickets        open, read and work on tickets; answer customers
    helpdesk.staff          assignment, reassignment, the assignment traces
    helpdesk.mail           inbound mail: one mail, a mailbox run, staged mail
    helpdesk.outbox         what is queued to go out; dispatching; resending
    helpdesk.sms            inbound SMS and delivery reports
    helpdesk.calls          screen pops and recorded calls
    helpdesk.sla            clocks, the escalation sweep, recomputing deadlines
    helpdesk.templates      message templates
    helpdesk.configuration  incident types
    helpdesk.kb             the knowledge base: articles, their versions, suggestions
    helpdesk.portal         what a customer sees and does; signed ticket links
    helpdesk.privacy        a contact's personal data: export, erasure

The adapters chosen at bootstrap stay reachable (``storage``, ``directory``, ``clock`` …) for
host code that needs them; no rules live here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from helpdesk_core.facade.calls import CallsSection
from helpdesk_core.facade.configuration import ConfigurationSection
from helpdesk_core.facade.knowledge import KnowledgeSection
from helpdesk_core.facade.mail import MailSection
from helpdesk_core.facade.outbox import OutboxSection
from helpdesk_core.facade.portal import PortalSection
from helpdesk_core.facade.privacy import PrivacySection
from helpdesk_core.facade.sla import SlaSection
from helpdesk_core.facade.sms import SmsSection
from helpdesk_core.facade.staff import StaffSection
from helpdesk_core.facade.templates import TemplatesSection
from helpdesk_core.facade.tickets import TicketsSection
from helpdesk_core.ports import BlobStore, Clock, Directory, RateLimiter, Storage, TemplateStore
from helpdesk_core.services.hooks import HookCaller
from helpdesk_core.services.messagebus import MessageBus

if TYPE_CHECKING:
    import pluggy

    from helpdesk_core.plugins.registry import Registry
    from helpdesk_core.settings import Settings

__all__ = ["Helpdesk"]


@attrs.define(kw_only=True, eq=False)
class Helpdesk:
    tickets: TicketsSection
    staff: StaffSection
    mail: MailSection
    outbox: OutboxSection
    sms: SmsSection
    calls: CallsSection
    sla: SlaSection
    templates: TemplatesSection
    configuration: ConfigurationSection
    kb: KnowledgeSection
    portal: PortalSection
    privacy: PrivacySection
    # what bootstrap chose
    settings: Settings
    registry: Registry
    plugin_manager: pluggy.PluginManager
    bus: MessageBus
    storage: Storage
    blob_store: BlobStore
    directory: Directory
    template_store: TemplateStore
    clock: Clock
    hooks: HookCaller
    rate_limiter: RateLimiter

    def close(self) -> None:
        self.storage.close()

    def __enter__(self) -> Helpdesk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
