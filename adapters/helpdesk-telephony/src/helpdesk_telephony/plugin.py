"""Registers the click-to-call telephony adapters "sipgate" and "twilio".

A factory builds its client from ``settings.options["sipgate"]`` or
``settings.options["twilio"]``: a mapping of the keyword arguments of
:class:`~helpdesk_telephony.sipgate.SipgateClickToCall` or
:class:`~helpdesk_telephony.twilio_voice.TwilioClickToCall`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from helpdesk_core.errors import ConfigurationError
from helpdesk_core.plugins import hookimpl
from helpdesk_telephony.sipgate import SipgateClickToCall
from helpdesk_telephony.twilio_voice import TwilioClickToCall

if TYPE_CHECKING:
    from helpdesk_core.plugins.registry import Registry
    from helpdesk_core.ports.messaging import Telephony
    from helpdesk_core.settings import Settings

__all__ = ["helpdesk_register", "sipgate_from_settings", "twilio_from_settings"]


def _options(settings: Settings, name: str) -> dict[str, object]:
    raw = settings.option(name)
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"the {name} telephony adapter needs settings.options"
                                 f"[{name!r}], a mapping of its keyword arguments")
    return dict(raw)


def sipgate_from_settings(settings: Settings) -> Telephony:
    try:
        return SipgateClickToCall(**_options(settings, "sipgate"))  # type: ignore[arg-type]
    except TypeError as exc:
        raise ConfigurationError(f"settings.options['sipgate']: {exc}") from None


def twilio_from_settings(settings: Settings) -> Telephony:
    try:
        return TwilioClickToCall(**_options(settings, "twilio"))  # type: ignore[arg-type]
    except TypeError as exc:
        raise ConfigurationError(f"settings.options['twilio']: {exc}") from None


@hookimpl
def helpdesk_register(registry: Registry) -> None:
    registry.add_telephony("sipgate", sipgate_from_settings)
    registry.add_telephony("twilio", twilio_from_settings)
