"""``helpdesk.portal``: what a host's web pages or app call for a customer, and signed links.

Every method asks the one access policy first. A ticket the actor may not see answers
``TicketNotFound`` exactly as a ticket that does not exist — same type, same message for the
same key, nothing chained — because a customer may not learn which tickets exist. What a
stranger can call (opening a link, a ticket, a reply) counts against the rate limits of
``Settings.portal_limits``, per ``caller`` (the client's address, as the host knows it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

from helpdesk_core.domain.access import Action
from helpdesk_core.domain.portal import (
    OpenedLink,
    PortalArticle,
    PortalDownload,
    PortalTicket,
    PortalUpload,
)
from helpdesk_core.domain.queue import MAX_LIMIT, Page
from helpdesk_core.domain.ratelimit import RateRule
from helpdesk_core.domain.values import Actor, ActorKind
from helpdesk_core.errors import PermissionDenied, TicketNotFound, ValidationError
from helpdesk_core.facade.arguments import checked, in_range
from helpdesk_core.facade.guard import HOST, Guard
from helpdesk_core.services.portal import Portal

__all__ = ["PortalSection"]

DEFAULT_TTL = timedelta(days=30)


@checked
class PortalSection:
    def __init__(self, *, guard: Guard, portal: Portal) -> None:
        self._guard = guard
        self._portal = portal

    def _may(self, actor: Actor | None, action: Action, key: str) -> Actor:
        """The access check on ticket ``key``; "may not see it" is "there is none"."""
        hidden = False
        try:
            self._guard.check(actor, action, key)
        except PermissionDenied as refused:
            if refused.ticket is None:
                raise
            hidden = True
        if hidden:  # raised out here: no __context__ tells the two answers apart
            raise TicketNotFound(key)
        return actor if actor is not None else HOST

    def _limited(self, actor: Actor | None, caller: str | None, action: str,
                 rule_of: Callable[[], RateRule]) -> None:
        """Count a call of a customer, or of anyone the host names a ``caller`` for."""
        if caller is not None and not caller:
            raise ValidationError("must not be empty", field="caller")
        customer = actor is not None and actor.kind is ActorKind.CUSTOMER
        if caller is None and not customer:
            return  # the host's own call
        who = caller if caller is not None else f"customer:{actor.id if actor else ''}"
        rule = rule_of()
        self._portal.limit(action, who, rule)

    # -- reading --------------------------------------------------------------------------

    def my_tickets(self, *, actor: Actor | None = None, customer: str | None = None,
                   limit: int = 20, after: str | None = None) -> Page[PortalTicket]:
        """The tickets whose customer the actor is, newest first, ``limit`` a page;
        ``after``: the page before's ``next_cursor``. A customer always gets their own,
        whatever ``customer`` says; agents, the system and the host name the ``customer``."""
        self._guard.check(actor, Action.LIST_OWN_TICKETS)
        in_range(limit, field="limit", most=MAX_LIMIT)
        if limit < 1:
            raise ValidationError(f"must be from 1 to {MAX_LIMIT}", field="limit")
        if actor is not None and actor.kind is ActorKind.CUSTOMER:
            customer = actor.id
        elif customer is None:
            raise ValidationError("name the customer whose tickets to list", field="customer")
        return self._portal.my_tickets(customer, limit=limit, after=after,
                                       visible_to=self._guard.visibility(actor))

    def ticket(self, key: str, *, actor: Actor | None = None) -> PortalTicket:
        """The ticket as its customer sees it: number, subject, status in words, created,
        the SLA promise in words (or None), the ticket a merged one continues as."""
        self._may(actor, Action.READ_TICKET, key)
        return self._portal.ticket(key)

    def articles(self, key: str, *, actor: Actor | None = None) -> list[PortalArticle]:
        """The public messages, oldest first, each attachment with an opaque id."""
        self._may(actor, Action.READ_PUBLIC_ARTICLES, key)
        return self._portal.articles(key)

    def download(self, key: str, attachment: str, *,
                 actor: Actor | None = None) -> PortalDownload:
        """An attachment of a public message of ticket ``key`` by its opaque id: the bytes,
        the safe file name, the type and disposition to serve it with (``headers``).
        NotFound for an internal note's attachment or one not on the ticket."""
        self._may(actor, Action.READ_PUBLIC_ARTICLES, key)
        return self._portal.download(key, attachment)

    # -- what a customer does ----------------------------------------------------------------

    def open_ticket(self, fields: Mapping[str, object], *, actor: Actor | None = None,
                    caller: str | None = None) -> PortalTicket:
        """The portal's web form (email, name, message, optional subject, order_number,
        language). A signed-in customer's ticket is theirs: their e-mail address replaces the
        form's. Rate-limited per ``caller`` (or per customer)."""
        self._guard.check(actor, Action.OPEN_OWN_TICKET)
        self._limited(actor, caller, "open_ticket", lambda: self._portal.limits.open_ticket)
        customer = actor.id if actor is not None and actor.kind is ActorKind.CUSTOMER else None
        return self._portal.open_ticket(dict(fields), customer_id=customer)

    def reply(self, key: str, text: str, *, actor: Actor,
              files: Sequence[PortalUpload] = (), caller: str | None = None) -> PortalArticle:
        """The customer's message with files: public and inbound, it reopens a ticket
        waiting on them, resolved or closed; on a merged ticket it lands on the ticket that
        one continues as. Rate-limited per ``caller`` (or per customer)."""
        author = self._may(actor, Action.REPLY, key)
        self._limited(actor, caller, "reply", lambda: self._portal.limits.reply)
        return self._portal.reply(key, text, author=author, files=files)

    def reopen(self, key: str, *, actor: Actor) -> PortalTicket:
        """Back to open, from waiting on the customer, resolved or closed."""
        who = self._may(actor, Action.REOPEN, key)
        return self._portal.move(key, Action.REOPEN, actor=who)

    def close(self, key: str, *, actor: Actor) -> PortalTicket:
        """To closed (or resolved, when the workflow offers no close from here)."""
        who = self._may(actor, Action.CLOSE, key)
        return self._portal.move(key, Action.CLOSE, actor=who)

    # -- signed links -----------------------------------------------------------------------

    def issue_link(self, ticket: str, *, actor: Actor | None = None,
                   ttl: timedelta = DEFAULT_TTL, contact: str | None = None) -> str:
        """A signed link's token (URL-safe, at least 128 random bits) that opens ``ticket``
        (the ticket a merged one continues as) for its customer, or for ``contact`` (a
        participant's contact id), for ``ttl`` (a minute to ``PortalLimits.longest_link``).
        Only the token's hash is stored: keep the token only in the link you send."""
        self._guard.check(actor, Action.ISSUE_LINK)  # agents and the system: no ticket read
        return self._portal.issue_link(ticket, contact_id=contact, ttl=ttl)

    def open_link(self, token: str, *, caller: str | None = None) -> OpenedLink:
        """The customer actor and the ticket a token opens; ``LinkRefused`` (with its
        ``reason``) when it does not, ``RateLimited`` when ``caller`` (the client's address;
        default: the token's link id) tried too often or failed too often."""
        if caller is not None and not caller:
            raise ValidationError("must not be empty", field="caller")
        return self._portal.open_link(token, caller=caller)

    def revoke_link(self, token: str, *, actor: Actor | None = None) -> bool:
        """Revoke one link (by its token or its link id); False when there is none or it
        was revoked before."""
        self._guard.check(actor, Action.REVOKE_LINK)
        return self._portal.revoke_link(token)

    def revoke_links(self, *, actor: Actor | None = None, ticket: str | None = None,
                     contact: str | None = None) -> int:
        """Revoke every link of ``ticket`` (id or number), of ``contact``, or of both; how
        many were revoked."""
        self._guard.check(actor, Action.REVOKE_LINK)
        return self._portal.revoke_links(ticket=ticket, contact_id=contact)
