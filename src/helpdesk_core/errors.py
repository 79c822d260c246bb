"""Every error helpdesk_core raises, in one tree.

::

    HelpdeskError
    ├── DomainError                    a business rule refused the request
    │   ├── ValidationError            (also ValueError) bad input: field, value, reason
    │   │   ├── TemplateError          a template refused or failed: problems with lines
    │   │   ├── SmsTooLong             an SMS over the policy's segment cap (segments, limit)
    │   │   └── UnknownStaff           an agent or team the staff directory does not list
    │   ├── InvalidTransition          (also ValueError) status move not in the workflow
    │   ├── OrderNotOwned              (also PermissionError) order belongs to someone else
    │   └── MergeConflict              tickets that cannot be merged
    ├── PermissionDenied               (also PermissionError) the actor may not do that at all
    ├── LinkRefused                    (also PermissionError) a signed portal link that does
    │                                  not open: malformed, altered, expired, revoked ...
    ├── RateLimited                    too many calls from one caller: ``retry_after``
    ├── NotFound                       (also LookupError)
    │   ├── TicketNotFound
    │   ├── ContactNotFound
    │   ├── OrderNotFound
    │   └── TemplateNotFound           no template applies: what was looked for, what exists
    ├── ConcurrencyError               stale version: someone saved the ticket first
    ├── ConfigurationError             (also ValueError) settings that cannot work
    │   └── SchemaError                the database's schema is missing, older or newer than
    │                                  the storage adapter needs (current, required)
    ├── AdapterError                   an adapter failed; the driver error is ``__cause__``
    │   ├── StorageError
    │   │   └── StorageUnavailable     the database cannot be reached or take writes now
    │   ├── MailboxError               an IMAP/POP3 server failed, refused or went away
    │   │   ├── MessageTooLarge        a message over the download limit (key, size, limit)
    │   │   └── AcknowledgementRefused the server refused to flag/move/delete one message
    │   └── DeliveryError              ``transient`` says whether a retry can help
    └── PluginError                    a plugin failed to load or registered nonsense

Adapters translate their driver's exceptions at the boundary (``raise StorageError(...) from
exc``), so a host only ever catches these. Each class that has an obvious builtin twin also
subclasses it, so ``except LookupError`` keeps working in host code that knows nothing of us.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from helpdesk_core.domain.templates import TemplateProblem
    from helpdesk_core.domain.values import Actor

__all__ = [
    "AcknowledgementRefused",
    "AdapterError",
    "ConcurrencyError",
    "ConfigurationError",
    "ContactNotFound",
    "DeliveryError",
    "DomainError",
    "HelpdeskError",
    "InvalidTransition",
    "LinkRefused",
    "MailboxError",
    "MergeConflict",
    "MessageTooLarge",
    "NotFound",
    "OrderNotFound",
    "OrderNotOwned",
    "PermissionDenied",
    "PluginError",
    "RateLimited",
    "SchemaError",
    "SmsTooLong",
    "StorageError",
    "StorageUnavailable",
    "TemplateError",
    "TemplateNotFound",
    "TicketNotFound",
    "UnknownStaff",
    "ValidationError",
]


class HelpdeskError(Exception):
    """Base of every error raised by helpdesk_core and its adapters."""


class DomainError(HelpdeskError):
    """A business rule refused the request; nothing was changed."""


class ValidationError(DomainError, ValueError):
    """Input that cannot be accepted. ``field`` names the offending input, if there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


class SmsTooLong(ValidationError):
    """An SMS needs more segments than the sending policy allows; nothing was sent."""

    def __init__(self, *, segments: int, limit: int, encoding: str) -> None:
        super().__init__(
            f"needs {segments} SMS segments ({encoding}), over the limit of {limit}",
            field="text",
        )
        self.segments = segments
        self.limit = limit
        self.encoding = encoding


class UnknownStaff(ValidationError):
    """An agent id or team key that the staff directory does not list, where the directory
    lists its people (with no staff configured, any id is taken as given). ``kind`` is
    ``"agent"`` or ``"team"``, ``value`` what was given, ``suggestions`` the ids or keys whose
    display name (or id, in another case) is ``value`` — "Jana Nováková" for ``jana``."""

    def __init__(self, kind: str, value: str, *, field: str,
                 suggestions: Iterable[str] = ()) -> None:
        self.kind = kind
        self.value = value
        self.suggestions: tuple[str, ...] = tuple(suggestions)
        hint = ""
        if self.suggestions:
            hint = "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(f"no {kind} {value!r} in the staff directory{hint}", field=field)


