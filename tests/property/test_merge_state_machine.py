"""Merge, undo, split and links against mail, SMS, portal replies and notes, in memory:
the state machine of :mod:`helpdesk_core.testing.merge_model` on the model alone (the SQL
adapter's tests run it beside SQLite and PostgreSQL). ``nox -s merge_model`` runs it long
(``HELPDESK_MERGE_EXAMPLES``, ``HELPDESK_MERGE_STEPS``)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from helpdesk_core.testing.merge_model import merge_state_machine

EXAMPLES = int(os.environ.get("HELPDESK_MERGE_EXAMPLES", "40"))
STEPS = int(os.environ.get("HELPDESK_MERGE_STEPS", "30"))


def test_merging_keeps_every_message_on_a_live_ticket() -> None:
    run_state_machine_as_test(merge_state_machine(None), settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
