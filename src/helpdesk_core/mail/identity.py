"""Who wrote a mail: the one address a strict reading of its From header yields, or why
there is none; and whether a mail is our own.

A mail names its author in From, and only there. Sender, Reply-To and Return-Path say who
passed it on and where answers should go; they never say who wrote it, so they never stand
in for a From that is missing or in doubt.

:func:`sender_identity` reads the From header (the raw value, encoded words still encoded)
by these rules; the first that fails is the problem it reports:

1. there is exactly one From header, of at most :data:`MAX_FROM` characters;
2. a strict RFC 5322 parse of it (the standard library's header registry) yields exactly one
   mailbox, outside any group, and its addr-spec is a valid address. Two mistakes of
   real clients are repaired first, because they change nothing about *which* address is
   meant: single quotes around a display name (``'Müller, Hans' <hans@firma.de>``) and an
   unquoted name before a bare address (``Hans Meier hans@firma.de``);
3. no other address appears anywhere in the header — in an unquoted display name, a
   comment, an encoded word, before or after the brackets, in full-width characters — and no
   other reader (the lenient parser's addresses, passed as ``also``) took another one. The
   same address again (``"jana@example.cz" <jana@example.cz>``) is no doubt. A display name
   in double quotes (or Outlook's single quotes) before the bracketed address is only a name,
   whatever address it spells, unless it imitates a mailbox with ``<`` or ``>``:
   ``"info@firma.de via Portal" <noreply@portal.example>`` is noreply@portal.example;
4. an ``@`` outside the address is another address to some reader. A quoted local part
   (``"john smith"@example.com``) is an address like any other, and needless quotes
   (``"john.smith"@example.com``) are no second spelling.

So ``alice@example.org <mallory@evil.example>``, ``alice@example.org)<mallory@evil.example>``
and an encoded word that decodes to ``Alice <alice@example.org>`` have no identity: one reader
takes Alice, another Mallory, and the helpdesk may not choose for them. ``"alice@example.org"
<mallory@evil.example>`` is Mallory's, and never Alice's: the identity is the parsed
addr-spec, never display text.

:func:`own_mail` says why a mail is ours: sent from one of our addresses, carrying our loop
header with our token, or a Message-ID in our domain.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from email import errors
from email import policy as email_policy

import attrs

from helpdesk_core.domain.contacts import normalize_email
from helpdesk_core.errors import ValidationError
from helpdesk_core.mail.decode import DEFAULT_GUESSES, decode_header_value, raw_header_text
from helpdesk_core.mail.parsed import ParsedMail

__all__ = ["MAX_FROM", "SenderIdentity", "own_mail", "sender_identity"]

MAX_FROM = 2000

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\u202a-\u202e\u2066-\u2069]")
_ATOM = r"[^\s<>()\[\]\"',;:@\\]"
_LABEL = r"[^\s<>()\[\]\"',;:@\\.]+"
# Anything a reader could take for an address: local@domain.tld (the domain has a dot).
_ADDRESS_LIKE = re.compile(rf"{_ATOM}+@{_LABEL}(?:\.{_LABEL})+")
_SINGLE_QUOTED_NAME = re.compile(r"""(^|[,;]\s*)'([^'"<>]*)'\s*<""")
# "any text, \"escapes\" too" <address>: the whole header a quoted name and one bracket
_QUOTED_NAME_THEN_ADDRESS = re.compile(r'"((?:[^"\\]|\\.)*)"\s*<([^<>]*)>')
_NAME_THEN_BARE_ADDRESS = re.compile(r"([^<>()\"\\,;:@]*[^<>()\"\\,;:@\s])\s+"
                                     r"([^\s<>()\"\\,;:@]+@[^\s<>()\"\\,;:@]+)")


@attrs.frozen
class SenderIdentity:
    """``address`` is the one address From yields (as written; None when there is none);
    ``problem`` says why there is none, and is None exactly when ``address`` is set."""

    address: str | None
    name: str = ""
    problem: str | None = None


def _canonical(address: str) -> str:
    try:
        return normalize_email(address)
    except ValidationError:
        return address.strip().strip(".").casefold()


def _repaired(text: str) -> str:
    """The two harmless repairs of rule 2."""
    text = _SINGLE_QUOTED_NAME.sub(r'\1"\2" <', text)
    bare = _NAME_THEN_BARE_ADDRESS.fullmatch(text.strip())
    if bare is not None and text.count("@") == 1:
        return f'"{bare.group(1).strip()}" <{bare.group(2)}>'
    return text


def _readings(text: str, guesses: Sequence[str]) -> Iterable[str]:
    """The header as every reader could see it: raw, with encoded words decoded, and both
    folded to compatibility forms (a full-width at sign and letters read as @ and ASCII)."""
    decoded = decode_header_value(text, guesses=guesses)
    for variant in (text, decoded):
        yield variant
        yield unicodedata.normalize("NFKC", variant)


