"""Use cases. Each loads through a unit of work, calls the domain, commits — nothing more."""

from helpdesk_core.services.deps import Deps
from helpdesk_core.services.directory import StorageDirectory

__all__ = ["Deps", "StorageDirectory"]
