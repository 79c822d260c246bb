"""How a deployment configures SLA: which policy applies, and where notifications go."""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from helpdesk_core.errors import ConfigurationError
from helpdesk_core.sla.policy import (
    EscalationLevel,
    NotifyChannel,
    PolicySelector,
    SlaPolicy,
    TargetKind,
)

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
        """Refuse what would be accepted now and then fail at intake or silently do nothing:
        a selector without rules, two different policies of one name (a ticket's record names
        its policy), a policy whose calendar never opens again, an address that is neither an
        e-mail address nor an E.164 number, a level whose channels can never reach a fixed
        recipient's address. Each error names what it is about."""
        if not isinstance(self.selector, PolicySelector):
            raise ConfigurationError(f"an SLA config needs a PolicySelector, not "
                                     f"{self.selector!r}")
        if not self.selector.rules:
            raise ConfigurationError("the SLA selector has no rules, so no ticket would be "
                                     "measured; give a default policy, or no SLA config")
        named: dict[str, SlaPolicy] = {}
        for policy in self.selector.policies:
            if named.setdefault(policy.name, policy) != policy:
                raise ConfigurationError(
                    f"two different SLA policies are called {policy.name!r}; a ticket's SLA "
                    "record names its policy, so each name must stand for one policy")
            try:
                policy.calendar.check()
            except ConfigurationError as exc:
                raise ConfigurationError(f"SLA policy {policy.name!r}: {exc}") from None
        _address("sender", self.sender, sms=False)
        if not isinstance(self.addresses, Mapping):
            raise ConfigurationError(f"SLA addresses are a mapping of people and roles to "
                                     f"addresses, not {self.addresses!r}")
        for who, address in self.addresses.items():
            _address(who, address)
        for policy in self.selector.policies:
            for kind in TargetKind:
                for level in policy.levels_for(kind):
                    self._reachable(policy, level)

    def _reachable(self, policy: SlaPolicy, level: EscalationLevel) -> None:
        """A recipient fixed by the configuration (a person, or a role but the ticket's
        ``assignee`` and ``team``) whose address the level's channels cannot use would never
        be told; one without an address is left to plugins (the escalation event names it)."""
        for recipient in level.notify:
            if recipient.role in _TICKET_ROLES:
                continue
            address = self.addresses.get(recipient.person or str(recipient))
            if address is None:
                continue
            sms = address.startswith("+")
            if (NotifyChannel.SMS if sms else NotifyChannel.EMAIL) not in level.channels:
                raise ConfigurationError(
                    f"SLA policy {policy.name!r}, level {level.label!r}: the address of "
                    f"{recipient} is {'a phone number' if sms else 'an e-mail address'} "
                    f"({address}), but the level notifies by "
                    f"{', '.join(c.value for c in level.channels)} only: it would never be sent")


# Roles the sweep resolves to the ticket's own assignee and team.
_TICKET_ROLES = frozenset({"assignee", "team"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _address(who: object, address: object, *, sms: bool = True) -> None:
    """An e-mail address, or (where SMS may go) an E.164 phone number as the sweep sends to."""
    if isinstance(address, str) and (_EMAIL.fullmatch(address)
                                     or (sms and _E164.fullmatch(address))):
        return
    kinds = "an e-mail address or an E.164 phone number like +420601234567" if sms \
        else "an e-mail address"
    raise ConfigurationError(f"the SLA address of {who!r}, {address!r}, is not {kinds}")
