"""How a deployment configures SLA: which policy applies, and where notifications go."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from helpdesk_core.sla.policy import PolicySelector

__all__ = ["SlaConfig"]


@attrs.frozen
class SlaConfig:
    """``selector`` chooses each ticket's policy (first matching rule wins); ``addresses`` maps
    people and roles (``"helpdesk_manager"``) to the e-mail address or E.164 phone number
    escalation notices go to. The roles ``assignee`` and ``team`` resolve to the ticket's
    assignee and team first; ``sender`` is the From of those notices."""

    selector: PolicySelector
    addresses: Mapping[str, str] = attrs.field(factory=dict)
    sender: str = "helpdesk@helpdesk.invalid"
