"""Test support shipped with the library: contract suites, builders, hypothesis strategies.

Adapters (ours and third parties') subclass the contract classes in their own test suites.
Importing this package needs pytest and hypothesis, which the core does not otherwise require.
"""

from helpdesk_core.testing.inbox import MemoryInbox
from helpdesk_core.testing.storage_contract import (
    BlobStoreContract,
    StorageContract,
    storage_state_machine,
)

__all__ = ["BlobStoreContract", "MemoryInbox", "StorageContract", "storage_state_machine"]
