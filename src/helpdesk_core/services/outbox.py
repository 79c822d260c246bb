"""The outbox dispatcher: sends what committed transactions queued, and records the result.

Every outgoing message was written to the outbox in the transaction of its article, so a
rolled-back transaction never sends anything. A dispatcher run:

1. turns messages left in *sending* by a dispatcher that died (its lease ran out) into
   *uncertain*: their data may have reached the server, so they are never resent by
   themselves — an agent decides (``resend`` keeps the Message-ID, so a receiving system that
   got both can tell they are one message);
2. claims due messages with a lease under a token of its own (one per claim; ``FOR UPDATE
   SKIP LOCKED`` on PostgreSQL), so two dispatchers never claim one message at once;
3. per message: marks it *sending* (committed) right before the message data goes out, hands
   it to the channel's sender, and records the outcome on the message and on the ticket.

**The rule: every change of a claimed message is a compare-and-set** on its state, its claim's
token and its lease (:class:`~helpdesk_core.domain.outbox.OutboxClaim`). A batch is claimed
under one lease, but sent message by message, and sending it may take longer than the lease:
another dispatcher may then claim the rest. So the claim is checked and renewed per message
right before the data goes out (``before_data`` for mail, before the gateway call for SMS):
*pending*, still this claim's, lease still running → *sending* with a fresh lease, in one
statement. If that is refused, the claim was lost and the message is not sent by this run
(``report.lost``); whoever holds it now sends it. A message whose lease is seen to have run
out before its turn is skipped without asking the server anything; a mail's claim is renewed
the same way when its turn comes, so connecting and the envelope get a whole lease. (A lease
shorter than that never gets a mail to its data: safe, but nothing goes out.)

The result of a handover is written the same way (*sending*, this claim, lease running). When
that is refused, the lease ran out during the handover: the message is *sending* still, or
another run's expiry made it *uncertain* — nobody sends it again, since a *sending* or
*uncertain* message is never claimed. Then the owner's definite answer from the server
(*sent*, or *failed* for good) settles it, compared on (state as found, this claim's token);
a retry or an unanswered handover leaves it *uncertain*. Anything else the message became
meanwhile (resent by an agent, settled by a gateway's delivery report) is left as it is.

Outcomes: accepted → *sent* (with a result per recipient; a recipient refused for good is
shown, one refused for now gets a follow-up message with the same Message-ID); a temporary
failure before the data went out (connection refused, timeout, 421, 451) → *pending* again
with exponential backoff, *failed* after ``max_attempts``; a permanent refusal (5xx) →
*failed*; the connection lost after the data went out → *uncertain*.

A sender whose settings do not fit the server (a ``DeliveryError`` that is also a
``ConfigurationError``: no AUTH offered, a wrong password, an untrusted certificate) is not
the message's fault, and would be the same for every message: the run stops for that channel,
the message and the rest of the batch stay *pending* without an attempt counted (due again
after ``backoff``), and the report's ``stopped`` says why. Nothing fails for good, and the
server is not asked to log in once per queued message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

import attrs

from helpdesk_core.domain.outbox import OutboxClaim, OutboxMessage, OutboxState
from helpdesk_core.domain.typecheck import check_fields
from helpdesk_core.domain.values import Actor, Channel, new_id
from helpdesk_core.errors import (
    ConcurrencyError,
    ConfigurationError,
    DeliveryError,
    HelpdeskError,
    NotFound,
    ValidationError,
)
from helpdesk_core.ports import BlobStore, Clock
from helpdesk_core.ports.messaging import MailSender, OutgoingAttachment, OutgoingMail, SmsSender
from helpdesk_core.services.unit_of_work import Units

__all__ = ["DispatchPolicy", "DispatchReport", "Dispatcher"]

log = logging.getLogger("helpdesk_core.outbox")
DISPATCHER = Actor.system("outbox")


@attrs.frozen
class DispatchPolicy:
    """``backoff`` is the first retry delay, doubled per attempt up to ``max_backoff``."""

    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 8
    backoff: timedelta = timedelta(minutes=1)
    max_backoff: timedelta = timedelta(hours=2)
    batch: int = 50

    def __attrs_post_init__(self) -> None:
        try:
            check_fields(self, prefix="policy")
        except ValidationError as exc:
            raise ConfigurationError(f"DispatchPolicy {exc}") from exc
        if not (self.lease > timedelta(0) and self.backoff > timedelta(0)
                and self.max_backoff >= self.backoff):
            raise ConfigurationError("DispatchPolicy needs a positive lease and backoff, and "
                                     "max_backoff no shorter than backoff")
        if not (1 <= self.max_attempts <= 1000 and 1 <= self.batch <= 10_000):
            raise ConfigurationError("DispatchPolicy needs max_attempts from 1 to 1000 and "
                                     "batch from 1 to 10,000")

    def retry_at(self, now: datetime, attempts: int) -> datetime:
        delay = self.backoff * (1 << min(max(attempts - 1, 0), 30))
        return now + min(delay, self.max_backoff)


@attrs.define
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0
    # Why the run stopped before its batch was done: a sender's settings that do not fit its
    # server (the messages wait, pending); None when it was not stopped.
    stopped: str | None = None
    # Claimed, but the claim ran out before the message's turn (or its data): not sent by this
    # run, and its result not written by it; another dispatcher has it, or the next claim will.
    lost: int = 0


class _ClaimLost(Exception):
    """Raised from ``before_data``: the claim is gone, the data must not go out."""


class _NotHeld(Exception):
    """The message is no longer the claim's to settle."""


