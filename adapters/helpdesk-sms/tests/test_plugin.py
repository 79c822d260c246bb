"""The entry point registers "kannel" and "twilio"; their settings come from options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from helpdesk_core.errors import ConfigurationError
from helpdesk_core.settings import Settings
from helpdesk_sms import KannelConfig, KannelSender, TwilioSender

if TYPE_CHECKING:
    from helpdesk_core.app import Helpdesk


def bootstrap(settings: Settings, **kwargs: Any) -> Helpdesk:
    # Imported late: importing the submodule while pytest collects would shadow the lazily
    # resolved ``helpdesk_core.bootstrap`` function for later test modules.
    from helpdesk_core.bootstrap import bootstrap as real

    return real(settings, **kwargs)


def test_the_plugin_registers_both_senders_from_settings() -> None:
    settings = Settings(storage="memory", options={
        "sms_kannel": {"sendsms_url": "http://127.0.0.1:13013/cgi-bin/sendsms",
                       "username": "helpdesk", "password": "pw",
                       "policy": {"transliterate": True, "max_segments": 2}},
        "sms_twilio": {"account_sid": "AC1", "auth_token": "t", "sender": "+420800123456"},
    })
    helpdesk = bootstrap(settings, environ={})
    try:
        assert {"kannel", "twilio"} <= set(helpdesk.registry.sms_senders.names())
        kannel = helpdesk.registry.sms_senders.create("kannel", settings)
        assert isinstance(kannel, KannelSender)
        assert kannel.config.policy.max_segments == 2
        assert "pw" not in repr(kannel.config)
        twilio = helpdesk.registry.sms_senders.create("twilio", settings)
        assert isinstance(twilio, TwilioSender)
    finally:
        helpdesk.close()


@pytest.mark.parametrize("options", [
    {}, {"sms_kannel": "http://x"}, {"sms_kannel": {"sendsms_url": "http://x", "username": "u",
                                                    "password": "p", "colour": "blue"}},
    {"sms_kannel": {"sendsms_url": "ftp://x", "username": "u", "password": "p"}},
])
def test_bad_settings_are_a_configuration_error(options: dict[str, object]) -> None:
    settings = Settings(storage="memory", options=options)
    helpdesk = bootstrap(settings, environ={})
    try:
        with pytest.raises(ConfigurationError):
            helpdesk.registry.sms_senders.create("kannel", settings)
    finally:
        helpdesk.close()


def test_a_config_object_is_taken_as_it_is() -> None:
    config = KannelConfig(sendsms_url="http://127.0.0.1:1/cgi-bin/sendsms", username="u",
                          password="p")
    settings = Settings(storage="memory", options={"sms_kannel": config})
    helpdesk = bootstrap(settings, environ={})
    try:
        sender = helpdesk.registry.sms_senders.create("kannel", settings)
        assert isinstance(sender, KannelSender)
        assert sender.config is config
    finally:
        helpdesk.close()
