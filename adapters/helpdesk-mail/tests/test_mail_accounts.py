"""MailAccount: defaults, validation, from_mapping; and the plugin that registers the inboxes."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import pytest

from helpdesk_core.bootstrap import bootstrap
from helpdesk_core.errors import ConfigurationError
from helpdesk_core.mail.policy import MailChannel
from helpdesk_core.plugins import Hooks, make_plugin_manager
from helpdesk_core.settings import Settings
from helpdesk_mail import ImapInbox, MailAccount, Pop3Inbox, open_inbox

BASE: dict[str, Any] = {
    "name": "support",
    "protocol": "imap",
    "host": "mail.example.cz",
    "username": "podpora@example.cz",
    "password": "Top-s3cret",
}


def _account(**overrides: Any) -> MailAccount:
    return MailAccount(**{**BASE, **overrides})


# -- defaults ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "security", "port"),
    [("imap", "tls", 993), ("imap", "starttls", 143), ("imap", "none", 143),
     ("pop3", "tls", 995), ("pop3", "starttls", 110), ("pop3", "none", 110)],
)
def test_the_port_defaults_by_protocol_and_security(protocol: str, security: str,
                                                    port: int) -> None:
    plain = {"allow_plaintext": True} if security == "none" else {}
    assert _account(protocol=protocol, security=security, **plain).port == port


def test_defaults() -> None:
    imap = _account()
    assert (imap.security, imap.folder, imap.after, imap.move_to) == ("tls", "INBOX", "flag", None)
    assert imap.max_bytes == 25 * 1024 * 1024
    assert imap.timeout == 30.0
    assert imap.addresses == ()
    assert _account(protocol="pop3").after == "delete"
    assert _account(port=1143).port == 1143


def test_the_password_is_not_in_the_repr() -> None:
    account = _account()
    assert "Top-s3cret" not in repr(account)
    assert "podpora@example.cz" in repr(account)


def test_addresses_are_normalised() -> None:
    account = _account(addresses=["Podpora@Example.cz ", "", "reklamace@example.cz"])
    assert account.addresses == ("podpora@example.cz", "reklamace@example.cz")
    assert _account(addresses="a@example.cz, b@example.cz").addresses == (
        "a@example.cz", "b@example.cz")


def test_the_account_is_frozen() -> None:
    account = _account()
    with pytest.raises(AttributeError):
        account.host = "elsewhere"  # type: ignore[misc]


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "needs a name"),
        ({"protocol": "smtp"}, "protocol must be one of imap, pop3, not 'smtp'"),
        ({"host": " "}, "host is empty"),
        ({"security": "ssl"}, "security must be one of tls, starttls, none"),
        ({"port": 0}, "port must be a number from 1 to 65535"),
        ({"port": 70000}, "port must be a number from 1 to 65535"),
        ({"port": "993"}, "port must be a number"),
        ({"username": ""}, "username is empty"),
        ({"password": ""}, "password is empty"),
        ({"after": "keep"}, "after must be one of flag, move, delete for imap, not 'keep'"),
        ({"protocol": "pop3", "after": "flag"}, "after must be one of delete, keep for pop3"),
        ({"protocol": "pop3", "after": "move", "move_to": "Done"}, "for pop3"),
        ({"protocol": "pop3", "folder": "Support"}, "POP3 has no folders"),
        ({"folder": ""}, "folder is empty"),
        ({"after": "move"}, 'after="move" needs move_to'),
        ({"after": "move", "move_to": "INBOX"}, "move_to must differ from folder"),
        ({"move_to": "Done"}, 'move_to is only used with after="move"'),
        ({"max_bytes": 0}, "max_bytes must be a positive number of bytes"),
        ({"max_bytes": True}, "max_bytes must be a positive number of bytes"),
        ({"timeout": -1}, "timeout must be a positive number of seconds"),
        ({"addresses": ("podpora",)}, "'podpora' in addresses is not an email address"),
        ({"addresses": ("podpora@localhost",)}, "'podpora@localhost' in addresses is not an"),
    ],
)
def test_invalid_accounts_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        _account(**overrides)
    assert message in str(refused.value)
    assert "Top-s3cret" not in str(refused.value)


LOOPBACK = ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "[::1]", "::ffff:127.0.0.1",
            "localhost", "LocalHost", "localhost."]
ELSEWHERE = ["mail.example.cz", "10.0.0.5", "192.168.1.10", "0.0.0.0", "::ffff:10.0.0.1",
             "fe80::1", "localhost.example.cz", "127.0.0.1.nip.io", "mylocalhost"]


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
@pytest.mark.parametrize("host", ELSEWHERE)
def test_plain_text_to_another_host_is_refused(protocol: str, host: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        _account(protocol=protocol, host=host, security="none")
    message = str(refused.value)
    assert message.startswith(f"mail account 'support': security='none' would send the "
                              f"password and the mail to {host} unencrypted")
    assert "allow_plaintext=True" in message
    assert "Top-s3cret" not in message


@pytest.mark.parametrize("host", LOOPBACK)
def test_plain_text_to_this_machine_is_allowed(host: str) -> None:
    assert _account(host=host, security="none").plain_text


def test_plain_text_to_another_host_when_allowed() -> None:
    account = _account(security="none", allow_plaintext=True)
    assert (account.plain_text, account.port) == (True, 143)
    with pytest.raises(ConfigurationError, match="allow_plaintext must be True or False"):
        _account(security="none", allow_plaintext="yes")


@pytest.mark.parametrize(("value", "allowed"), [("true", True), ("Yes", True), ("1", True),
                                                ("false", False), ("no", False), ("", False)])
def test_from_mapping_reads_allow_plaintext(value: str, allowed: bool) -> None:
    values = {**BASE, "security": "none", "allow_plaintext": value}
    if allowed:
        assert MailAccount.from_mapping(values).allow_plaintext is True
    else:
        with pytest.raises(ConfigurationError, match="would send the password"):
            MailAccount.from_mapping(values)
    with pytest.raises(ConfigurationError, match="allow_plaintext must be true or false"):
        MailAccount.from_mapping({**values, "allow_plaintext": "maybe"})


def test_a_valid_move_account() -> None:
    account = _account(after="move", move_to="Processed", folder="Support")
    assert (account.folder, account.move_to) == ("Support", "Processed")


def test_an_unreadable_ca_file_is_a_configuration_error(tmp_path: Any) -> None:
    account = _account(ca_file=str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigurationError, match="ca_file"):
        account.ssl_context()


# -- channel ----------------------------------------------------------------------------------


def test_channel_carries_the_accounts_addresses_and_defaults() -> None:
    account = _account(addresses="Podpora@Example.cz, reklamace@example.cz", team="support",
                       incident_type="complaint", owner="petra", language="cs")
    channel = account.channel()
    assert channel == MailChannel(
        name="support", addresses=frozenset({"podpora@example.cz", "reklamace@example.cz"}),
        team="support", incident_type="complaint", owner="petra", language="cs",
    )
    assert channel.sender == "podpora@example.cz"  # acknowledgements go out from here


def test_channel_of_an_account_without_defaults() -> None:
    assert _account().channel() == MailChannel(name="support")


def test_channels_in_the_settings_are_found_by_the_inbox_account_name() -> None:
    accounts = [_account(team="support"),
                _account(name="returns", protocol="pop3", team="returns", language="de")]
    settings = Settings(storage="memory", mail_channels=tuple(a.channel() for a in accounts))
    with bootstrap(settings, environ={}) as desk:
        for account in accounts:
            inbox = open_inbox(account)
            assert desk.mail.channel(inbox.account) == account.channel()


# -- from_mapping -----------------------------------------------------------------------------


def test_from_mapping_converts_strings() -> None:
    account = MailAccount.from_mapping({
        **BASE, "protocol": "POP3", "security": "StartTLS", "port": "1110",
        "max_bytes": "1048576", "timeout": "7.5", "after": "keep",
        "addresses": "podpora@example.cz,reklamace@example.cz", "team": "support",
        "owner": "petra", "language": "cs", "incident_type": "", "move_to": None,
    })
    assert (account.protocol, account.security, account.port) == ("pop3", "starttls", 1110)
    assert (account.max_bytes, account.timeout, account.after) == (1048576, 7.5, "keep")
    assert account.addresses == ("podpora@example.cz", "reklamace@example.cz")
    assert (account.team, account.owner, account.language) == ("support", "petra", "cs")
    assert account.incident_type is None


def test_from_mapping_keeps_defaults_for_unset_values() -> None:
    account = MailAccount.from_mapping({**BASE, "port": None, "folder": None})
    assert (account.port, account.folder) == (993, "INBOX")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({**BASE, "pasword": "x"}, "unknown setting(s) pasword"),
        ({k: v for k, v in BASE.items() if k != "host"}, "missing host"),
        ({**BASE, "password": ""}, "missing password"),
        ({**BASE, "port": "imap"}, "port must be a number, not 'imap'"),
        ({**BASE, "timeout": "soon"}, "timeout must be a number"),
        ({**BASE, "max_bytes": True}, "max_bytes must be a number"),
    ],
)
def test_from_mapping_refuses_bad_settings(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match="mail account") as refused:
        MailAccount.from_mapping(values)
    assert message in str(refused.value)


# -- plugin -----------------------------------------------------------------------------------


def test_the_entry_point_names_the_plugin_module() -> None:
    found = [ep for ep in entry_points(group="helpdesk_core") if ep.name == "mail"]
    assert [ep.value for ep in found] == ["helpdesk_mail.plugin"]


def test_helpdesk_register() -> None:
    registry = Hooks(make_plugin_manager(autoload=True)).register()
    assert {"imap", "pop3"} <= set(registry.mail_inboxes.names())
    imap = registry.mail_inboxes.create("imap", Settings(options={"mail_account": BASE}))
    assert isinstance(imap, ImapInbox)
    assert imap.account == "support"
    pop3 = registry.mail_inboxes.create(
        "pop3", Settings(options={"mail_account": {**BASE, "protocol": "pop3"}})
    )
    assert isinstance(pop3, Pop3Inbox)
    ready = _account(protocol="pop3", after="keep")
    built = registry.mail_inboxes.create("pop3", Settings(options={"mail_account": ready}))
    assert isinstance(built, Pop3Inbox)
    assert built.mail_account is ready


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs settings.options['mail_account']"),
        ({"mail_account": "imap://x"}, "must be a MailAccount or a mapping"),
        ({"mail_account": {**BASE, "protocol": "pop3"}}, "is pop3, not imap"),
    ],
)
def test_the_factory_refuses_bad_settings(options: dict[str, Any], message: str) -> None:
    registry = Hooks(make_plugin_manager(autoload=True)).register()
    with pytest.raises(ConfigurationError, match="mail") as refused:
        registry.mail_inboxes.create("imap", Settings(options=options))
    assert message in str(refused.value)


def test_blocked_plugin_is_not_registered() -> None:
    registry = Hooks(make_plugin_manager(autoload=True, blocked=["mail"])).register()
    assert "imap" not in registry.mail_inboxes


def test_open_inbox_picks_the_protocol() -> None:
    assert isinstance(open_inbox(_account()), ImapInbox)
    assert isinstance(open_inbox(_account(protocol="pop3")), Pop3Inbox)


def test_building_an_inbox_connects_to_nothing() -> None:
    # The host does not resolve; nothing fails until the first call.
    inbox = open_inbox(_account(host="mail.invalid"))
    inbox.close()
