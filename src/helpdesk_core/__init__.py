"""helpdesk_core: an embeddable customer helpdesk.

Start with :func:`bootstrap`::

    from helpdesk_core import Settings, bootstrap

    helpdesk = bootstrap(Settings(database_url="sqlite:///helpdesk.sqlite3"))
    ticket = helpdesk.tickets.open_from_web_form({"email": "jana@example.cz", "message": "..."})

Names are loaded on first use, so ``import helpdesk_core.domain`` pulls in no plugin, storage or
network code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from helpdesk_core.app import Helpdesk
    from helpdesk_core.bootstrap import bootstrap
    from helpdesk_core.domain import (
        Actor,
        Article,
        AttachmentMeta,
        Channel,
        Contact,
        Direction,
        EntityKind,
        EntityRef,
        EventKind,
        IncidentType,
        Order,
        Organisation,
        Page,
        Priority,
        Product,
        QueueSort,
        StaffVia,
        Status,
        StatusCategory,
        Ticket,
        TicketEvent,
        TicketNumberFormat,
        TicketQuery,
        Workflow,
    )
    from helpdesk_core.domain.duplicates import DuplicateSuggestion
    from helpdesk_core.domain.extensions import (
        AssignmentProposal,
        Classification,
        FollowUpRequest,
        KeywordRule,
    )
    from helpdesk_core.domain.knowledge import (
        KbArticle,
        KbChange,
        KbRevision,
        KbState,
        KbSuggestion,
        KbVisibility,
    )
    from helpdesk_core.domain.mailbox import StagedMail, StagedState
    from helpdesk_core.domain.merging import MergePolicy
    from helpdesk_core.domain.outbox import OutboxMessage, OutboxState
    from helpdesk_core.domain.relations import Relation, TicketLink
    from helpdesk_core.domain.staff import (
        Absence,
        Agent,
        HelpdeskStaff,
        Role,
        Team,
        TeamStrategy,
        WorkingHours,
    )
    from helpdesk_core.errors import (
        AcknowledgementRefused,
        AdapterError,
        ConcurrencyError,
        ConfigurationError,
        ContactNotFound,
        DeliveryError,
        DomainError,
        HelpdeskError,
        InvalidTransition,
        LinkRefused,
        MailboxError,
        MergeConflict,
        MessageTooLarge,
        NotFound,
        OrderNotFound,
        OrderNotOwned,
        PermissionDenied,
        PluginError,
        RateLimited,
        SchemaError,
        SmsTooLong,
        StorageError,
        StorageUnavailable,
        TemplateError,
        TemplateNotFound,
        TicketNotFound,
        UnknownStaff,
        ValidationError,
    )
    from helpdesk_core.mail.policy import MailChannel, MailPolicy
    from helpdesk_core.plugins import Registry, hookimpl

    # Re-exported explicitly (``X as X``): adapters import these from the package, never
    # from helpdesk_core.services.
    from helpdesk_core.services.calls import CallRecord as CallRecord
    from helpdesk_core.services.calls import ScreenPop as ScreenPop
    from helpdesk_core.services.directory import StorageDirectory as StorageDirectory
    from helpdesk_core.services.mail_fetch import FetchReport as FetchReport
    from helpdesk_core.services.mail_ingest import MailOutcome as MailOutcome
    from helpdesk_core.services.merging import Merged as Merged
    from helpdesk_core.services.merging import Split as Split
    from helpdesk_core.services.outbox import DispatchPolicy as DispatchPolicy
    from helpdesk_core.services.outbox import DispatchReport as DispatchReport
    from helpdesk_core.services.sla import SweepReport as SweepReport
    from helpdesk_core.services.sms import DeliveryOutcome as DeliveryOutcome
    from helpdesk_core.services.sms import SmsOutcome as SmsOutcome
    from helpdesk_core.settings import Settings
    from helpdesk_core.templates import RenderedMessage, TemplateLimits

_LOCATIONS = {
    "Helpdesk": "helpdesk_core.app",
    "bootstrap": "helpdesk_core.bootstrap",
    "Settings": "helpdesk_core.settings",
    "Registry": "helpdesk_core.plugins",
    "hookimpl": "helpdesk_core.plugins",
    "StorageDirectory": "helpdesk_core.services.directory",
    "CallRecord": "helpdesk_core.services.calls",
    "ScreenPop": "helpdesk_core.services.calls",
    "SweepReport": "helpdesk_core.services.sla",
    "SmsOutcome": "helpdesk_core.services.sms",
    "DeliveryOutcome": "helpdesk_core.services.sms",
    "MailChannel": "helpdesk_core.mail.policy",
    "MailPolicy": "helpdesk_core.mail.policy",
    "MergePolicy": "helpdesk_core.domain.merging",
    "Merged": "helpdesk_core.services.merging",
    "Split": "helpdesk_core.services.merging",
    "Relation": "helpdesk_core.domain.relations",
    "TicketLink": "helpdesk_core.domain.relations",
    "DuplicateSuggestion": "helpdesk_core.domain.duplicates",
    "MailOutcome": "helpdesk_core.services.mail_ingest",
    "FetchReport": "helpdesk_core.services.mail_fetch",
    "StagedMail": "helpdesk_core.domain.mailbox",
    "StagedState": "helpdesk_core.domain.mailbox",
    "OutboxMessage": "helpdesk_core.domain.outbox",
    "MessageTemplate": "helpdesk_core.domain.templates",
    "TemplateKind": "helpdesk_core.domain.templates",
    "RenderedMessage": "helpdesk_core.templates",
    "TemplateLimits": "helpdesk_core.templates",
    "OutboxState": "helpdesk_core.domain.outbox",
    "DispatchPolicy": "helpdesk_core.services.outbox",
    "DispatchReport": "helpdesk_core.services.outbox",
    **dict.fromkeys(
        ["AssignmentProposal", "Classification", "FollowUpRequest", "KeywordRule"],
        "helpdesk_core.domain.extensions",
    ),
    **dict.fromkeys(
        ["KbArticle", "KbChange", "KbRevision", "KbState", "KbSuggestion", "KbVisibility"],
        "helpdesk_core.domain.knowledge",
    ),
    **dict.fromkeys(
        ["Absence", "Agent", "AgentScope", "HelpdeskStaff", "Role", "Team", "TeamStrategy",
         "WorkingHours"],
        "helpdesk_core.domain.staff",
    ),
    **dict.fromkeys(
        ["Actor", "Article", "AttachmentMeta", "Channel", "Contact", "Direction", "EntityKind",
         "EntityRef", "EventKind", "IncidentType", "Order", "Organisation", "Page", "Priority",
         "Product", "QueueSort", "StaffVia", "Status", "StatusCategory", "Ticket",
         "TicketEvent", "TicketNumberFormat", "TicketQuery", "Workflow"],
        "helpdesk_core.domain",
    ),
    **dict.fromkeys(
        ["AcknowledgementRefused", "AdapterError", "ConcurrencyError", "ConfigurationError",
         "ContactNotFound", "DeliveryError", "DomainError", "HelpdeskError",
         "InvalidTransition", "LinkRefused", "MailboxError",
         "MergeConflict", "MessageTooLarge", "SmsTooLong",
         "NotFound", "OrderNotFound", "OrderNotOwned", "PermissionDenied", "PluginError",
         "RateLimited", "SchemaError", "StorageError", "StorageUnavailable",
         "TemplateError", "TemplateNotFound", "TicketNotFound", "UnknownStaff",
         "ValidationError"],
        "helpdesk_core.errors",
    ),
}

__all__ = sorted(_LOCATIONS)


def __getattr__(name: str) -> Any:
    try:
        module = _LOCATIONS[name]
    except KeyError:
        raise AttributeError(f"module 'helpdesk_core' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