class TemplateError(ValidationError):
    """A template was refused when saved, or could not be rendered (a limit, a missing
    value). ``problems`` lists each reason with its part and line; ``key`` names the template."""

    def __init__(self, problems: Iterable[TemplateProblem], *, key: str | None = None) -> None:
        self.problems: tuple[TemplateProblem, ...] = tuple(problems)
        self.key = key
        detail = "; ".join(str(p) for p in self.problems) or "refused"
        super().__init__(f"{key!r}: {detail}" if key else detail, field="template")


class InvalidTransition(DomainError, ValueError):
    """The workflow has no move from the ticket's current status to the requested one."""

    def __init__(self, from_status: str, to_status: str, *, reason: str | None = None) -> None:
        detail = f" ({reason})" if reason else ""
        super().__init__(f"cannot move a ticket from {from_status!r} to {to_status!r}{detail}")
        self.from_status = from_status
        self.to_status = to_status


class OrderNotOwned(DomainError, PermissionError):
    """An order was named by someone who is not its customer."""

    def __init__(self, order_number: str) -> None:
        super().__init__(f"order {order_number!r} does not belong to this customer")
        self.order_number = order_number


class MergeConflict(DomainError):
    """The tickets cannot be merged (the same ticket, already merged, or a cycle)."""


class PermissionDenied(HelpdeskError, PermissionError):
    """The access policy (:mod:`helpdesk_core.domain.access`) refused the actor this action;
    nothing was loaded for writing and nothing was written.

    ``actor`` is who asked, ``action`` the refused action's value (``"assign"``), ``ticket``
    the ticket's number when the action was on one, ``reason`` why in a few words. Not a
    :class:`DomainError`: the request was never weighed against the ticket's rules.
    """

    def __init__(self, actor: Actor, action: str, *, ticket: str | None = None,
                 reason: str | None = None) -> None:
        on = f" (ticket {ticket})" if ticket else ""
        why = f": {reason}" if reason else ""
        super().__init__(f"{_who(actor)} may not {action.replace('_', ' ')}{on}{why}")
        self.actor = actor
        self.action = action
        self.ticket = ticket
        self.reason = reason


def _who(actor: Actor) -> str:
    # Read by attribute, not by class: errors.py imports nothing from the domain at run time.
    kind = getattr(getattr(actor, "kind", None), "value", "someone")
    ident = getattr(actor, "id", None)
    if kind == "system":
        return "the system"
    return f"{kind} {ident}" if ident else f"{kind} without an id"


