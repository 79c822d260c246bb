"""The customer portal: what a host's pages call for a customer, and signed ticket links.

Every command loads through a unit, calls the domain (:mod:`helpdesk_core.domain.portal`,
the ticket's own methods) and commits; who may call what is the facade's check, before this
runs. The rate limits are checked here, before anything is read: a refused call does nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

import attrs

from helpdesk_core.domain.access import Action, TicketScope
from helpdesk_core.domain.article import Article, AttachmentMeta
from helpdesk_core.domain.portal import (
    OpenedLink,
    PortalArticle,
    PortalDownload,
    PortalLimits,
    PortalTicket,
    PortalUpload,
    check_ttl,
    customer_move,
    email_digest,
    issue_link,
    link_refusal,
    parse_attachment_id,
    parse_token,
    promise_words,
)
from helpdesk_core.domain.queue import Page, QueueSort, TicketQuery, Visibility
from helpdesk_core.domain.ratelimit import RateRule
from helpdesk_core.domain.status import Workflow
from helpdesk_core.domain.ticket import Ticket, participants
from helpdesk_core.domain.values import Actor, Channel
from helpdesk_core.errors import (
    InvalidTransition,
    LinkRefused,
    NotFound,
    RateLimited,
    TicketNotFound,
    ValidationError,
)
from helpdesk_core.ports import BlobStore, Clock, Directory
from helpdesk_core.ports.ratelimit import RateLimiter
from helpdesk_core.services.intake import Intake
from helpdesk_core.services.sla import SlaService
from helpdesk_core.services.unit_of_work import Unit, Units
from helpdesk_core.sla import ClockState, TargetKind

__all__ = ["Portal"]

_ANSWER = (TargetKind.FIRST_RESPONSE, TargetKind.NEXT_RESPONSE)
_RUNNING = (ClockState.RUNNING, ClockState.PAUSED)


class Portal:
    def __init__(self, *, units: Units, clock: Clock, directory: Directory, workflow: Workflow,
                 blob_store: BlobStore, intake: Intake, sla: SlaService, zone: tzinfo,
                 secret: str | None, limits: PortalLimits, limiter: RateLimiter) -> None:
        self.units = units
        self.clock = clock
        self.directory = directory
        self.workflow = workflow
        self.blob_store = blob_store
        self.intake = intake
        self.sla = sla
        self.zone = zone
        self.secret = secret
        self.limits = limits
        self.limiter = limiter

    # -- rate limits ----------------------------------------------------------------------

    def limit(self, action: str, caller: str, rule: RateRule) -> None:
        """Count one call of ``caller``; RateLimited (nothing counted) when it is over."""
        wait = self.limiter.take(f"{action}\x1f{caller}", rule, now=self.clock.now())
        if wait is not None:
            raise RateLimited(action, retry_after=wait)

    # -- reading --------------------------------------------------------------------------

    def scope(self, key: str) -> TicketScope:
        """The ticket as the access policy sees it (participants as contact ids)."""
        ticket, addresses = self.units.read(
            lambda unit: (t := unit.tickets.load(key), participants(unit.tickets.history(t.id))))
        ids = [c.id for c in map(self.directory.customer_by_email, sorted(addresses)) if c]
        return TicketScope.from_ticket(ticket, ids)

    def my_tickets(self, customer_id: str | None, *, limit: int, after: str | None,
                   visible_to: Visibility | None = None) -> Page[PortalTicket]:
        """The customer's tickets, newest first, a page at a time (``after``: the cursor of
        the page before). Without a customer id: none. ``visible_to``: only those an agent
        limited to their teams sees."""
        if not customer_id:
            return Page([], None)
        query = TicketQuery(customer_id=customer_id, sort=QueueSort.NEWEST, limit=limit,
                            after=after, visible_to=visible_to)
        with self.units(read_only=True) as unit:
            page = unit.tickets.query(query)
        return Page([PortalTicket.of(t, self.workflow) for t in page.items], page.next_cursor)

    def ticket(self, key: str) -> PortalTicket:
        with self.units(read_only=True) as unit:
            ticket = unit.tickets.load(key)
            target = unit.tickets.live(ticket.id) if ticket.merged_into else None
        return self._view(ticket, continues_as=target.number if target else None)

    def _view(self, ticket: Ticket, *, continues_as: str | None = None) -> PortalTicket:
        return PortalTicket.of(ticket, self.workflow, promise=self._promise(ticket),
                               continues_as=continues_as)

    def _promise(self, ticket: Ticket) -> str | None:
        now = self.clock.now()
        if not ticket.status_category.is_active:
            return None
        clocks = self.sla.clocks(ticket.id, now=now)
        answer = resolve = None
        if clocks is not None:
            for clock in clocks.clocks:
                if not clock.open or clock.state not in _RUNNING:
                    continue
                if clock.kind in _ANSWER and answer is None:
                    answer = (clock.duration, clock.due)
                elif clock.kind is TargetKind.RESOLUTION:
                    resolve = (clock.duration, clock.due)
        return promise_words(answer=answer, resolve=resolve, due_at=ticket.due_at, now=now,
                             zone=self.zone)

    def articles(self, key: str) -> list[PortalArticle]:
        with self.units(read_only=True) as unit:
            ticket = unit.tickets.load(key)
            found = unit.tickets.articles(ticket.id)
        return [PortalArticle.of(a) for a in found if a.public]

    def download(self, key: str, attachment: str) -> PortalDownload:
        """An attachment of a public article of the ticket, by its opaque id; NotFound for
        anything else (an internal note's, another ticket's, an id that was never made)."""
        parsed = parse_attachment_id(attachment)
        missing = NotFound(f"no attachment {attachment!r} on ticket {key!r}")
        if parsed is None:
            raise missing
        article_id, index = parsed
        with self.units(read_only=True) as unit:
            ticket = unit.tickets.load(key)
            found = [a for a in unit.tickets.articles(ticket.id)
                     if a.id == article_id and a.public]
        if not found or index >= len(found[0].attachments):
            raise missing
        meta = found[0].attachments[index]
        try:
            data = self.blob_store.get(meta.blob_key)
        except NotFound:
            raise missing from None
        return PortalDownload.of(meta, data)

    # -- what a customer does ----------------------------------------------------------------

    def open_ticket(self, fields: dict[str, object], *, customer_id: str | None) -> PortalTicket:
        """A web form; a signed-in customer's form is theirs: their first e-mail address
        names the ticket's customer, whatever the form says."""
        form = dict(fields)
        if customer_id:
            contact = self.directory.customer(customer_id)
            if contact is None or not contact.emails:
                raise ValidationError("the signed-in customer has no e-mail address",
                                      field="actor")
            form["email"] = contact.emails[0]
            form.setdefault("name", contact.name)
        return self._view(self.intake.open_from_web_form(form))

    def reply(self, key: str, text: str, *, author: Actor,
              files: Sequence[PortalUpload]) -> PortalArticle:
        """A public inbound article from the customer; on a merged ticket it lands on the
        ticket it continues as. A ticket waiting on the customer, resolved or closed opens
        again (as a reply by mail does)."""
        files = tuple(files)
        if sum(len(f.data) for f in files) > self.limits.largest_upload:
            raise ValidationError(f"files of more than {self.limits.largest_upload} bytes",
                                  field="files")
        metas = tuple(self._described(f) for f in files)  # refused names store nothing

        def work(unit: Unit) -> Article:
            ticket = unit.tickets.live(key)
            # In the unit's transaction: the bytes are stored exactly when the reply is.
            stored = tuple(attrs.evolve(m, blob_key=self.blob_store.put(
                f.data, unit=unit.storage_unit)) for m, f in zip(metas, files, strict=True))
            return ticket.customer_replied(channel=Channel.WEB_FORM, author=author,
                                           body_text=text, at=self.clock.now(),
                                           workflow=self.workflow, public=True,
                                           attachments=stored)

        article = self.units.retrying(work)
        return PortalArticle.of(article)

    @staticmethod
    def _described(upload: PortalUpload) -> AttachmentMeta:
        return AttachmentMeta.received(blob_key="-", filename=upload.filename,
                                       declared_type=upload.content_type,
                                       size=len(upload.data), head=upload.data[:32])

    def move(self, key: str, action: Action, *, actor: Actor) -> PortalTicket:
        """Reopen or close (``action``), to the status the workflow offers for it."""

        def change(ticket: Ticket) -> None:
            target = customer_move(self.workflow, ticket.status, action)
            if target is None:
                raise InvalidTransition(ticket.status, action.value,
                                        reason=f"no way to {action.value} from here")
            ticket.transition(target, workflow=self.workflow, at=self.clock.now(),
                              actor=actor)

        return self._view(self.units.change(key, change)[0])

    # -- signed links -----------------------------------------------------------------------

    def issue_link(self, key: str, *, contact_id: str | None, ttl: timedelta) -> str:
        """A token that opens the ticket (the one a merged ticket continues as) for its
        customer, or for ``contact_id``, who must be its customer or a participant."""
        check_ttl(ttl, self.limits)
        email_digest(self.secret, None)  # refuses a missing secret before anything is read
        scope = self.scope(key)
        with self.units(read_only=True) as unit:
            ticket = unit.tickets.live(scope.ticket_id)
        contact = contact_id if contact_id is not None else scope.customer_id
        if not contact:
            raise ValidationError("the ticket has no customer: name the contact",
                                  field="contact")
        if ticket.id != scope.ticket_id:
            scope = self.scope(ticket.id)
        if not scope.involves(contact):
            raise ValidationError("is neither the ticket's customer nor a participant",
                                  field="contact")
        person = self.directory.customer(contact)
        email = person.emails[0] if person is not None and person.emails else None
        token, link = issue_link(secret=self.secret, ticket_id=ticket.id, contact_id=contact,
                                 email=email, issued_at=self.clock.now(), ttl=ttl)
        with self.units() as unit:
            unit.portal_links.add(link)
            unit.commit()
        return token

    def open_link(self, token: str, *, caller: str | None) -> OpenedLink:
        """The customer and ticket a token opens, or LinkRefused; every failure counts
        against the caller, and a caller out of failures is refused before the token is
        looked at."""
        email_digest(self.secret, None)  # a missing secret is the deployment's error
        parts = parse_token(token)
        who = caller if caller else f"token:{parts[0] if parts else '-'}"
        now = self.clock.now()
        failures = f"open_link_failures\x1f{who}"
        wait = self.limiter.wait(failures, self.limits.failed_links, now=now)
        if wait is not None:
            raise RateLimited("open_link_failures", retry_after=wait)
        self.limit("open_link", who, self.limits.open_link)
        try:
            return self._open(token, parts, now)
        except LinkRefused:
            self.limiter.take(failures, self.limits.failed_links, now=now)
            raise

    def _open(self, token: str, parts: tuple[str, str, str] | None,
              now: datetime) -> OpenedLink:
        with self.units(read_only=True) as unit:
            link = unit.portal_links.get(parts[0]) if parts else None
            ticket = None
            if link is not None:
                try:
                    ticket = unit.tickets.get(link.ticket_id)
                except TicketNotFound:
                    link = None
        person = self.directory.customer(link.contact_id) if link is not None else None
        email = person.emails[0] if person is not None and person.emails else None
        reason = link_refusal(token, link, secret=self.secret,
                              current_email_digest=email_digest(self.secret, email),
                              merged=ticket is not None and ticket.merged_into is not None,
                              now=now)
        if reason is not None or link is None or ticket is None:
            raise LinkRefused(reason or "invalid")
        if not self.scope(ticket.id).involves(link.contact_id):
            raise LinkRefused("invalid")  # no longer the ticket's customer or a participant
        actor = Actor.customer(link.contact_id, person.name if person is not None else "")
        return OpenedLink(actor=actor, ticket=self._view(ticket), expires_at=link.expires_at)

    def revoke_link(self, token: str) -> bool:
        """Revoke the link of ``token`` (or of its link id); False when there is none."""
        parts = parse_token(token)
        link_id = parts[0] if parts else token
        with self.units() as unit:
            done = unit.portal_links.revoke(link_id, at=self.clock.now())
            unit.commit()
        return done

    def revoke_links(self, *, ticket: str | None, contact_id: str | None) -> int:
        """Revoke every link of the ticket (by id or number), of the contact, or of both."""
        if ticket is None and contact_id is None:
            raise ValidationError("name a ticket, a contact or both", field="ticket")
        ticket_id = None
        if ticket is not None:
            with self.units(read_only=True) as unit:
                ticket_id = unit.tickets.load(ticket).id
        with self.units() as unit:
            count = unit.portal_links.revoke_all(at=self.clock.now(), ticket_id=ticket_id,
                                                 contact_id=contact_id)
            unit.commit()
        return count
