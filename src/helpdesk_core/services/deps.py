"""What every use case needs, handed in explicitly by ``bootstrap()``."""

from __future__ import annotations

import attrs

from helpdesk_core.domain.extensions import KeywordRule
from helpdesk_core.domain.numbering import TicketNumberFormat
from helpdesk_core.domain.status import Workflow
from helpdesk_core.inmemory.staff import InMemoryStaffDirectory
from helpdesk_core.mail.policy import MailChannel, MailPolicy
from helpdesk_core.ports import BlobStore, Clock, Directory, Storage, TemplateStore
from helpdesk_core.ports.staff import StaffDirectory
from helpdesk_core.services.hooks import HookCaller
from helpdesk_core.sla.config import SlaConfig
from helpdesk_core.templates.sandbox import TemplateLimits

__all__ = ["Deps"]


@attrs.frozen
class Deps:
    storage: Storage
    directory: Directory
    blob_store: BlobStore
    clock: Clock
    hooks: HookCaller
    workflow: Workflow
    ticket_number: TicketNumberFormat
    default_language: str = "en"
    classification_rules: tuple[KeywordRule, ...] = ()
    mail_policy: MailPolicy = attrs.field(factory=MailPolicy)
    mail_channels: tuple[MailChannel, ...] = ()
    templates: TemplateStore = attrs.field(kw_only=True)
    template_limits: TemplateLimits = attrs.field(factory=TemplateLimits)
    template_timezone: str = "UTC"
    portal_url: str | None = None
    staff: StaffDirectory = attrs.field(factory=InMemoryStaffDirectory)
    sla: SlaConfig | None = None

    def mail_channel(self, name: str) -> MailChannel:
        """The configured channel called ``name``, or a bare one with no defaults."""
        return next((c for c in self.mail_channels if c.name == name), MailChannel(name=name))
