"""Test support shipped with the library: contract suites, builders, hypothesis strategies.

- :mod:`helpdesk_core.testing.contracts`: one contract module per repository protocol, run by
  every adapter (ours and third parties') with ``from helpdesk_core.testing.contracts import *``
  and one ``helpdesk_backend`` fixture returning a :class:`Backend` with its
  :class:`Capabilities`; :func:`storage_state_machine` compares a store with the in-memory
  model.
- :mod:`helpdesk_core.testing.builders` and :mod:`helpdesk_core.testing.strategies`: domain
  objects and hypothesis strategies for tests.
- :class:`MemoryInbox`: a mailbox in memory for fetch-loop tests.
- :mod:`helpdesk_core.testing.pytest_plugin`: opt-in fixtures for hosts.

Importing this package needs pytest and hypothesis, which the core does not otherwise require.
"""

from helpdesk_core.testing.contracts.backend import Backend
from helpdesk_core.testing.contracts.capabilities import Capabilities
from helpdesk_core.testing.contracts.model import storage_state_machine
from helpdesk_core.testing.inbox import MemoryInbox

__all__ = ["Backend", "Capabilities", "MemoryInbox", "storage_state_machine"]
