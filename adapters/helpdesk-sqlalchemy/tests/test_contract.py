"""The core's contract suites on SQLite and PostgreSQL (``helpdesk_backend`` in conftest.py):
every repository, the blob and template stores, and the state machine that compares the
adapter with the in-memory model on a fresh database per example."""

from helpdesk_core.testing.contracts import *  # noqa: F403