def _addresses_in(texts: Iterable[str]) -> dict[str, str]:
    """canonical form → first spelling of every address-like string in ``texts``."""
    found: dict[str, str] = {}
    for text in texts:
        for match in _ADDRESS_LIKE.findall(_CONTROL.sub("", text)):
            spelling = match.rstrip(".")
            found.setdefault(_canonical(spelling), spelling)
    return found


def sender_identity(values: Sequence[str], *, also: Iterable[str] = (),
                    guesses: Sequence[str] = DEFAULT_GUESSES) -> SenderIdentity:
    """The author of a mail whose From header(s) hold ``values`` (raw, as in the message);
    ``also`` are addresses another parser read from the same header."""
    if not values:
        return SenderIdentity(None, problem="no From header")
    if len(values) > 1:
        return SenderIdentity(None, problem=f"{len(values)} From headers")
    text = " ".join(_CONTROL.sub("", raw_header_text(values[0], guesses=guesses)).split())
    if not text:
        return SenderIdentity(None, problem="an empty From header")
    if len(text) > MAX_FROM:
        return SenderIdentity(None, problem=f"a From header longer than {MAX_FROM} characters")
    try:
        header = email_policy.default.header_factory("From", _repaired(text))
        groups = list(header.groups)
        mailboxes = list(header.addresses)
        defects = [str(d) for d in header.defects if isinstance(d, errors.InvalidHeaderDefect)]
    except Exception:  # the stdlib parser fails on some hostile input; then nobody knows
        return SenderIdentity(None, problem="a From header that cannot be parsed")
    named = [g.display_name for g in groups if g.display_name is not None]
    if named:
        return SenderIdentity(None, problem=f"a group in From ({named[0][:100]}:)")
    if len(mailboxes) != 1:
        specs = ", ".join(m.addr_spec for m in mailboxes)[:300]
        return SenderIdentity(None, problem=f"{len(mailboxes)} mailboxes in From"
                                            + (f" ({specs})" if specs else ""))
    mailbox = mailboxes[0]
    # (as written, or in Outlook's single quotes; not an unquoted name the repair quoted)
    quoted = _QUOTED_NAME_THEN_ADDRESS.fullmatch(
        _SINGLE_QUOTED_NAME.sub(r'\1"\2" <', text).strip())
    if quoted is not None and not set(mailbox.display_name) & set("<>"):
        # Rule 4: a quoted display name is only a name, whatever it says; what could be
        # read as an address is the part in brackets.
        text = f"<{quoted.group(2)}>"
        in_name = _addresses_in(_readings(quoted.group(1), guesses))
        also = [a for a in also if _canonical(a) not in in_name]
        readings = list(_readings(text, guesses))
    else:
        readings = [*_readings(text, guesses), mailbox.display_name]
    seen = _addresses_in([*readings, *also])
    try:
        address = normalize_email(mailbox.addr_spec)
    except ValidationError:
        shown = ", ".join(seen.values())[:300]
        return SenderIdentity(None, problem="no valid address in From" + (
            f" ({shown} only in its text)" if shown else ""))
    others = [spelling for canonical, spelling in seen.items() if canonical != address]
    if others:
        return SenderIdentity(None, problem=(
            f"more than one address in From: {mailbox.addr_spec}, {', '.join(others)}"[:400]))
    structural = [d for d in defects if "encoded word" not in d and "encoded-word" not in d]
    if structural:
        return SenderIdentity(None, problem=f"a malformed From ({structural[0]})")
    # The backstop: an @ that is not part of the address (mallory@[192.0.2.1], a quoted
    # local part, a host without a dot) is another address to some reader.
    local, _, domain = mailbox.addr_spec.rpartition("@")
    spelled = re.compile(  # as written, or with needless quotes ("john.smith"@example.com)
        f'(?:{re.escape(local)}|"{re.escape(local)}")@{re.escape(domain)}', re.IGNORECASE)
    for reading in readings:
        if "@" in spelled.sub("", reading):
            return SenderIdentity(None, problem=(
                f"an @ in From outside its address {mailbox.addr_spec}"))
    return SenderIdentity(mailbox.addr_spec, name=mailbox.display_name)


def own_mail(mail: ParsedMail, *, own_addresses: Iterable[str], message_id_domain: str,
             loop_header: str, loop_token: str) -> str | None:
    """Why ``mail`` is one of ours, or None: sent from one of ``own_addresses`` (the
    author by :func:`sender_identity`), carrying ``loop_header`` with ``loop_token``, or a
    Message-ID whose domain is ``message_id_domain``."""
    own = {_canonical(a) for a in own_addresses}
    if mail.sender_problem is None and mail.from_address is not None:
        author = _canonical(mail.from_address)
        if author in own:
            return f"sent from our address {author}"
    token = loop_token.strip().casefold()
    for value in mail.header_all(loop_header):
        if token and token in value.casefold():
            return f"carries our {loop_header}: {loop_token}"
    domain = message_id_domain.strip().rstrip(".").casefold()
    if mail.message_id and "@" in mail.message_id:
        right = mail.message_id.strip("<>").rsplit("@", 1)[1].strip().rstrip(".").casefold()
        if right == domain:
            return f"a Message-ID in our domain {domain}"
    return None
