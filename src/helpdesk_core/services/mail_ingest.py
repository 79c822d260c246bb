"""Inbound mail → tickets: threading, repeats, participants, bounces, acknowledgements.

One mail is handled in one transaction: the article, the ticket change, the Message-ID
record, the acknowledgement in the outbox and (when it came from a mailbox) the staged row's
outcome commit together or not at all. The rules, in the order they are applied:

1. **Repeat** — a mail whose Message-ID *and* content fingerprint were stored before is the
   same mail delivered again (a second support address, a re-fetch after a crash): nothing new
   is written. Two different mails that share a Message-ID have different fingerprints and are
   both kept.
2. **Bounce** — a delivery status notification is attached to the ticket of the mail that
   bounced as an internal delivery-failure note; it never opens a ticket.
   **Held** — our own mail (from one of our addresses, with our loop header, or a Message-ID
   in our domain) and mail whose author cannot be told for sure (``ParsedMail.sender_problem``:
   not exactly one address in exactly one From; Sender and Reply-To never stand in) are
   quarantined with the reason — mail handed to :meth:`MailIngest.receive` without a staged
   row gets one, under its channel's name — and never reach a ticket.
3. **Thread** — In-Reply-To / References naming a Message-ID we stored or sent, else our
   ticket number in the subject, finds the ticket; a merged ticket forwards to its target
   (``follow_merges``, the one path every channel takes).
   Headers that claim to be ours (``X-Helpdesk-*``) are never read for routing.
4. **Participant check** — the ticket number is a hint, not a key: a sender who is neither the
   customer nor a participant gets what a mail naming no ticket gets — a ticket of its own,
   acknowledged — so the answer never tells whether a number exists; the named ticket keeps
   a copy as an unpublished note (``unverified_reply="hold"``). Such a mail never reopens the
   named ticket and adds nobody to it. An automatic reply from a stranger is only the note.
5. **Reply** — a participant's mail is ``Ticket.customer_replied``: a public article that
   reopens a ticket that waits on the customer or was resolved/closed; an automatic reply
   (out of office) is stored but reopens nothing. A reply to a ticket closed longer than
   ``reopen_window`` opens a new ticket linked to the old one.
6. **New ticket** — at most ``new_ticket_limit`` per sender within ``new_ticket_window``
   (more is quarantined; reprocessing it by key lets it through); sender → contact (created
   if unknown, by policy), order numbers linked only when the order belongs to the sender,
   the channel's defaults. The acknowledgement is the bus's ``acknowledgement`` handler; this
   module only notes what it needs to know (the thread, and a loop rule that suppresses it).

**Automatic mail** — every mail is classified (``helpdesk_core.mail.loops.classify``: headers,
subject markers, out-of-office wording). An automatic reply threads without reopening and,
naming no ticket, opens none. Any automatic mail records its sender
(``AutomaticSender``, in the mail's transaction): within ``machine_window`` the sender gets
no automatic message (acknowledgement, resolution message), and once its automatic mail
opened a ticket, more automatic mail from it within the window is quarantined ("automatic
sender: …"; reprocessing it by key lets it through). A person's mail from the same address
still opens tickets.

Addresses in Cc of a customer's mail are recorded on the ticket (``Ticket.record_cc``); they
take part only with ``cc_participants`` and get copies of replies only with ``cc_notified``.

Mail is evidence: no rule refuses a mail for what it contains. The article holds the text and
subject within the library's limits (``helpdesk_core.mail.evidence``) and records what it
cut; the raw bytes, the whole text and the whole subject are kept.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.contacts import Contact, normalize_email
from helpdesk_core.domain.history import TicketEvent
from helpdesk_core.domain.mailbox import (
    AutomaticSender,
    MessageRecord,
    StagedMail,
    StagedState,
)
from helpdesk_core.domain.numbering import TicketNumberFormat
from helpdesk_core.domain.queue import MAX_LIMIT, QueueSort, TicketQuery
from helpdesk_core.domain.status import StatusCategory, Workflow
from helpdesk_core.domain.ticket import Ticket, closed_at, follow_merges, participants
from helpdesk_core.domain.values import Actor, Channel, EntityKind, EntityRef
from helpdesk_core.errors import (
    ConcurrencyError,
    StorageError,
    StorageUnavailable,
    TicketNotFound,
    ValidationError,
)
from helpdesk_core.mail.evidence import MailText, mail_text
from helpdesk_core.mail.identity import own_mail
from helpdesk_core.mail.loops import Verdict, bounce_info, classify, ticket_numbers
from helpdesk_core.mail.parsed import ParsedMail
from helpdesk_core.mail.parser import parse_mail
from helpdesk_core.mail.policy import MailChannel, MailPolicy
from helpdesk_core.mail.threading import (
    fingerprint,
    message_key,
    order_numbers,
    reference_ids,
)
from helpdesk_core.ports import BlobStore, Clock, Directory
from helpdesk_core.services.acknowledgement import AcknowledgementRequest, AcknowledgementResult
from helpdesk_core.services.intake import Intake
from helpdesk_core.services.unit_of_work import Unit, Units

__all__ = ["MailIngest", "MailOutcome", "Outcome"]

log = logging.getLogger("helpdesk_core.mail")
MAILER = Actor.system("mail")


class Outcome:
    """What became of a mail (the values of ``MailOutcome.outcome``)."""

    NEW_TICKET = "new_ticket"
    REPLY = "reply"
    AUTO_REPLY = "auto_reply"  # threaded, reopened nothing
    HELD_UNVERIFIED = "held_unverified"
    DUPLICATE = "duplicate"
    BOUNCE = "bounce"
    BOUNCE_UNMATCHED = "bounce_unmatched"
    AUTO_REPLY_UNMATCHED = "auto_reply_unmatched"
    QUARANTINED = "quarantined"

    DROPPED = frozenset({BOUNCE_UNMATCHED, AUTO_REPLY_UNMATCHED})


@attrs.frozen
class MailOutcome:
    """The result of handling one mail. ``acknowledgement`` is the queued outbox message's id;
    ``reason`` explains a quarantine, a hold or a suppressed acknowledgement; ``held_on`` is
    the number of a ticket the mail named but whose sender takes no part in it, where it was
    kept as an unpublished note (the mail itself opened ``ticket_number``); ``raw_blob``
    names the mail's exact bytes in the blob store (every outcome but ``duplicate``, whose
    first delivery's bytes are on its article)."""

    outcome: str
    ticket_id: str | None = None
    ticket_number: str | None = None
    article_id: str | None = None
    acknowledgement: str | None = None
    reason: str | None = None
    held_on: str | None = None
    raw_blob: str | None = None


