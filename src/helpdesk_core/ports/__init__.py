"""The interfaces the core needs from the outside world (typing.Protocol)."""

from helpdesk_core.ports.blobs import BlobStore
from helpdesk_core.ports.clock import Clock
from helpdesk_core.ports.directory import Directory
from helpdesk_core.ports.messaging import (
    CallEvent,
    InboundMail,
    JobQueue,
    MailInbox,
    MailRef,
    MailSender,
    OutgoingAttachment,
    OutgoingMail,
    SmsSender,
    Telephony,
)
from helpdesk_core.ports.ratelimit import RateLimiter
from helpdesk_core.ports.storage import (
    AutomaticSenders,
    ContactRepository,
    ErasureStore,
    IncidentTypeRepository,
    KnowledgeBase,
    MailStaging,
    MessageIndex,
    OrganisationRepository,
    OutboxRepository,
    PortalLinkRepository,
    SequenceAllocator,
    SlaRepository,
    Storage,
    TicketRepository,
    UnitOfWork,
)
from helpdesk_core.ports.templates import TemplateStore

__all__ = [
    "AutomaticSenders",
    "BlobStore",
    "CallEvent",
    "Clock",
    "ContactRepository",
    "Directory",
    "ErasureStore",
    "InboundMail",
    "IncidentTypeRepository",
    "JobQueue",
    "KnowledgeBase",
    "MailInbox",
    "MailRef",
    "MailSender",
    "MailStaging",
    "MessageIndex",
    "OrganisationRepository",
    "OutboxRepository",
    "OutgoingAttachment",
    "OutgoingMail",
    "PortalLinkRepository",
    "RateLimiter",
    "SequenceAllocator",
    "SlaRepository",
    "SmsSender",
    "Storage",
    "Telephony",
    "TemplateStore",
    "TicketRepository",
    "UnitOfWork",
]