class LinkRefused(HelpdeskError, PermissionError):
    """A signed portal link that does not open (``helpdesk.portal.open_link``).

    ``reason`` says why, for the host's log and its page: ``"invalid"`` (not a token, cut
    short, altered, made with another secret, or unknown), ``"expired"``, ``"revoked"``,
    ``"email_changed"`` (the contact's e-mail changed since it was issued), ``"merged"`` (the
    ticket was merged; the customer should be sent a link to the ticket it continues as).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"the link does not open: {reason.replace('_', ' ')}")
        self.reason = reason


class RateLimited(HelpdeskError):
    """One caller (an address, a token) made too many calls of one kind; nothing was done.

    ``action`` is what was limited (``"open_link"``), ``retry_after`` the seconds (a float,
    rounded up by a host for a ``Retry-After`` header) until a call can succeed again.
    """

    def __init__(self, action: str, *, retry_after: float) -> None:
        super().__init__(f"too many {action.replace('_', ' ')} calls; try again in "
                         f"{max(retry_after, 0.0):.0f} s")
        self.action = action
        self.retry_after = max(retry_after, 0.0)


class NotFound(HelpdeskError, LookupError):
    """Something looked up by key does not exist."""


class TicketNotFound(NotFound):
    def __init__(self, key: str) -> None:
        super().__init__(f"no ticket {key!r}")
        self.key = key


class ContactNotFound(NotFound):
    def __init__(self, key: str) -> None:
        super().__init__(f"no contact {key!r}")
        self.key = key


class OrderNotFound(NotFound):
    def __init__(self, number: str) -> None:
        super().__init__(f"no order {number!r}")
        self.number = number


class TemplateNotFound(NotFound):
    """No template ``key`` applies to a ticket. ``incident_type`` is the ticket's (None: it
    has none; its broader types were tried too), ``languages`` the languages tried in order,
    ``available`` the (incident type, language) pairs the key exists for (incident type None:
    for every type) and ``ticket`` the ticket's number. The message says both, so a template
    written for another incident type or language is not mistaken for a missing one."""

    MAX_LISTED = 10  # incident types named in the message; the rest are counted

    def __init__(self, key: str, *, languages: Iterable[str], incident_type: str | None = None,
                 available: Iterable[tuple[str | None, str]] = (),
                 ticket: str | None = None) -> None:
        self.key = key
        self.incident_type = incident_type
        self.languages = tuple(languages)
        self.available = tuple(sorted(set(available), key=lambda p: (p[0] or "", p[1])))
        self.ticket = ticket
        super().__init__(self._describe())

    def _describe(self) -> str:
        prefix = f"ticket {self.ticket}: " if self.ticket else ""
        if not self.available:
            return (f"{prefix}no template {self.key!r} exists, in any language or for any "
                    f"incident type")
        looked = (f"for incident type {self.incident_type!r}" if self.incident_type
                  else "for a ticket without incident type")
        by_type: dict[str | None, list[str]] = {}
        for type_key, language in self.available:
            by_type.setdefault(type_key, []).append(language)
        found = []
        if None in by_type:
            found.append(f"every incident type ({', '.join(by_type.pop(None))})")
        if by_type:
            listed = [f"{t} ({', '.join(langs)})" for t, langs in by_type.items()]
            more = len(listed) - self.MAX_LISTED
            shown = ", ".join(listed[:self.MAX_LISTED]) + (f" and {more} more" if more > 0
                                                            else "")
            found.append(f"incident types: {shown}")
        return (f"{prefix}no template {self.key!r} {looked} in {_either(self.languages)}; "
                f"it exists for {' and for '.join(found)}")


def _either(items: tuple[str, ...]) -> str:
    """cs · cs or en · cs, de or en"""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"


class ConcurrencyError(HelpdeskError):
    """The object changed since it was loaded; reload and try again. Nothing was overwritten."""


class ConfigurationError(HelpdeskError, ValueError):
    """Settings or wiring that cannot work (unknown adapter name, bad number format...)."""


class SchemaError(ConfigurationError):
    """The database's schema is not the one the storage adapter needs, and ``bootstrap()`` was
    not allowed to change it (``Settings(migrate=False)``), or it is newer than the adapter
    (written by a later version; a schema is never downgraded). Nothing was changed.

    ``current`` is the schema's revision (``None``: there is no schema), ``required`` the one
    the adapter needs. The message says how to create or upgrade it.
    """

    def __init__(self, message: str, *, current: str | None, required: str) -> None:
        super().__init__(message)
        self.current = current
        self.required = required


class AdapterError(HelpdeskError):
    """An adapter failed talking to its backend; the backend's own error is ``__cause__``."""


class StorageError(AdapterError):
    """The storage backend failed (connection, constraint, timeout)."""


class StorageUnavailable(StorageError):
    """The database could not be reached or could not take the write *now*: the connection
    was lost or refused, the server is shutting down or restarting, the disk is full, a lock
    was not granted in time. Nothing about the data is wrong; the transaction was rolled
    back, and the same work can succeed later. Work queues (the mail fetch loop) stop or
    wait on it instead of counting it against the item they were handling."""


class MailboxError(AdapterError):
    """A mail server failed, refused the login or dropped the connection; nothing was lost."""


class MessageTooLarge(MailboxError):
    """The message is larger than the download limit; it was not downloaded."""

    def __init__(self, key: str, size: int, limit: int) -> None:
        super().__init__(f"message {key} has {size} bytes, over the limit of {limit}")
        self.key = key
        self.size = size
        self.limit = limit


class AcknowledgementRefused(MailboxError):
    """The server refused to flag, move or delete one message (an IMAP ``NO`` to ``UID
    STORE``/``UID MOVE``/``UID EXPUNGE``, a POP3 ``-ERR`` to ``DELE``) while the session
    itself is fine. ``key`` names the message; the fetch loop records it on the message and
    goes on with the next one."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


class DeliveryError(AdapterError):
    """A message could not be handed over. ``transient`` is true when a later retry can help;
    ``uncertain`` when the connection broke after the message data was sent but before the
    server answered — it may have been delivered, so it must not be sent again by itself."""

    def __init__(self, message: str, *, transient: bool, uncertain: bool = False) -> None:
        super().__init__(message)
        self.transient = transient and not uncertain
        self.uncertain = uncertain


class PluginError(HelpdeskError):
    """A plugin could not be loaded, or registered something invalid."""