@attrs.frozen
class _Prepared:
    mail: ParsedMail
    print_: str
    key: str
    sender: str | None
    text: MailText  # body, subject and sender name within the article's limits
    article: dict[str, Any]
    blobs: tuple[bytes, ...]  # raw mail (first), attachments, sanitised HTML: stored with it


@attrs.define
class _NeedCustomer(Exception):
    """The plan needs a contact that does not exist yet (created outside the transaction)."""


@attrs.define
class _Held(Exception):
    """The mail must wait in quarantine for ``reason``; nothing of it is written."""

    reason: str


class MailIngest:
    """Inbound mail → tickets, one mail per transaction."""

    def __init__(self, *, units: Units, clock: Clock, directory: Directory, policy: MailPolicy,
                 channels: tuple[MailChannel, ...], blob_store: BlobStore, intake: Intake,
                 numbering: TicketNumberFormat, workflow: Workflow,
                 builtin_directory: bool) -> None:
        self.units = units
        self.clock = clock
        self.directory = directory
        self.policy = policy
        self.channels = channels
        self.blob_store = blob_store
        self.intake = intake
        self.numbering = numbering
        self.workflow = workflow
        # The built-in directory lives in our own storage: its lookups (and a new contact)
        # join the mail's transaction; a host's directory is asked beforehand.
        self.builtin_directory = builtin_directory

    def channel(self, name: str) -> MailChannel:
        """The configured channel called ``name``, or a bare one with no defaults."""
        return next((c for c in self.channels if c.name == name), MailChannel(name=name))

    def receive(self, raw: bytes, *, channel: MailChannel | None = None,
                staged: StagedMail | None = None, past_limit: bool = False) -> MailOutcome:
        """Handle one raw mail; with ``staged``, its row records the outcome in the same
        commit. ``past_limit`` lets a new ticket open beyond ``new_ticket_limit`` (an
        operator released the mail)."""
        channel = channel or MailChannel()
        mail = parse_mail(raw, limits=self.policy.limits)
        if mail.quarantined:
            outcome = MailOutcome(Outcome.QUARANTINED, reason=mail.quarantine_reason,
                                  raw_blob=self._keep(raw, staged))
            if staged is not None:
                self._finish_staged(staged.quarantine(outcome.reason or "",
                                                      at=self.clock.now()),
                                    attempts=staged.attempts)
            return outcome
        prepared = _prepare(mail, raw)
        customer = None
        if prepared.sender is not None and not self.builtin_directory:
            customer = self.directory.customer_by_email(prepared.sender)
        for _attempt in range(2):
            try:
                return self._in_transaction(prepared, channel, customer, staged, past_limit)
            except _Held as held:
                return self._hold(prepared, channel, staged, held.reason)
            except _NeedCustomer:
                if prepared.sender is None or self.policy.unknown_sender == "quarantine":
                    reason = ("no sender address" if prepared.sender is None
                              else "unknown sender (policy: quarantine)")
                    return self._hold(prepared, channel, staged, reason)
                customer = self.directory.customer_by_email(prepared.sender) or \
                    self.directory.create_customer(name=prepared.text.from_name,
                                                   email=prepared.sender,
                                                   language=channel.language)
        raise AssertionError("a created customer was not found again")  # pragma: no cover

    def _keep(self, raw: bytes, staged: StagedMail | None) -> str:
        """The raw bytes of a mail that became no article, kept in the blob store (a fetched
        mail's are there already)."""
        if staged is not None and staged.blob_key is not None:
            return staged.blob_key
        return self.blob_store.put(raw)

    def _finish_staged(self, staged: StagedMail, *, attempts: int) -> None:
        """Record a staged mail's end — only if its row is still staged with ``attempts``
        attempts (else ConcurrencyError: another fetcher got there first)."""
        with self.units() as unit:
            unit.staged_mail.update(staged, expected=StagedState.STAGED,
                                    expected_attempts=attempts)
            unit.commit()

    def _hold(self, p: _Prepared, channel: MailChannel, staged: StagedMail | None,
              reason: str) -> MailOutcome:
        """Quarantine the mail with ``reason``: its staged row, or — for mail handed over
        without one — a new row under the channel's name (key ``received:<fingerprint>``),
        so that the operator sees it and ``reprocess`` can run it again."""
        log.warning("mail %s from %s held: %s", p.key, p.mail.from_address or "nobody", reason)
        now = self.clock.now()
        raw = p.blobs[0]  # the bytes as they came (the parser's copy may be normalised)
        if staged is not None:
            self._finish_staged(staged.quarantine(reason, at=now), attempts=staged.attempts)
            return MailOutcome(Outcome.QUARANTINED, reason=reason,
                               raw_blob=self._keep(raw, staged))
        key = f"received:{p.print_}"
        blob: str | None = None
        for attempt in range(2):
            try:
                with self.units() as unit:
                    existing = unit.staged_mail.get(channel.name, key)
                    if existing is not None:
                        unit.staged_mail.update(existing.quarantine(reason, at=now))
                        # these very bytes (a fingerprint can be shared by mails that differ
                        # only in blank lines); the store keeps one copy of equal bytes
                        blob = self.blob_store.put(raw, unit=unit.storage_unit)
                    else:
                        blob = self.blob_store.put(raw, unit=unit.storage_unit)
                        unit.staged_mail.add(StagedMail.stage(
                            account=channel.name, key=key, size=len(raw), at=now,
                            blob_key=blob, content_hash=p.print_).quarantine(reason, at=now))
                    unit.commit()
                break
            except (StorageError, ConcurrencyError):
                if attempt:  # the same mail held by another worker at the same moment
                    raise
        return MailOutcome(Outcome.QUARANTINED, reason=reason, raw_blob=blob)

    def _in_transaction(self, p: _Prepared, channel: MailChannel, customer: Contact | None,
                        staged: StagedMail | None, past_limit: bool) -> MailOutcome:
        now = self.clock.now()
        with self.units() as unit:
            if staged is not None:
                # First, before any contact, ticket or Message-ID is written: a fetcher that
                # loses the race for this mail stops here with ConcurrencyError.
                unit.staged_mail.claim(staged)
            outcome, ticket = self._decide(unit, p, channel, customer, now, past_limit)
            if outcome.outcome != Outcome.DUPLICATE:
                for data in p.blobs:
                    self.blob_store.put(data, unit=unit.storage_unit)
            if ticket is not None and outcome.article_id is not None:
                try:
                    unit.messages.add(MessageRecord(message_id=p.key, ticket_id=ticket.id,
                                                    direction=Direction.INBOUND, at=now,
                                                    article_id=outcome.article_id,
                                                    fingerprint=p.print_))
                except StorageUnavailable:
                    raise
                except StorageError as exc:
                    # The same mail (another key: a second delivery) was stored by another
                    # fetcher since we looked: a lost race, not the mail's fault. Tried
                    # again, it is recognised as a repeat.
                    raise ConcurrencyError(f"mail {p.key} was stored concurrently") from exc
            if staged is not None:
                unit.staged_mail.update(staged.processed(
                    outcome=outcome.outcome, at=now, ticket_id=outcome.ticket_id,
                    article_id=outcome.article_id), expected=StagedState.STAGED,
                    expected_attempts=staged.attempts)
            unit.commit()
            acknowledged = unit.noted(ticket, AcknowledgementResult) if ticket else None
        if acknowledged is not None:
            outcome = attrs.evolve(outcome, acknowledgement=acknowledged.outbox_id,
                                   reason=acknowledged.reason)
        if outcome.outcome != Outcome.DUPLICATE:
            outcome = attrs.evolve(outcome, raw_blob=p.article["meta"]["raw_blob"])
        return outcome

    def _decide(self, unit: Unit, p: _Prepared, channel: MailChannel,
                customer: Contact | None, now: datetime,
                past_limit: bool) -> tuple[MailOutcome, Ticket | None]:
        mail, policy = p.mail, self.policy
        # One lookup answers both "seen before?" and "which of our messages does it answer?".
        references = reference_ids(mail)
        known = unit.messages.find([p.key, *references])
        for record in known:
            if record.message_id == p.key and record.fingerprint == p.print_:
                number = _number_of(unit, record.ticket_id)
                return MailOutcome(Outcome.DUPLICATE, record.ticket_id, number,
                                   record.article_id), None

        bounce = bounce_info(mail)
        if bounce.is_bounce:
            target = _by_references(unit, [bounce.original_message_id] if
                                    bounce.original_message_id else [])
            if target is None:
                return MailOutcome(Outcome.BOUNCE_UNMATCHED,
                                   reason=f"no ticket sent {bounce.original_message_id}"), None
            article = target.add_article(
                direction=Direction.INTERNAL, channel=Channel.EMAIL, author=MAILER,
                body_text=p.text.body, at=now, subject=p.text.subject,
                **_with_meta(p, kind="delivery_failure",
                             original_message_id=bounce.original_message_id or ""))
            return MailOutcome(Outcome.BOUNCE, target.id, target.number, article.id), target

        ours = own_mail(mail, own_addresses=policy.own(self.channels),
                        message_id_domain=policy.message_id_domain,
                        loop_header=policy.loop_header, loop_token=policy.loop_token)
        if ours is not None:
            raise _Held(f"our own mail: {ours}")
        if mail.sender_problem is not None:
            raise _Held(f"sender in doubt: {mail.sender_problem}")

        verdict = classify(mail, own_addresses=policy.own(self.channels),
                           own_message_id_domains=[policy.message_id_domain],
                           loop_header=policy.loop_header)
        automatic = verdict.auto_reply
        machine = self._note_machine(unit, p, verdict, now)
        target, found_by = self._find_target(unit, mail, references,
                                             [r for r in known if r.message_id in references])
        previous: Ticket | None = None
        named: Ticket | None = None  # a ticket the sender named but takes no part in
        if target is not None:
            history = unit.history(target)
            if not self._is_participant(unit, target, history, p.sender):
                if automatic:  # answered by nobody either way: kept where it belongs
                    article = self._hold_on(target, p, now, found_by)
                    reason = f"{p.sender or 'unknown sender'} does not take part in the ticket"
                    return MailOutcome(Outcome.HELD_UNVERIFIED, target.id, target.number,
                                       article.id, reason=reason), target
                # A ticket of its own, as if it named no ticket: the answer does not tell
                # whether the number exists. The named ticket keeps a copy, by policy.
                named = target if policy.unverified_reply == "hold" else None
                target = None
            elif _closed_too_long(target, history, now, policy.reopen_window):
                previous, target = target, None
            else:
                return self._reply(unit, target, p, automatic, now, found_by, history)

        if automatic:
            return MailOutcome(Outcome.AUTO_REPLY_UNMATCHED,
                               reason="an automatic reply that names no ticket"), None
        new_contact = None
        if customer is None:  # only a new ticket needs the contact: looked up this late
            customer, new_contact = self._customer_inside(unit, p, channel)
        if customer is None:
            raise _NeedCustomer
        if machine is not None and not past_limit:
            self._check_machine_ticket(unit, p, machine, verdict, now)
        if new_contact is None and not past_limit:
            self._check_new_ticket_limit(unit, p, customer, now)
        if new_contact is not None:
            try:
                unit.contacts.add(new_contact)
            except ValidationError as exc:
                if exc.field != "email":
                    raise
                # Looked up in this transaction and not found: another fetcher added the
                # sender since (from another mail of theirs). A lost race; tried again,
                # the contact is found.
                raise ConcurrencyError(f"contact {p.sender} was added concurrently") from exc
        outcome, ticket = self._new_ticket(unit, p, channel, customer, previous, now, verdict)
        if machine is not None:
            unit.automatic_senders.put(machine.opened(ticket.id, at=now))
        if named is not None:
            self._hold_on(named, p, now, found_by, opened=ticket.number)
            outcome = attrs.evolve(outcome, held_on=named.number)
        return outcome, ticket

    def _hold_on(self, ticket: Ticket, p: _Prepared, now: datetime, found_by: str,
                 **extra: str) -> Any:
        """The mail as an internal, unpublished note on ``ticket``, marked unverified."""
        return ticket.add_article(
            direction=Direction.INTERNAL, channel=Channel.EMAIL, author=MAILER,
            body_text=p.text.body, at=now, subject=p.text.subject,
            **_with_meta(p, verified="false", found_by=found_by, **extra))

    def _note_machine(self, unit: Unit, p: _Prepared, verdict: Verdict,
                      now: datetime) -> AutomaticSender | None:
        """Remember a sender whose mail is automatic (its record, updated), else None."""
        if not verdict.automatic or p.sender is None:
            return None
        record = AutomaticSender.recognised(unit.automatic_senders.get(p.sender), p.sender,
                                            at=now, reason=verdict.reasons)
        unit.automatic_senders.put(record)
        return record

    def _check_machine_ticket(self, unit: Unit, p: _Prepared, machine: AutomaticSender,
                              verdict: Verdict, now: datetime) -> None:
        """Hold automatic mail whose sender's automatic mail opened a ticket within
        ``machine_window``: a machine opens one ticket per window."""
        window = self.policy.machine_window
        opened = machine.ticket_within(now=now, window=window)
        if opened is not None:
            raise _Held(f"automatic sender: {machine.address} opened "
                        f"{_number_of(unit, opened) or opened} within {window} "
                        f"({verdict.reasons})")

    def _check_new_ticket_limit(self, unit: Unit, p: _Prepared, customer: Contact,
                                now: datetime) -> None:
        """Hold the mail when its sender opened ``new_ticket_limit`` tickets by mail within
        ``new_ticket_window`` (newest first, so at most the limit's worth are read)."""
        policy = self.policy
        if policy.new_ticket_limit is None:
            return
        since = now - policy.new_ticket_window
        opened: list[datetime] = []
        after: str | None = None
        while True:
            page = unit.tickets.query(TicketQuery(
                customer_id=customer.id, sort=QueueSort.NEWEST, after=after,
                limit=min(policy.new_ticket_limit, MAX_LIMIT)))
            for ticket in page.items:
                if ticket.created_at < since:
                    break
                if ticket.channel is Channel.EMAIL:
                    opened.append(ticket.created_at)
            else:
                if page.next_cursor is not None and \
                        len(opened) < policy.new_ticket_limit:
                    after = page.next_cursor
                    continue
            break
        if policy.new_ticket_limit_reached(opened, now=now):
            raise _Held(f"new-ticket limit: {p.sender or customer.id} opened {len(opened)} "
                        f"tickets by mail within {policy.new_ticket_window}")

    def _customer_inside(self, unit: Unit, p: _Prepared,
                         channel: MailChannel) -> tuple[Contact | None, Contact | None]:
        """(the sender's contact, the same if it is new and must be added)."""
        if not self.builtin_directory or p.sender is None:
            return None, None
        found = unit.contacts.find_by_email(p.sender)
        if found is not None or self.policy.unknown_sender != "create":
            return found, None
        new = Contact.create(name=p.text.from_name, email=p.sender, language=channel.language)
        return new, new

    def _reply(self, unit: Unit, ticket: Ticket, p: _Prepared, automatic: bool,
               now: datetime, found_by: str,
               history: Sequence[TicketEvent]) -> tuple[MailOutcome, Ticket]:
        article = ticket.customer_replied(
            channel=Channel.EMAIL, author=Actor.customer(ticket.customer_id, p.text.from_name),
            body_text=p.text.body, at=now, workflow=self.workflow, reopened_by=MAILER,
            automatic=automatic, subject=p.text.subject,
            **_with_meta(p, found_by=found_by, **({"automatic": "true"} if automatic else {})))
        if automatic:
            return MailOutcome(Outcome.AUTO_REPLY, ticket.id, ticket.number, article.id), ticket
        self._record_cc(ticket, p, now, history)
        return MailOutcome(Outcome.REPLY, ticket.id, ticket.number, article.id), ticket

    def _new_ticket(self, unit: Unit, p: _Prepared, channel: MailChannel, customer: Contact,
                    previous: Ticket | None, now: datetime,
                    verdict: Verdict) -> tuple[MailOutcome, Ticket]:
        mail = p.mail
        links, data = self._orders(mail, customer)
        if previous is not None:
            links.append(EntityRef(EntityKind.TICKET, "helpdesk", previous.number))
            data["follows_closed_ticket"] = previous.number
        data["mail_channel"] = channel.name
        ticket = self.intake.build(
            unit, subject=p.text.subject or "(no subject)", body=p.text.body,
            channel=Channel.EMAIL,
            actor=Actor.customer(customer.id, customer.name or p.text.from_name),
            direction=Direction.INBOUND, customer=customer, links=links,
            incident_type=channel.incident_type, team=channel.team,
            language=customer.language or channel.language, data=data,
            channel_owner=channel.owner, article=p.article,
        )
        first_article = ticket.pending_articles[0].id
        self._record_cc(ticket, p, now, ())
        unit.note(ticket, AcknowledgementRequest(
            recipient=p.sender, sender=channel.sender, in_reply_to=mail.message_id or None,
            references=tuple(mail.references) if mail.message_id else (),
            suppressed=verdict.reason, customer=customer))
        return MailOutcome(Outcome.NEW_TICKET, ticket.id, ticket.number, first_article), ticket

    # -- steps -------------------------------------------------------------------------------

    def _find_target(self, unit: Unit, mail: ParsedMail, references: Sequence[str],
                     records: list[MessageRecord]) -> tuple[Ticket | None, str]:
        found = _best_reference(unit, references, records)
        if found is not None:
            return found, "references"
        for number in ticket_numbers(mail.subject, self.numbering):
            try:
                return follow_merges(unit.tickets.get_by_number(number),
                                     unit.tickets.get), "subject"
            except TicketNotFound:
                continue
        return None, ""

    def _is_participant(self, unit: Unit, ticket: Ticket, history: list[Any],
                        sender: str | None) -> bool:
        if sender is None:
            return False
        if sender in participants(history):
            return True
        if not ticket.customer_id:
            return False
        if self.builtin_directory:  # our own contacts: ask inside the unit
            return unit.contacts.id_by_email(sender) == ticket.customer_id
        customer = self.directory.customer(ticket.customer_id)
        return customer is not None and sender in customer.emails

    def _record_cc(self, ticket: Ticket, p: _Prepared, now: datetime,
                   history: Sequence[TicketEvent]) -> None:
        """Addresses in Cc (not ours, not the sender) are recorded on the ticket; whether
        they take part and whether they get copies of replies is the policy's."""
        emails: list[str] = []
        for address in p.mail.cc:
            try:
                emails.append(normalize_email(address.address))
            except ValidationError:
                continue
        exclude = {*self.policy.own(self.channels), *([p.sender] if p.sender else [])}
        ticket.record_cc(emails, history=[*history, *ticket.pending_events], exclude=exclude,
                         at=now, actor=MAILER, take_part=self.policy.cc_participants,
                         notify=self.policy.cc_notified)

    def _orders(self, mail: ParsedMail,
                customer: Contact) -> tuple[list[EntityRef], dict[str, Any]]:
        """Orders named in the mail, linked only when they are the sender's own."""
        links: list[EntityRef] = []
        refused: list[str] = []
        for number in order_numbers(mail, self.policy.order_pattern):
            order = self.directory.order_by_number(number)
            if order is None:
                continue
            if order.belongs_to(customer_id=customer.id, email=customer.email):
                links.append(order.ref)
            else:
                refused.append(number)
        return links, ({"orders_not_linked": refused} if refused else {})


