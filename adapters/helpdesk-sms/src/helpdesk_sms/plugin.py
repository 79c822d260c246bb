"""Registers the SMS senders "kannel" and "twilio" (entry point group ``helpdesk_core``).

Each factory reads its settings from ``settings.options``: ``sms_kannel`` (a
:class:`~helpdesk_sms.kannel.KannelConfig` or a mapping of its fields) and ``sms_twilio``
(a :class:`~helpdesk_sms.twilio.TwilioConfig` or a mapping). Nothing connects until a message
is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from helpdesk_core.errors import ConfigurationError
from helpdesk_core.plugins import hookimpl
from helpdesk_sms.kannel import KannelConfig, KannelSender
from helpdesk_sms.twilio import TwilioConfig, TwilioSender

if TYPE_CHECKING:
    from helpdesk_core.plugins.registry import Registry
    from helpdesk_core.ports.messaging import SmsSender
    from helpdesk_core.settings import Settings

__all__ = ["KANNEL_OPTION", "TWILIO_OPTION", "helpdesk_register"]

KANNEL_OPTION = "sms_kannel"
TWILIO_OPTION = "sms_twilio"

C = TypeVar("C", KannelConfig, TwilioConfig)


def _config(settings: Settings, option: str, cls: type[C],
            parse: Callable[[Mapping[str, Any]], C]) -> C:
    raw = settings.option(option)
    if isinstance(raw, cls):
        return raw
    if isinstance(raw, Mapping):
        return parse(raw)
    if raw is None:
        raise ConfigurationError(f"this SMS sender needs settings.options[{option!r}]")
    raise ConfigurationError(f"settings.options[{option!r}] must be a {cls.__name__} or a "
                             f"mapping, not {type(raw).__name__}")


def kannel_sender(settings: Settings) -> SmsSender:
    return KannelSender(_config(settings, KANNEL_OPTION, KannelConfig,
                                KannelConfig.from_mapping))


def twilio_sender(settings: Settings) -> SmsSender:
    return TwilioSender(_config(settings, TWILIO_OPTION, TwilioConfig,
                                TwilioConfig.from_mapping))


@hookimpl
def helpdesk_register(registry: Registry) -> None:
    registry.add_sms_sender("kannel", kannel_sender)
    registry.add_sms_sender("twilio", twilio_sender)
