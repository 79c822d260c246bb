"""Use cases. Each loads through a unit of work, calls the domain, commits — nothing more.

The side rules every change obeys (SLA, acknowledgement, resolution message, outbox, hooks)
are the message bus's handlers (:mod:`helpdesk_core.services.messagebus`), run by the one
unit-of-work path (:mod:`helpdesk_core.services.unit_of_work`).
"""

from helpdesk_core.services.directory import StorageDirectory

__all__ = ["StorageDirectory"]