def _blob_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _prepare(mail: ParsedMail, raw: bytes) -> _Prepared:
    """Everything that needs no transaction: fingerprint, sender, article fields, blob keys.

    The blobs themselves are stored inside the mail's transaction when the blob store shares
    the database; otherwise at once — content addressing makes an unused blob harmless.
    """
    print_ = fingerprint(raw)
    key = message_key(mail, print_)
    sender = None
    if mail.author:  # None when nobody can tell who wrote it (ParsedMail.sender_problem)
        try:
            sender = normalize_email(mail.author)
        except ValidationError:
            sender = None
    text = mail_text(mail)
    blobs = [raw, *(a.data for a in mail.attachments)]
    # served as what their bytes are only when that is an inline image; else as downloads
    attachments = tuple(a.meta(_blob_key(a.data)) for a in mail.attachments)
    meta = {"message_id": key, "fingerprint": print_, "raw_blob": _blob_key(raw),
            "from": sender or "", "from_name": mail.from_name,
            "to": ", ".join(a.address for a in mail.to),
            "cc": ", ".join(a.address for a in mail.cc),
            "content_type": mail.content_type, "new_text": mail.new_text[:100_000]}
    if mail.body_html:
        html = mail.body_html.encode("utf-8")
        blobs.append(html)
        meta["html_blob"] = _blob_key(html)
    if mail.defects:
        meta["defects"] = "; ".join(mail.defects)[:2000]
    if text.full_text is not None:  # the article holds an excerpt: the whole text is a blob
        whole = text.full_text.encode("utf-8")
        blobs.append(whole)
        meta["text_blob"] = _blob_key(whole)
    if text.full_subject is not None:
        meta["full_subject"] = text.full_subject
    if text.cut_note:
        meta["cut"] = text.cut_note
    article = {"attachments": attachments, "external_id": key[:255], "meta": meta}
    return _Prepared(mail=mail, print_=print_, key=key, sender=sender, text=text,
                     article=article, blobs=tuple(blobs))


