"""Exporting and erasing one contact's personal data (GDPR articles 15, 17 and 20).

The contact is one of the built-in directory's (``ContactRepository``); their tickets are
those whose customer they are and those on which one of their addresses was added as a
participant or recorded from Cc. The rules of what a stored value becomes are in
:mod:`helpdesk_core.domain.privacy`; this service gathers, calls them and commits.

An erasure is one unit of work: every rewrite, the blobs' deletion, the contact's record and
an event on each ticket commit together or not at all; a unit that lost a race with another
writer runs again on fresh data. It is idempotent: a contact already erased is reported as
such and nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs

from helpdesk_core.domain.article import Article
from helpdesk_core.domain.contacts import Contact
from helpdesk_core.domain.mailbox import StagedMail
from helpdesk_core.domain.privacy import (
    ErasureReport,
    ExportedFile,
    PersonalDataExport,
    Scrubber,
    blob_keys,
    is_erased,
)
from helpdesk_core.domain.queue import MAX_LIMIT, TicketQuery
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Actor, clean_line
from helpdesk_core.errors import NotFound, ValidationError
from helpdesk_core.ports import BlobStore, Clock
from helpdesk_core.services.unit_of_work import Unit, Units

__all__ = ["Privacy"]


def _safe(part: str) -> str:
    return re.sub(r"[^\w.@+-]", "_", part)[:120] or "_"


def _tickets(unit: Unit, contact: Contact) -> list[Ticket]:
    """The contact's tickets: as customer (every status, merged ones too), then as
    participant or Cc."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page = unit.tickets.query(TicketQuery(customer_id=contact.id, limit=MAX_LIMIT,
                                              sort="newest", after=cursor))
        ids += [t.id for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    if contact.emails:
        ids += sorted(unit.storage_unit.erasure.tickets_with_address(contact.emails))
    return [unit.tickets.get(ticket_id) for ticket_id in dict.fromkeys(ids)]


def _addressed_to(contact: Contact, recipients: Iterable[str]) -> bool:
    mine = {*contact.emails, *contact.phones}
    return any(r.casefold() in mine or r in mine for r in recipients)


@attrs.frozen
class _Erased:
    report: ErasureReport
    blobs: frozenset[str]


class Privacy:
    def __init__(self, *, units: Units, blob_store: BlobStore, clock: Clock) -> None:
        self.units = units
        self.blob_store = blob_store
        self.clock = clock

    # -- export ---------------------------------------------------------------------------

    def export(self, contact_id: str) -> PersonalDataExport:
        """Everything stored about the contact; ContactNotFound if the built-in directory
        does not know them."""
        with self.units(read_only=True) as unit:
            contact = unit.contacts.get(contact_id)
            tickets = _tickets(unit, contact)
            store, raw = unit.storage_unit.erasure, unit.storage_unit.tickets
            ids = [t.id for t in tickets]
            articles: list[Article] = []
            events = []
            outbox = []
            for ticket in tickets:
                articles += [a for a in raw.articles(ticket.id)
                             if a.public or a.author.id == contact.id]
                events += raw.history(ticket.id)
                outbox += [m for m in unit.outbox.for_ticket(ticket.id)
                           if _addressed_to(contact, (*m.recipients, *m.cc))]
            own = {a.id for a in articles if a.author.id == contact.id}
            mine = {t.id for t in tickets if t.customer_id == contact.id}
            staged = [m for m in store.staged_for_tickets(ids)
                      if m.article_id in own or m.ticket_id in mine]
            messages = store.message_records(ids)
            senders = [s for e in contact.emails
                       if (s := unit.automatic_senders.get(e)) is not None]
        return PersonalDataExport(
            contact=contact, exported_at=self.clock.now(),
            tickets=tuple(t.snapshot() for t in tickets), articles=tuple(articles),
            events=tuple(events), outbox=tuple(outbox), messages=tuple(messages),
            automatic_senders=tuple(senders), staged_mail=tuple(staged),
            files=tuple(self._files(articles, staged)))

    def _files(self, articles: list[Article], staged: list[StagedMail]) -> list[ExportedFile]:
        files: list[ExportedFile] = []
        for article in articles:
            for n, meta in enumerate(article.attachments, start=1):
                data = self._bytes(meta.blob_key)
                if data is not None:
                    files.append(ExportedFile(
                        path=f"files/{_safe(article.id)}/{n}-{_safe(meta.filename)}",
                        filename=meta.filename, content_type=meta.content_type, data=data,
                        article_id=article.id))
        for mail in staged:
            data = self._bytes(mail.blob_key) if mail.blob_key else None
            if data is not None:
                files.append(ExportedFile(
                    path=f"mail/{_safe(mail.account)}-{_safe(mail.key)}.eml",
                    filename=f"{_safe(mail.key)}.eml", content_type="message/rfc822",
                    data=data, article_id=mail.article_id))
        return files

    def _bytes(self, key: str) -> bytes | None:
        try:
            return self.blob_store.get(key)
        except NotFound:
            return None  # erased before, or never stored

    # -- erasure --------------------------------------------------------------------------

    def erase(self, contact_id: str, *, actor: Actor, reason: str) -> ErasureReport:
        """Replace the contact's name, addresses and numbers everywhere they are stored and
        record the erasure on each of their tickets; see the module docstring."""
        if not isinstance(reason, str) or not reason.strip():
            raise ValidationError("must say why the data is erased", field="reason")
        reason = clean_line(reason, field="reason", max_length=1000)
        erased = self.units.retrying(lambda unit: self._erase(unit, contact_id, actor, reason))
        kept = tuple(k for k in sorted(erased.blobs) if self.blob_store.exists(k))
        return attrs.evolve(erased.report, blobs_kept=kept)

    def _erase(self, unit: Unit, contact_id: str, actor: Actor, reason: str) -> _Erased:
        contact = unit.contacts.get(contact_id)
        if is_erased(contact):
            return _Erased(ErasureReport(contact_id, already_erased=True), frozenset())
        store, raw = unit.storage_unit.erasure, unit.storage_unit.tickets
        scrub = Scrubber.for_contact(contact)
        now = self.clock.now()
        tickets = _tickets(unit, contact)
        keys: set[str] = set()
        counts = {"articles": 0, "events": 0, "outbox": 0}
        rewritten: set[str] = set()
        for ticket in tickets:
            theirs = ticket.customer_id == contact.id
            stored = raw.articles(ticket.id)
            articles = [new for old in stored if (new := scrub.article(old)) != old]
            rewritten |= {a.id for a in articles}
            for article in stored:
                # The bytes behind an article (raw mail, HTML, files) cannot be rewritten:
                # those of the contact's own tickets and of every article that mentions
                # them are deleted.
                if theirs or article.author.id == contact.id or article.id in rewritten:
                    keys |= blob_keys(article)
            store.rewrite_articles(articles)
            history = raw.history(ticket.id)
            events = [e for old in history if (e := scrub.event(old)) != old]
            store.rewrite_events(events)
            for message in unit.outbox.for_ticket(ticket.id):
                if theirs:
                    keys |= {a.blob_key for a in message.attachments}
                new_message = scrub.outbox(message)
                if new_message != message:
                    unit.outbox.update(new_message)
                    counts["outbox"] += 1
            counts["articles"] += len(articles)
            counts["events"] += len(events)
            ticket.record_erasure(subject=scrub.text(ticket.subject),
                                  custom_fields=scrub.value(ticket.custom_fields),
                                  contact=scrub.name, reason=reason, at=now, actor=actor)
        staged = store.staged_for_tickets([t.id for t in tickets])
        mine = {t.id for t in tickets if t.customer_id == contact.id}
        for mail in staged:
            if mail.blob_key and (mail.ticket_id in mine or mail.article_id in rewritten
                                  or mail.blob_key in keys):
                keys.add(mail.blob_key)
            new_mail = scrub.staged(mail)
            if new_mail != mail:
                unit.staged_mail.update(new_mail)
        senders = sum(store.forget_automatic_sender(e) for e in contact.emails)
        revoked = unit.portal_links.revoke_all(at=now, contact_id=contact.id)
        deleted = store.delete_blobs(sorted(keys))
        unit.contacts.update(scrub.contact(contact))
        report = ErasureReport(
            contact_id, tickets=tuple(t.number for t in tickets), articles=counts["articles"],
            events=counts["events"], outbox_messages=counts["outbox"], staged_mails=len(staged),
            automatic_senders=senders, blobs_deleted=deleted, portal_links_revoked=revoked)
        return _Erased(report, frozenset(keys))
