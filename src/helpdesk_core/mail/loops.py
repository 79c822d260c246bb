"""Mail loops: should we answer this mail automatically, is it a bounce, which tickets it names.

Pure functions over a :class:`ParsedMail`. ``auto_response`` follows RFC 3834 and common
practice and says *why* an automatic answer must be suppressed with a stable, machine-readable
reason:

==================================  =====================================================
reason                              when
==================================  =====================================================
``auto-submitted: <value>``         ``Auto-Submitted`` present and not ``no``
``return-path: null``               ``Return-Path: <>``
``precedence: <value>``             ``Precedence`` says bulk, junk, list or auto_reply
``list-id``                         ``List-Id`` present
``list-unsubscribe``                ``List-Unsubscribe`` present
``x-auto-response-suppress: <v>``   Exchange's header with All/AutoReply/OOF/DR/RN/NRN
``x-autoreply``, ``x-autorespond``  non-standard autoresponder markers
``robot-sender: <local part>``      mailer-daemon, postmaster, noreply, do-not-reply ...
``own-address``                     the sender is one of our own addresses
``own-message-id``                  the Message-ID's domain is one of ours
``loop-header``                     our own loop header is present
``bounce``                          a delivery status notification (see ``bounce_info``)
``report: <report-type>``           any other ``multipart/report`` (read receipts, RFC 8098)
``auto-reply-subject``              the subject starts with an out-of-office marker
                                    ("Automatische Antwort:", "Out of Office:" ...)
==================================  =====================================================

The rules are checked in this order and the first one that matches is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import parseaddr

import attrs

from helpdesk_core.domain.numbering import TicketNumberFormat
from helpdesk_core.mail.parsed import ParsedMail
from helpdesk_core.mail.parser import parse_mail

__all__ = ["AutoResponse", "Bounce", "auto_response", "bounce_info", "ticket_numbers"]


@attrs.frozen
class AutoResponse:
    """``suppress`` is True when no automatic answer may go out; ``reason`` says why."""

    suppress: bool
    reason: str | None = None


@attrs.frozen
class Bounce:
    """``original_message_id`` is the Message-ID (``<...>``) of the mail that bounced."""

    is_bounce: bool
    original_message_id: str | None = None


_SUPPRESS_VALUES = {"all", "autoreply", "oof", "dr", "rn", "nrn"}
_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_ROBOT_LOCAL = re.compile(
    r"(?:[^@]*[-_.+])?(?:mailer[-_.]?daemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply|"
    r"dont[-_.]?reply|donotreply|bounces?)"
    r"(?:[-_.+].*)?",
    re.IGNORECASE,
)
_MSG_ID = re.compile(r"<([^<>\s]+)>")
_DAEMON_LOCAL = re.compile(r"mailer[-_.]?daemon|postmaster|mail[-_.]?delivery[-_.a-z]*",
                           re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered mail|delivery status notification|failure notice"
    r"|mail delivery failed|delivery failure|returned mail|returned to sender"
    r"|unzustellbar|nicht zustellbar|nedoru[čc]itel|nedoru[čc]ite[lľ]",
    re.IGNORECASE,
)
_AUTO_SUBJECT = re.compile(
    r"\s*(?:automatische antwort|automatic reply|auto[- ]?reply|autoreply|out of (?:the )?office"
    r"|abwesenheitsnotiz|abwesend|automatick[áa] odpov[ěe][ďd]|odpov[ěe][ďd] v nep[řr][íi]tomnosti"
    r"|nep[řr][íi]tomnost|nepr[íi]tomnos[ťt]|automatick[áa] odpove[ďd])\b[^:]{0,40}:",
    re.IGNORECASE,
)
_COPY_MARKER = re.compile(
    r"^.*(?:below this line is a copy of the message|this is a copy of the message"
    r"|original message follows|returned message|undelivered message"
    r"|message headers follow).*$",
    re.IGNORECASE | re.MULTILINE,
)
_ORIGINAL_ID_FIELDS = ("original-message-id", "x-original-message-id")
_HEADERS_TYPES = {"message/rfc822", "message/global", "text/rfc822-headers",
                  "message/global-headers"}


def _local_part(address: str | None) -> str:
    if not address or "@" not in address:
        return ""
    return address.rsplit("@", 1)[0].strip().strip('"')


def _domain(address: str | None) -> str:
    if not address or "@" not in address:
        return ""
    return address.rsplit("@", 1)[1].strip().strip("<>").lower().rstrip(".")


def _content_type(mail: ParsedMail) -> tuple[str, dict[str, str]]:
    value = mail.header("Content-Type") or ""
    main, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for item in rest.split(";"):
        key, sep, val = item.partition("=")
        if sep:
            params[key.strip().lower()] = val.strip().strip('"').lower()
    return main.strip().lower(), params


def _bare(value: str | None) -> str | None:
    """``local@domain`` out of a header value such as ``Name <local@domain>``."""
    if not value:
        return None
    address = parseaddr(value)[1]
    return address or None


def _is_robot(address: str | None) -> bool:
    return bool(_ROBOT_LOCAL.fullmatch(_local_part(address)))


def _first_id(text: str) -> str | None:
    match = _MSG_ID.search(text)
    if match:
        return f"<{match.group(1)}>"
    tokens = text.split()
    return f"<{tokens[0].strip('<>')}>" if tokens and "@" in tokens[0] else None


def _id_from_fields(text: str) -> str | None:
    """The first Original-Message-ID / X-Original-Message-ID field in a block of headers."""
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() in _ORIGINAL_ID_FIELDS:
            found = _first_id(value)
            if found:
                return found
    return None


def bounce_info(mail: ParsedMail) -> Bounce:
    """Whether ``mail`` reports a failed delivery, and the Message-ID of the failed mail.

    Standard DSNs (``multipart/report; report-type=delivery-status``, RFC 3464) and the common
    non-standard ones: a mailer-daemon/postmaster sender with the original attached as
    ``message/rfc822`` or ``text/rfc822-headers`` or with a bounce subject ("failure notice",
    "Mail delivery failed", "Unzustellbar" ...; qmail and Exim copy the original into the
    text), Exchange's ``X-MS-Exchange-Message-Is-Ndr`` and Exim's ``X-Failed-Recipients``.
    A report whose recipients were all delayed or delivered (``Action:`` other than
    ``failed``) is not a bounce.
    """
    ctype, params = _content_type(mail)
    kinds = {a.content_type for a in mail.attachments}
    standard = ctype == "multipart/report" and params.get("report-type") == "delivery-status"
    has_original = bool(kinds & _HEADERS_TYPES)
    robot = _is_robot(mail.from_address) or _is_robot(_bare(mail.header("Sender")))
    daemon = bool(_DAEMON_LOCAL.fullmatch(_local_part(mail.from_address)))
    non_standard = (
        (robot and (has_original or "message/delivery-status" in kinds))
        or (daemon and bool(_BOUNCE_SUBJECT.search(mail.subject)))
        or mail.header("X-MS-Exchange-Message-Is-Ndr") is not None
        or mail.header("X-Failed-Recipients") is not None
    )
    if not (standard or non_standard):
        return Bounce(False)
    if _only_delayed_or_delivered(mail):
        return Bounce(False)  # a delay warning or a success report: nothing failed
    return Bounce(True, _original_message_id(mail))


_ACTION = re.compile(r"^\s*Action\s*:\s*([A-Za-z-]+)", re.IGNORECASE | re.MULTILINE)


def _only_delayed_or_delivered(mail: ParsedMail) -> bool:
    """The delivery-status report names recipients, and none of them failed (RFC 3464
    actions delayed, delivered, relayed, expanded)."""
    actions: list[str] = []
    for attachment in mail.attachments:
        if attachment.content_type == "message/delivery-status":
            text = attachment.data[:200_000].decode("utf-8", "replace")
            actions.extend(a.lower() for a in _ACTION.findall(text))
    return bool(actions) and "failed" not in actions


def _original_message_id(mail: ParsedMail) -> str | None:
    for attachment in mail.attachments:
        if attachment.content_type in {"message/rfc822", "message/global"}:
            inner = parse_mail(attachment.data)
            if inner.message_id:
                return inner.message_id
        elif attachment.content_type in {"text/rfc822-headers", "message/global-headers"}:
            inner = parse_mail(attachment.data.rstrip(b"\r\n") + b"\n\n")
            if inner.message_id:
                return inner.message_id
    for attachment in mail.attachments:
        if attachment.content_type == "message/delivery-status":
            found = _id_from_fields(attachment.data.decode("utf-8", "replace"))
            if found:
                return found
    for field in _ORIGINAL_ID_FIELDS:
        value = mail.header(field)
        if value:
            found = _first_id(value)
            if found:
                return found
    return _id_from_fields(mail.body_text) or _copied_message_id(mail.body_text)


def _copied_message_id(text: str) -> str | None:
    """The Message-ID of the original that qmail, Exim and friends copy below a marker line
    ("--- Below this line is a copy of the message.") into the text of a bounce."""
    marker = _COPY_MARKER.search(text)
    if marker is None:
        return None
    for line in text[marker.end():].splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "message-id":
            return _first_id(value)
    return None


def auto_response(
    mail: ParsedMail,
    *,
    own_addresses: Iterable[str] = (),
    own_message_id_domains: Iterable[str] = (),
    loop_header: str = "X-Helpdesk-Loop",
) -> AutoResponse:
    """Whether an automatic answer to ``mail`` must be suppressed, and the first reason why."""
    auto_submitted = mail.header("Auto-Submitted")
    if auto_submitted is not None:
        value = auto_submitted.split(";", 1)[0].strip().lower()
        if value != "no":
            return AutoResponse(True, f"auto-submitted: {value or 'empty'}")
    return_path = mail.header("Return-Path")
    if return_path is not None and return_path.replace(" ", "") in {"<>", ""}:
        return AutoResponse(True, "return-path: null")
    precedence = "".join((mail.header("Precedence") or "").split()[:1]).lower()
    if precedence in _PRECEDENCE:
        return AutoResponse(True, f"precedence: {precedence}")
    if mail.header("List-Id") is not None:
        return AutoResponse(True, "list-id")
    if mail.header("List-Unsubscribe") is not None:
        return AutoResponse(True, "list-unsubscribe")
    suppress = mail.header("X-Auto-Response-Suppress")
    if suppress is not None:
        values = [v.strip().lower() for v in re.split(r"[,;\s]+", suppress) if v.strip()]
        matched = [v for v in values if v in _SUPPRESS_VALUES]
        if matched:
            return AutoResponse(True, f"x-auto-response-suppress: {matched[0]}")
    for marker in ("X-Autoreply", "X-Autorespond"):
        marker_value = mail.header(marker)
        if marker_value is not None and marker_value.strip().lower() not in {"no", "false", "0"}:
            return AutoResponse(True, marker.lower())
    for address in (mail.from_address, _bare(mail.header("Sender"))):
        if _is_robot(address):
            return AutoResponse(True, f"robot-sender: {_local_part(address).lower()}")
    own = {a.strip().lower() for a in own_addresses}
    if mail.from_address and mail.from_address.strip().lower() in own:
        return AutoResponse(True, "own-address")
    domains = {d.strip().lower().rstrip(".") for d in own_message_id_domains}
    if mail.message_id and _domain(mail.message_id.strip("<>")) in domains:
        return AutoResponse(True, "own-message-id")
    if mail.header(loop_header) is not None:
        return AutoResponse(True, "loop-header")
    if bounce_info(mail).is_bounce:
        return AutoResponse(True, "bounce")
    ctype, params = _content_type(mail)
    if ctype == "multipart/report":
        return AutoResponse(True, f"report: {params.get('report-type') or 'unknown'}")
    if _AUTO_SUBJECT.match(mail.subject):
        return AutoResponse(True, "auto-reply-subject")
    return AutoResponse(False)


def ticket_numbers(subject: str, fmt: TicketNumberFormat) -> tuple[str, ...]:
    """Our ticket numbers in ``subject``, upper-cased, unique, in the order they appear.

    Reply and forward markers (``Re:``, ``AW:``, ``WG:``, ``Fwd:``, ``SV:``, ``Odp:``,
    ``Re[3]:``) and foreign tags beside ours do not matter; a number that is only the start
    of a longer number is not ours.
    """
    found: list[str] = []
    for match in fmt.regex().finditer(subject):
        number = match.group(0).upper()
        if number not in found:
            found.append(number)
    return tuple(found)
