"""The contract suites run against the in-memory reference implementations.

The model compared with itself proves the state machine runs and its rules are consistent.
"""

from helpdesk_core.testing.contracts import *  # noqa: F403