_SETTLE_ATTEMPTS = 5


class Dispatcher:
    """Sends what the outbox holds and records each result (``helpdesk.outbox``)."""

    def __init__(self, *, units: Units, clock: Clock, blob_store: BlobStore) -> None:
        self.units = units
        self.clock = clock
        self.blob_store = blob_store

    def dispatch(
        self,
        *,
        mail_sender: MailSender | None = None,
        sms_sender: SmsSender | None = None,
        policy: DispatchPolicy | None = None,
    ) -> DispatchReport:
        """One run over the outbox: send what is due through the given senders."""
        policy = policy or DispatchPolicy()
        report = DispatchReport()
        self._expire_sending(policy, report)
        channels = [c for c, s in ((Channel.EMAIL, mail_sender), (Channel.SMS, sms_sender)) if s]
        for channel in channels:
            now = self.clock.now()
            with self.units() as unit:
                claimed = unit.outbox.claim(now=now, lease=policy.lease, limit=policy.batch,
                                           channel=channel, owner=new_id())
                unit.commit()
            report.claimed += len(claimed)
            for position, message in enumerate(claimed):
                if not self._still_held(message):
                    report.lost += 1
                    continue
                if channel is Channel.EMAIL and mail_sender is not None:
                    self._send_mail(mail_sender, message, policy, report)
                elif sms_sender is not None:
                    self._send_sms(sms_sender, message, policy, report)
                if report.stopped is not None:
                    self._release(claimed[position + 1:])
                    break
        return report

    def resend(self, outbox_id: str, *, actor: Actor) -> OutboxMessage:
        """Queue a failed or uncertain message again — with the same Message-ID.

        Raises ConcurrencyError when the message changed meanwhile (the dispatcher that
        handed it over settled it, a delivery report arrived)."""
        with self.units() as unit:
            message = unit.outbox.get(outbox_id)
            if message.state not in (OutboxState.FAILED, OutboxState.UNCERTAIN):
                raise ValidationError(f"a {message.state.value} message is not resent",
                                      field="outbox_id")
            again = attrs.evolve(message, state=OutboxState.PENDING, attempts=0,
                                 next_attempt_at=None, leased_until=None, lease_owner=None,
                                 last_error=None)
            unit.outbox.update(again, expect=OutboxClaim(owner=message.lease_owner,
                                                         state=message.state))
            ticket = unit.tickets.get(message.ticket_id)
            ticket.record_delivery(outbox_id=message.id, kind=message.kind,
                                   channel=message.channel.value, state="resend requested",
                                   at=self.clock.now(), actor=actor)
            unit.commit()
        return again

    # -- the claim -----------------------------------------------------------------------------

    def _still_held(self, message: OutboxMessage) -> bool:
        """Whether the claim on ``message`` (as this run last wrote it) may still run."""
        return message.leased_until is not None and message.leased_until > self.clock.now()

    def _expect(self, held: OutboxMessage) -> OutboxClaim:
        """What this run's claim expects: the message as it last wrote it, lease running."""
        return OutboxClaim(owner=held.lease_owner, state=held.state, valid_at=self.clock.now())

    def _write(self, held: OutboxMessage, new: OutboxMessage) -> bool:
        """Replace ``held`` by ``new`` if the claim still holds; False if it was lost."""
        try:
            with self.units() as unit:
                unit.outbox.update(new, expect=self._expect(held))
                unit.commit()
        except ConcurrencyError:
            log.info("outbox message %s: the claim was lost, %s not written", held.id,
                     new.state.value)
            return False
        return True

    # -- steps ---------------------------------------------------------------------------------

    def _expire_sending(self, policy: DispatchPolicy, report: DispatchReport) -> None:
        now = self.clock.now()
        with self.units() as unit:
            stale = [m for m in unit.outbox.find(state=OutboxState.SENDING, limit=1000)
                     if m.leased_until is None or m.leased_until <= now]
        for message in stale:
            # Only if nothing moved it since it was read (its owner may finish right now).
            self._finish(message, OutboxState.UNCERTAIN, report,
                         error="the dispatcher stopped while the message data was being sent",
                         expect=OutboxClaim(owner=message.lease_owner,
                                            state=OutboxState.SENDING))

    def _mark_sending(self, held: OutboxMessage, policy: DispatchPolicy) -> OutboxMessage | None:
        """Committed before the data goes out: a crash after this point is 'uncertain'.

        The claim is checked and renewed in the same statement; None if it was lost."""
        sending = attrs.evolve(held, state=OutboxState.SENDING,
                               leased_until=self.clock.now() + policy.lease)
        return sending if self._write(held, sending) else None

    def _send_mail(self, sender: MailSender, message: OutboxMessage, policy: DispatchPolicy,
                   report: DispatchReport) -> None:
        try:
            mail = self._outgoing(message)
        except HelpdeskError as exc:  # e.g. an attachment whose bytes are gone
            self._finish(message, OutboxState.FAILED, report, error=str(exc),
                         expect=self._expect(message))
            return
        # Its turn: the claim is renewed, so that connecting and the envelope have a whole
        # lease, however long the batch took so far.
        renewed = attrs.evolve(message, leased_until=self.clock.now() + policy.lease)
        if not self._write(message, renewed):
            report.lost += 1
            return
        message = renewed
        held = [message]
        lost = False

        def before_data() -> None:
            nonlocal lost
            sending = self._mark_sending(message, policy)
            if sending is None:
                lost = True
                raise _ClaimLost(f"outbox message {message.id}: the claim was lost")
            held.append(sending)

        try:
            results = sender.send(mail, before_data=before_data)
        except Exception as exc:
            if lost:  # the data never went out; whoever holds the message now sends it
                report.lost += 1
                return
            if isinstance(exc, DeliveryError):
                error = exc
            else:  # a broken adapter must not stop the run
                log.exception("sending outbox message %s failed", message.id)
                error = DeliveryError(f"{type(exc).__name__}: {exc}", transient=True)
            self._failed(held[-1], error, policy, report)
            return
        if lost:  # pragma: no cover - a sender that swallowed what before_data raised
            log.error("outbox message %s: the sender went on after the claim was lost",
                      message.id)
            report.lost += 1
            return
        self._delivered(held[-1], dict(results), policy, report)

    def _send_sms(self, sender: SmsSender, message: OutboxMessage, policy: DispatchPolicy,
                  report: DispatchReport) -> None:
        # An SMS gateway's HTTP call either queues the message or does not: there is no separate
        # data phase, so a lost answer is uncertain as well.
        held = self._mark_sending(message, policy)
        if held is None:
            report.lost += 1
            return
        results: dict[str, str] = {}
        provider_ids: list[str] = []
        try:
            for number in held.recipients:
                provider_ids.append(sender.send(to=number, text=held.body_text,
                                                reference=held.id))
                results[number] = "sent"
        except DeliveryError as exc:
            self._failed(held, exc, policy, report)
            return
        sent = attrs.evolve(held, provider_id=provider_ids[0] if provider_ids else None)
        self._delivered(sent, results, policy, report)

    def _release(self, messages: list[OutboxMessage]) -> None:
        """Claimed messages the run will not send: due again at once, nothing counted."""
        for message in messages:
            self._write(message, attrs.evolve(message, state=OutboxState.PENDING,
                                              leased_until=None))

    def _failed(self, message: OutboxMessage, exc: DeliveryError, policy: DispatchPolicy,
                report: DispatchReport) -> None:
        attempts = message.attempts + 1
        if isinstance(exc, ConfigurationError) and not exc.uncertain:
            # The sender's settings, not the message: it waits, its attempts untouched.
            wait = attrs.evolve(message, state=OutboxState.PENDING, leased_until=None,
                                last_error=str(exc)[:2000],
                                next_attempt_at=self.clock.now() + policy.backoff)
            if self._write(message, wait):
                report.retried += 1
            else:
                report.lost += 1
            report.stopped = str(exc)
            log.error("outbox: stopped, the sender's settings do not fit its server: %s", exc)
            return
        if exc.uncertain:
            self._finish(message, OutboxState.UNCERTAIN, report, error=str(exc),
                         attempts=attempts, expect=self._expect(message))
        elif exc.transient and attempts < policy.max_attempts:
            now = self.clock.now()
            retry = attrs.evolve(message, state=OutboxState.PENDING, attempts=attempts,
                                 last_error=str(exc)[:2000], leased_until=None,
                                 next_attempt_at=policy.retry_at(now, attempts))
            if self._write(message, retry):
                report.retried += 1
            elif message.state is OutboxState.SENDING:
                # The lease ran out during the handover: nobody sends it again by itself.
                self._finish(message, OutboxState.UNCERTAIN, report, attempts=attempts,
                             error=f"the claim ran out during the handover; then: {exc}",
                             expect=self._expect(message))
            else:
                report.lost += 1
        else:
            self._finish(message, OutboxState.FAILED, report, error=str(exc), attempts=attempts,
                         expect=self._expect(message))

    def _delivered(self, message: OutboxMessage, results: dict[str, str],
                   policy: DispatchPolicy, report: DispatchReport) -> None:
        deferred = tuple(r for r, outcome in results.items() if outcome.startswith("deferred"))
        accepted = any(outcome == "sent" for outcome in results.values())
        attempts = message.attempts + 1
        if not accepted and deferred:
            later = DeliveryError("; ".join(f"{r}: {results[r]}" for r in deferred), transient=True)
            self._failed(message, later, policy, report)
            return
        state = OutboxState.SENT if accepted else OutboxState.FAILED
        follow_up = None
        if deferred and accepted:
            # The same message, for the recipients that were refused for now only.
            follow_up = attrs.evolve(message, id=new_id(), recipients=deferred, results={},
                                     state=OutboxState.PENDING, attempts=0, leased_until=None,
                                     lease_owner=None, last_error=None,
                                     next_attempt_at=policy.retry_at(self.clock.now(), 1))
        error = None if accepted else "every recipient was refused"
        self._finish(message, state, report, results=results, error=error, attempts=attempts,
                     follow_up=follow_up, expect=self._expect(message))

    def _finish(self, message: OutboxMessage, state: OutboxState, report: DispatchReport,
                *, expect: OutboxClaim, results: Mapping[str, str] | None = None,
                error: str | None = None, attempts: int | None = None,
                follow_up: OutboxMessage | None = None) -> None:
        """Settle ``message`` in ``state`` if ``expect`` holds; a handover whose claim ran out
        meanwhile may still settle it as described at the top of this module.

        A ConcurrencyError (the row changed between reading and writing it, or the ticket was
        saved by someone else meanwhile: two messages of one ticket settled at once) is tried
        again from a fresh read, which decides whether the claim still holds."""
        written: OutboxState | None = None
        for attempt in range(_SETTLE_ATTEMPTS):
            try:
                written = self._settle(message, state, expect=expect, results=results,
                                       error=error, attempts=attempts, follow_up=follow_up)
                break
            except _NotHeld as exc:
                if expect.valid_at is not None:  # the owner's own result, and the claim is gone
                    report.lost += 1
                log.info("outbox message %s: not settled as %s: %s", message.id,
                         state.value, exc)
                return
            except ConcurrencyError:
                if attempt == _SETTLE_ATTEMPTS - 1:
                    raise
        if written is OutboxState.SENT:
            report.sent += 1
        elif written is OutboxState.FAILED:
            report.failed += 1
        elif written is OutboxState.UNCERTAIN:
            report.uncertain += 1

    def _settle(self, message: OutboxMessage, state: OutboxState, *, expect: OutboxClaim,
                results: Mapping[str, str] | None, error: str | None, attempts: int | None,
                follow_up: OutboxMessage | None) -> OutboxState | None:
        now = self.clock.now()
        with self.units() as unit:
            # Re-read: a gateway's delivery report may have arrived while we were sending; its
            # results are kept ("delivered" is not overwritten by "sent"), and one that settled
            # the message (delivered, failed) made it no longer this claim's.
            current = unit.outbox.get(message.id)
            if not expect.holds(current):
                expect = self._late(message, current, state, expect)
                if current.state is OutboxState.UNCERTAIN and state is current.state:
                    return None  # expiry wrote it already
            reported = {r: v for r, v in current.results.items() if self._is_report(v)}
            done = message.settled(
                state, error=error,
                results={**message.results, **(results or {}), **reported},
                attempts=message.attempts if attempts is None else attempts,
                sent_at=now if state is OutboxState.SENT else message.sent_at,
                provider_id=current.provider_id or message.provider_id)
            unit.outbox.update(done, expect=expect)
            if follow_up is not None:
                unit.outbox.add(follow_up)
            try:
                ticket = unit.tickets.get(message.ticket_id)
            except NotFound:  # pragma: no cover - outbox rows reference tickets
                ticket = None
            if ticket is not None:
                ticket.record_delivery(outbox_id=message.id, kind=message.kind,
                                       channel=message.channel.value, state=state.value,
                                       at=now, actor=DISPATCHER, results=dict(done.results),
                                       error=error)
            unit.commit()
        return state

    @staticmethod
    def _late(message: OutboxMessage, current: OutboxMessage, state: OutboxState,
              expect: OutboxClaim) -> OutboxClaim:
        """The expectation a handover whose claim ran out may still settle under; _NotHeld
        when it may not.

        Only the owner of the claim that handed the message over, only while the message is
        *sending* or *uncertain* under that claim (nobody else can have sent it: neither state
        is ever claimed), and only with what it knows: a definite answer (*sent*, *failed*), or
        *uncertain* over a *sending* whose lease ran out."""
        owned = (expect.valid_at is not None and message.state is OutboxState.SENDING
                 and current.lease_owner == expect.owner
                 and current.state in (OutboxState.SENDING, OutboxState.UNCERTAIN))
        if owned and (state in (OutboxState.SENT, OutboxState.FAILED)
                      or state is current.state is OutboxState.UNCERTAIN
                      or (state is OutboxState.UNCERTAIN
                          and current.state is OutboxState.SENDING)):
            return OutboxClaim(owner=expect.owner, state=current.state)
        raise _NotHeld(f"it is {current.state.value}, no longer this claim's")

    @staticmethod
    def _is_report(result: str) -> bool:
        """A result written by a delivery report, not by the handover."""
        return result != "sent" and not result.startswith(("refused", "deferred"))

    def _outgoing(self, message: OutboxMessage) -> OutgoingMail:
        attachments = tuple(
            OutgoingAttachment(filename=a.filename, content_type=a.content_type,
                               data=self.blob_store.get(a.blob_key))
            for a in message.attachments
        )
        cc = tuple(c for c in message.cc if c in message.recipients)
        return OutgoingMail(
            message_id=message.message_id or f"<{message.id}@outbox.invalid>",
            sender=message.sender, recipients=message.recipients, subject=message.subject,
            text=message.body_text, html=message.body_html, headers=dict(message.headers),
            sender_name=message.sender_name, cc=cc,
            to=tuple(r for r in message.recipients if r not in cc),
            reply_to=message.reply_to, attachments=attachments,
        )
