"""One mail account: where the mailbox is, how to log in, what to do with fetched messages."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterable, Mapping
from typing import Any, Literal, cast

import attrs

from helpdesk_core.domain.contacts import normalize_email
from helpdesk_core.errors import ConfigurationError, ValidationError
from helpdesk_core.mail.policy import MailChannel
from helpdesk_mail.errors import Endpoint

__all__ = ["DEFAULT_PORTS", "After", "MailAccount", "MailProtocol", "Security", "is_loopback",
           "parse_flag"]

MailProtocol = Literal["imap", "pop3"]
Security = Literal["tls", "starttls", "none"]
After = Literal["flag", "move", "delete", "keep"]

PROTOCOLS: tuple[str, ...] = ("imap", "pop3")
SECURITIES: tuple[str, ...] = ("tls", "starttls", "none")
AFTER_BY_PROTOCOL: dict[str, tuple[str, ...]] = {
    "imap": ("flag", "move", "delete"),
    # POP3 has no flags or folders: a message is either deleted or left for the UIDL memory.
    "pop3": ("delete", "keep"),
}
DEFAULT_PORTS: dict[tuple[str, str], int] = {
    ("imap", "tls"): 993,
    ("imap", "starttls"): 143,
    ("imap", "none"): 143,
    ("pop3", "tls"): 995,
    ("pop3", "starttls"): 110,
    ("pop3", "none"): 110,
}
DEFAULT_MAX_BYTES = 25 * 1024 * 1024


def _default_port(account: MailAccount) -> int:
    return DEFAULT_PORTS.get((account.protocol, account.security), 0)


def _default_after(account: MailAccount) -> After:
    return "delete" if account.protocol == "pop3" else "flag"


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: 127.0.0.0/8, ::1 (also written ``[::1]`` or as
    ``::ffff:127.0.0.1``) or ``localhost``. Nothing is resolved: only what the name says
    counts, so traffic to such a host never crosses a network."""
    name = host.strip().rstrip(".").lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0", "")


