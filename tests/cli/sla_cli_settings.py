"""A host's settings module, as ``helpdesk sla --settings`` loads it (used by the CLI test)."""

from __future__ import annotations

import os
from datetime import timedelta

from helpdesk_core.settings import Settings
from helpdesk_core.sla import (
    BusinessCalendar,
    EscalationLevel,
    PolicySelector,
    SlaConfig,
    SlaPolicy,
    SlaTarget,
    TargetKind,
)

HOURS = 8
POLICY = SlaPolicy("standard", BusinessCalendar.weekly("UTC", {"mon-sun": "00:00-24:00"}),
                   targets=[SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(hours=HOURS))],
                   escalation=[EscalationLevel(0.5, ["helpdesk_manager"])])


def settings() -> Settings:
    return Settings(database_url=os.environ["HELPDESK_TEST_SLA_URL"], autoload_plugins=True,
                    sla=SlaConfig(selector=PolicySelector.standard(default=POLICY),
                                  addresses={"helpdesk_manager": "boss@shop.example"}))
