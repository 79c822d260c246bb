"""The pure domain model: values, rules and the Ticket aggregate. No I/O happens here."""

from helpdesk_core.domain.article import Article, AttachmentMeta, Direction, safe_filename
from helpdesk_core.domain.contacts import (
    Contact,
    Order,
    Organisation,
    Product,
    normalize_email,
    normalize_phone,
)
from helpdesk_core.domain.history import EventKind, TicketEvent
from helpdesk_core.domain.incident_types import IncidentType, IncidentTypeTree
from helpdesk_core.domain.intake import StaffVia, WebFormSubmission
from helpdesk_core.domain.numbering import TicketNumberFormat
from helpdesk_core.domain.queue import FAR_FUTURE, Page, QueueSort, TicketQuery, Visibility
from helpdesk_core.domain.status import Status, StatusCategory, Workflow
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import (
    Actor,
    ActorKind,
    Channel,
    EntityKind,
    EntityRef,
    Priority,
)

__all__ = [
    "FAR_FUTURE",
    "Actor",
    "ActorKind",
    "Article",
    "AttachmentMeta",
    "Channel",
    "Contact",
    "Direction",
    "EntityKind",
    "EntityRef",
    "EventKind",
    "IncidentType",
    "IncidentTypeTree",
    "Order",
    "Organisation",
    "Page",
    "Priority",
    "Product",
    "QueueSort",
    "StaffVia",
    "Status",
    "StatusCategory",
    "Ticket",
    "TicketEvent",
    "TicketNumberFormat",
    "TicketQuery",
    "Visibility",
    "WebFormSubmission",
    "Workflow",
    "normalize_email",
    "normalize_phone",
    "safe_filename",
]
