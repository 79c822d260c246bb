"""How a deployment configures SLA: which policy applies, and where notifications go."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from helpdesk_core.errors import ConfigurationError
from helpdesk_core.sla.policy import PolicySelector

__all__ = ["SlaConfig"]


@attrs.frozen
class SlaConfig:
    """``selector`` chooses each ticket's policy (first matching rule wins); ``addresses`` maps
    people and roles (``"helpdesk_manager"``) to the e-mail address or E.164 phone number
    escalation notices go to. The roles ``assignee`` and ``team`` resolve to the ticket's
    assignee and team first; ``sender`` is the From of those notices.

    Checked when built and again by ``bootstrap()`` (:meth:`check`): what would be accepted now
    and then fail at every intake is a ConfigurationError."""

    selector: PolicySelector
    addresses: Mapping[str, str] = attrs.field(factory=dict)
    sender: str = "helpdesk@helpdesk.invalid"

    def __attrs_post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Refuse a configuration that would fail at intake: a policy whose calendar never
        opens again. The error names the policy and the calendar."""
        if not isinstance(self.selector, PolicySelector):
            raise ConfigurationError(f"an SLA config needs a PolicySelector, not "
                                     f"{self.selector!r}")
        for policy in self.selector.policies:
            try:
                policy.calendar.check()
            except ConfigurationError as exc:
                raise ConfigurationError(f"SLA policy {policy.name!r}: {exc}") from None
