"""How inbound mail is handled: the deployment's rules and each channel's defaults (pure values)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Literal

import attrs

from helpdesk_core.domain.contacts import normalize_email
from helpdesk_core.domain.outgoing import HeaderPolicy
from helpdesk_core.domain.typecheck import check_fields
from helpdesk_core.domain.values import optional_language
from helpdesk_core.errors import ConfigurationError, ValidationError
from helpdesk_core.mail.parsed import MailLimits

__all__ = ["DEFAULT_ORDER_PATTERN", "MailChannel", "MailPolicy"]

# "Order 2026-00042", "Bestellung Nr. 100234", "objednávka č. 100234", "Auftrag: 100234" ...
DEFAULT_ORDER_PATTERN = (
    r"(?i)\b(?:order|bestellung|auftrag|objedn[aá]vk[aAyuyě]|obj\.)"
    r"(?:\s*(?:no\.?|nr\.?|number|nummer|č\.?|číslo|c\.|#|:))*\s*#?\s*"
    r"([A-Z0-9][A-Z0-9-]{3,30}[0-9])\b"
)


def _addresses(values: object) -> frozenset[str]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple, set, frozenset)):
        raise ConfigurationError("addresses must be a list of e-mail addresses")
    return frozenset(normalize_email(v, field="addresses") for v in values)


def _channel_language(value: object) -> str | None:
    try:
        return optional_language(value)
    except ValidationError as exc:
        raise ConfigurationError(f"MailChannel {exc}") from exc


@attrs.frozen
class MailChannel:
    """The mailbox a mail arrived through, and the defaults it gives new tickets.

    ``owner`` is the person responsible for this channel: the third step of the assignment
    chain, after the incident type's responsible and the customer's account owner.
    """

    name: str = "default"
    addresses: frozenset[str] = attrs.field(default=frozenset(), converter=_addresses)
    team: str | None = None
    incident_type: str | None = None
    owner: str | None = None
    language: str | None = attrs.field(default=None, converter=_channel_language)

    def __attrs_post_init__(self) -> None:
        try:
            check_fields(self, prefix="channel")
        except ValidationError as exc:
            raise ConfigurationError(f"MailChannel {exc}") from exc

    @property
    def sender(self) -> str | None:
        """The address automatic answers from this channel go out from."""
        return min(self.addresses) if self.addresses else None


@attrs.frozen
class MailPolicy:
    """Deployment-wide rules for inbound mail. Every field has a safe default.

    * ``own_addresses`` — every address of ours (channels add theirs): mail from them is never
      answered automatically and never opens a ticket for "us".
    * ``message_id_domain`` — the right-hand side of the Message-IDs we generate; replies
      carrying such an id are recognised as replies to us.
    * ``unknown_sender`` — ``"create"`` a contact for an unknown sender, or ``"quarantine"``
      the mail for a human to decide.
    * ``unverified_reply`` — a mail that names a ticket but comes from someone who does not
      take part in it opens a ticket of its own either way (so the answer does not tell
      whether the number exists); ``"hold"`` also keeps a copy on the named ticket as an
      internal, unpublished note, ``"new_ticket"`` does not.
    * ``cc_participants`` — addresses in Cc of a customer's mail become participants (their
      mail counts as the customer's: published, reopening). Off: they are only recorded.
    * ``cc_notified`` — addresses in Cc of a customer's mail get a copy (Cc) of the agents'
      e-mail replies on the ticket.
    * ``new_ticket_limit`` / ``new_ticket_window`` — one sender opens at most this many
      tickets by mail within the window (None: no limit); more mail is held in quarantine.
    * ``reopen_window`` — a reply to a ticket closed longer ago than this opens a new ticket
      linked to the old one instead of reopening it.
    * ``order_pattern`` — a regular expression whose first group is an order number.
    * ``acknowledge`` / ``ack_limit`` / ``ack_window`` — acknowledgements, at most
      ``ack_limit`` per sender within ``ack_window`` (one, by default: a second mail within
      the hour is often a machine answering the first acknowledgement).
    * ``machine_window`` — once a sender's mail is recognised as automatic (by headers or
      content, :func:`helpdesk_core.mail.loops.classify`), it gets no automatic message from
      us (acknowledgement, resolution message) within this window, and its automatic mail
      opens at most one ticket within it; more is held in quarantine.
    * ``max_attempts`` — a staged mail that fails this many times is quarantined.
    * ``subject_format`` — where our answers put the ticket number (``{number}``,
      ``{subject}``).
    * ``resolution_message`` — queue the ``resolution`` template to the customer when a
      ticket is resolved.
    """

    own_addresses: frozenset[str] = attrs.field(default=frozenset(), converter=_addresses)
    message_id_domain: str = "helpdesk.invalid"
    loop_header: str = "X-Helpdesk-Loop"
    loop_token: str = "helpdesk-core"
    unknown_sender: Literal["create", "quarantine"] = "create"
    unverified_reply: Literal["hold", "new_ticket"] = "hold"
    cc_participants: bool = False
    cc_notified: bool = False
    new_ticket_limit: int | None = 10
    new_ticket_window: timedelta = timedelta(hours=1)
    reopen_window: timedelta = timedelta(days=30)
    order_pattern: str | None = DEFAULT_ORDER_PATTERN
    order_system: str = "shop"
    acknowledge: bool = True
    ack_limit: int = 1
    ack_window: timedelta = timedelta(hours=1)
    machine_window: timedelta = timedelta(hours=24)
    max_attempts: int = 3
    limits: MailLimits = attrs.field(factory=MailLimits)
    ack_templates: Mapping[str, tuple[str, str]] = attrs.field(factory=dict)
    subject_format: str = "[{number}] {subject}"
    resolution_message: bool = True

    def __attrs_post_init__(self) -> None:
        if self.unknown_sender not in ("create", "quarantine"):
            raise ConfigurationError("unknown_sender must be 'create' or 'quarantine'")
        if self.unverified_reply not in ("hold", "new_ticket"):
            raise ConfigurationError("unverified_reply must be 'hold' or 'new_ticket'")
        if not re.fullmatch(r"[A-Za-z0-9.-]+", self.message_id_domain):
            raise ConfigurationError("message_id_domain must be a domain name")
        if not re.fullmatch(r"X-[A-Za-z0-9-]+", self.loop_header):
            raise ConfigurationError("loop_header must look like X-Something")
        if "{number}" not in self.subject_format:
            raise ConfigurationError("subject_format must contain {number}")
        if self.max_attempts < 1 or self.ack_limit < 0:
            raise ConfigurationError("max_attempts must be ≥ 1 and ack_limit ≥ 0")
        for flag in ("cc_participants", "cc_notified"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigurationError(f"{flag} must be True or False")
        limit = self.new_ticket_limit
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)
                                  or limit < 1):
            raise ConfigurationError("new_ticket_limit must be a whole number ≥ 1, or None")
        for window in ("new_ticket_window", "machine_window"):
            value = getattr(self, window)
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise ConfigurationError(f"{window} must be a positive timedelta")
        if self.order_pattern is not None:
            try:
                compiled = re.compile(self.order_pattern)
            except re.error as exc:
                raise ConfigurationError(f"bad order_pattern: {exc}") from exc
            if compiled.groups < 1:
                raise ConfigurationError("order_pattern needs a group around the number")

    def headers(self) -> HeaderPolicy:
        """The deployment's part of the one header policy for what we send."""
        return HeaderPolicy(self.message_id_domain, self.loop_header, self.loop_token)

    def new_ticket_limit_reached(self, opened: Iterable[datetime], *, now: datetime) -> bool:
        """Whether a sender whose tickets by mail were opened at ``opened`` may open no more
        at ``now``: ``new_ticket_limit`` of them within ``new_ticket_window``."""
        if self.new_ticket_limit is None:
            return False
        since = now - self.new_ticket_window
        return sum(1 for at in opened if at >= since) >= self.new_ticket_limit

    def own(self, channels: tuple[MailChannel, ...] = ()) -> frozenset[str]:
        """Our addresses: the policy's and every channel's."""
        return self.own_addresses.union(*(c.addresses for c in channels))