def parse_flag(value: object, *, what: str) -> bool:
    """A yes/no setting: a bool, or a string from a settings file or the environment
    (true/false, yes/no, on/off, 1/0). Anything else is a ConfigurationError naming ``what``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigurationError(f"{what} must be true or false, not {value!r}")


def _addresses(value: str | Iterable[str]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    return tuple(item.strip().lower() for item in items if item.strip())


@attrs.frozen(kw_only=True)
class MailAccount:
    """
    name           our name for the account (logs, ``InboundMail.account``)
    protocol       "imap" or "pop3"
    host, port     the server; the port defaults by protocol and security (993, 143, 995, 110)
    security       "tls" (implicit TLS), "starttls", or "none" (plain text: only for a host on
                   this machine — 127.0.0.0/8, ::1, localhost — unless allow_plaintext)
    allow_plaintext
                   True lets security="none" reach another host; the password and the mail
                   then cross the network unencrypted (a trusted network only)
    username       login name
    password       login password; never shown in repr or error messages
    folder         IMAP folder to read ("INBOX"); POP3 has only the one mailbox
    after          what acknowledge does: IMAP "flag" | "move" | "delete"; POP3 "delete" | "keep"
    move_to        target folder for after="move" (created when missing)
    max_bytes      larger messages are not downloaded; the size is known from the listing
    timeout        seconds for connecting and for every read from the server
    ca_file        PEM file of CAs to trust instead of the system's (a private CA)
    addresses      our support addresses delivered to this account
    team, incident_type, owner, language
                   defaults for tickets opened from this account; owner is the responsible
                   person of the channel
    """

    name: str
    protocol: MailProtocol
    host: str
    username: str
    password: str = attrs.field(repr=False)
    security: Security = "tls"
    port: int = attrs.field(default=attrs.Factory(_default_port, takes_self=True))
    folder: str = "INBOX"
    after: After = attrs.field(default=attrs.Factory(_default_after, takes_self=True))
    move_to: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = 30.0
    ca_file: str | None = None
    addresses: tuple[str, ...] = attrs.field(default=(), converter=_addresses)
    team: str | None = None
    incident_type: str | None = None
    owner: str | None = None
    language: str | None = None
    allow_plaintext: bool = False

    def __attrs_post_init__(self) -> None:
        def refuse(reason: str) -> ConfigurationError:
            return ConfigurationError(f"mail account {self.name!r}: {reason}")

        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigurationError("a mail account needs a name")
        if self.protocol not in PROTOCOLS:
            raise refuse(f"protocol must be one of {', '.join(PROTOCOLS)}, not {self.protocol!r}")
        if not isinstance(self.host, str) or not self.host.strip():
            raise refuse("host is empty")
        if self.security not in SECURITIES:
            raise refuse(f"security must be one of {', '.join(SECURITIES)}, "
                         f"not {self.security!r}")
        if not isinstance(self.allow_plaintext, bool):
            raise refuse(f"allow_plaintext must be True or False, not {self.allow_plaintext!r}")
        if self.security == "none" and not self.allow_plaintext and not is_loopback(self.host):
            raise refuse(
                f"security='none' would send the password and the mail to {self.host} "
                "unencrypted; use security='tls' or 'starttls', or set allow_plaintext=True "
                "if the network to it is trusted (plain text is allowed without it only for "
                "127.0.0.0/8, ::1 and localhost)")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not (
            0 < self.port < 65536
        ):
            raise refuse(f"port must be a number from 1 to 65535, not {self.port!r}")
        if not isinstance(self.username, str) or not self.username:
            raise refuse("username is empty")
        if not isinstance(self.password, str) or not self.password:
            raise refuse("password is empty")
        allowed = AFTER_BY_PROTOCOL[self.protocol]
        if self.after not in allowed:
            raise refuse(f"after must be one of {', '.join(allowed)} for {self.protocol}, "
                         f"not {self.after!r}")
        if not isinstance(self.folder, str) or not self.folder:
            raise refuse("folder is empty")
        if self.protocol == "pop3" and self.folder != "INBOX":
            raise refuse("POP3 has no folders; leave folder at INBOX")
        if self.after == "move":
            if not self.move_to:
                raise refuse('after="move" needs move_to, the folder to move messages to')
            if self.move_to == self.folder:
                raise refuse(f"move_to must differ from folder {self.folder!r}")
        elif self.move_to is not None:
            raise refuse(f'move_to is only used with after="move", not after={self.after!r}')
        if isinstance(self.max_bytes, bool) or not isinstance(self.max_bytes, int) or (
            self.max_bytes <= 0
        ):
            raise refuse(f"max_bytes must be a positive number of bytes, not {self.max_bytes!r}")
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, int | float) or (
            self.timeout <= 0
        ):
            raise refuse(f"timeout must be a positive number of seconds, not {self.timeout!r}")
        for address in self.addresses:
            # The same check the core's MailChannel makes, so channel() cannot fail later.
            try:
                normalize_email(address, field="addresses")
            except ValidationError as exc:
                raise refuse(f"{address!r} in addresses is not an email address "
                             f"({exc})") from None

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying TLS context: the system's CAs, or only those in ``ca_file``."""
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"mail account {self.name!r}: ca_file {self.ca_file!r} cannot be used: {exc}"
            ) from exc

    def channel(self) -> MailChannel:
        """The core's channel for this account: its name, our addresses and the defaults for
        tickets it opens. ``Settings(mail_channels=tuple(a.channel() for a in accounts))``
        lets the fetch loop find it by the inbox's account name."""
        return MailChannel(name=self.name, addresses=self.addresses, team=self.team,
                           incident_type=self.incident_type, owner=self.owner,
                           language=self.language)

    @property
    def address(self) -> str:
        return f"{self.protocol.upper()} account {self.name!r} ({self.host}:{self.port})"

    @property
    def label(self) -> str:
        """The account in error messages whose text names the server itself."""
        return f"{self.protocol.upper()} account {self.name!r}"

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(host=self.host, port=self.port, security=self.security,
                        timeout=self.timeout,
                        tls_port=DEFAULT_PORTS[(self.protocol, "tls")],
                        starttls_port=DEFAULT_PORTS[(self.protocol, "starttls")],
                        secret=self.password)

    @property
    def plain_text(self) -> bool:
        """True when the password crosses the network unencrypted."""
        return self.security == "none"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> MailAccount:
        """Build from settings or environment strings: numbers may be strings, ``addresses``
        a comma-separated string. Unknown or missing keys raise ConfigurationError."""
        known = {field.name for field in attrs.fields(cls)}
        unknown = sorted(set(values) - known)
        label = values.get("name", "?")
        if unknown:
            raise ConfigurationError(
                f"mail account {label!r}: unknown setting(s) {', '.join(unknown)}"
            )
        required = {"name", "protocol", "host", "username", "password"}
        missing = sorted(name for name in required if values.get(name) in (None, ""))
        if missing:
            raise ConfigurationError(f"mail account {label!r}: missing {', '.join(missing)}")
        kwargs: dict[str, Any] = {}
        for key, value in values.items():
            if value is None and key not in {"move_to", "ca_file", "team", "incident_type",
                                             "owner", "language"}:
                continue  # an unset environment variable: keep the default
            if key in {"protocol", "security", "after"} and isinstance(value, str):
                value = value.strip().lower()
            elif key in {"port", "max_bytes"}:
                value = _number(int, key, value, label)
            elif key == "timeout":
                value = _number(float, key, value, label)
            elif key == "allow_plaintext":
                value = parse_flag(value, what=f"mail account {label!r}: allow_plaintext")
            elif key in {"move_to", "ca_file", "team", "incident_type", "owner", "language"}:
                value = value or None
            kwargs[key] = value
        return cls(**kwargs)


def _number(kind: type[int] | type[float], key: str, value: object, label: object) -> Any:
    if isinstance(value, bool):
        raise ConfigurationError(f"mail account {label!r}: {key} must be a number, not {value!r}")
    try:
        return kind(cast(Any, value))
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"mail account {label!r}: {key} must be a number, not {value!r}"
        ) from None