def _with_meta(p: _Prepared, **extra: str) -> dict[str, Any]:
    article = dict(p.article)
    article["meta"] = {**p.article["meta"], **extra}
    return article


def _number_of(unit: Unit, ticket_id: str) -> str | None:
    try:
        return unit.tickets.get(ticket_id).number
    except TicketNotFound:
        return None


def _by_references(unit: Unit, ids: Sequence[str]) -> Ticket | None:
    if not ids:
        return None
    return _best_reference(unit, ids, unit.messages.find(list(ids)))


def _best_reference(unit: Unit, ids: Sequence[str],
                    records: list[MessageRecord]) -> Ticket | None:
    if not records:
        return None
    # The most specific reference wins: In-Reply-To, then the newest of References.
    rank = {mid: i for i, mid in reversed(list(enumerate(ids)))}
    best = min(records, key=lambda r: (rank.get(r.message_id, len(ids)), -r.at.timestamp()))
    try:
        return follow_merges(unit.tickets.get(best.ticket_id), unit.tickets.get)
    except TicketNotFound:
        return None


def _closed_too_long(ticket: Ticket, history: list[Any], now: datetime, window: Any) -> bool:
    if ticket.status_category is not StatusCategory.CLOSED:
        return False
    since = closed_at(history)
    return since is not None and now - since > window
