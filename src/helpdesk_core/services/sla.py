"""SLA in the running helpdesk: policy choice, deadlines on tickets, the escalation sweep.

The clocks themselves are pure (:mod:`helpdesk_core.sla`): a function of the ticket's history,
its policy and the calendar. This module keeps two caches of them in storage, each rebuilt from
that function whenever a ticket changes:

* the ticket's **SLA record**: the chosen policy with the reason it was chosen, and the next
  instant an escalation level is due — an indexed column, so the sweep reads only due tickets;
* the ticket's ``due_at`` follows the resolution target's due instant, and each move is a
  history event whose reason says why the deadline moved (paused, resumed, priority ...).

The **sweep** fires each escalation level once per ticket, target and cycle — the storage's
unique key decides even between two sweepers — and queues its notifications in the outbox in
the same transaction; a notification without an address is still an event on the ticket,
which plugins see through ``helpdesk_ticket_event``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import attrs

from helpdesk_core.domain.escalations import EscalationRecord
from helpdesk_core.domain.outgoing import Automation, Draft, HeaderPolicy, build_message
from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Channel
from helpdesk_core.errors import ConcurrencyError, NotFound, TemplateError, TicketNotFound
from helpdesk_core.ports import Clock
from helpdesk_core.services.sla_tracking import SLA, SlaTracker
from helpdesk_core.services.templates import Templates
from helpdesk_core.services.unit_of_work import Unit, Units
from helpdesk_core.sla import (
    EscalationLevel,
    NotifyChannel,
    PolicySubject,
    SlaClocks,
    TargetKind,
    compute_clocks,
)
from helpdesk_core.sla.config import SlaConfig
from helpdesk_core.templates import RenderedMessage

__all__ = ["SlaConfig", "SlaService", "SweepReport"]

log = logging.getLogger("helpdesk_core.sla")


@attrs.define
class SweepReport:
    """``due``: the tickets this sweep looked at (at most its ``limit``); ``more_due``: more
    tickets were due than that, and the next sweep takes them."""

    due: int = 0
    fired: int = 0
    notified: int = 0
    conflicts: int = 0
    more_due: bool = False


class SlaService:
    """Reading clocks, the escalation sweep, recomputing after a policy change."""

    def __init__(self, *, units: Units, clock: Clock, config: SlaConfig | None,
                 tracker: SlaTracker, templates: Templates,
                 headers: HeaderPolicy) -> None:
        self.units = units
        self.clock = clock
        self.config = config
        self.tracker = tracker
        self.templates = templates
        self.headers = headers

    def clocks(self, key: str, *, now: datetime | None = None) -> SlaClocks | None:
        """The ticket's clocks now, with every deadline change explained; None without a policy."""
        config = self.config
        if config is None:
            return None
        with self.units(read_only=True) as unit:
            ticket = unit.tickets.load(key)
            choice = config.selector.choose(PolicySubject.of(ticket))
            if choice is None:
                return None
            history = unit.tickets.history(ticket.id)
        return compute_clocks(history, choice.policy, None, now or self.clock.now(),
                              priority=ticket.priority)

    def sweep(self, *, now: datetime | None = None, limit: int = 1000,
              progress: Callable[[int, int], None] | None = None) -> SweepReport:
        """Fire every escalation level that is due, each exactly once, and notify.

        ``progress(done, total)`` is called after each ticket, when given."""
        report = SweepReport()
        if self.config is None:
            return report
        now = now or self.clock.now()
        with self.units(read_only=True) as unit:
            due = unit.sla.due(now=now, limit=limit + 1)  # one more says whether more are due
        report.more_due = len(due) > limit
        due = due[:limit]
        report.due = len(due)
        for done, record in enumerate(due, start=1):
            try:
                self._sweep_ticket(record.ticket_id, now, report)
            except ConcurrencyError:
                # Someone changed the ticket (or another sweeper fired first): its record is
                # rebuilt by that change, and the next sweep looks again.
                report.conflicts += 1
            except TicketNotFound:  # pragma: no cover - records reference tickets
                pass
            if progress is not None:
                progress(done, report.due)
        return report

    def _sweep_ticket(self, ticket_id: str, now: datetime, report: SweepReport) -> None:
        config = self.config
        assert config is not None
        with self.units() as unit:
            ticket = unit.tickets.get(ticket_id)
            choice = config.selector.choose(PolicySubject.of(ticket))
            history = unit.history(ticket)
            if choice is not None:
                read = compute_clocks(history, choice.policy, None, now,
                                      priority=ticket.priority)
                for clock in read.clocks:
                    if not clock.open:
                        continue
                    for point in clock.escalations:
                        if point.at is None or point.at > now:
                            continue
                        recipients = self._recipients(config, ticket, point.level)
                        fired = EscalationRecord(
                            ticket_id=ticket.id, target=clock.kind.value, cycle=clock.cycles,
                            level=point.level.label, fired_at=now,
                            notified=tuple(who for who, _ in recipients))
                        if not unit.sla.fire(fired):
                            continue  # fired before, or by another sweeper right now
                        report.fired += 1
                        ticket.record_escalation(
                            target=clock.kind.value, level=point.level.label,
                            cycle=clock.cycles, due=clock.due, at=now, actor=SLA,
                            notified=fired.notified)
                        report.notified += self._notify(unit, config, ticket, clock.kind,
                                                        point.level, recipients, now)
            # The record falls due without the ticket changing: refresh it either way.
            self.tracker.refresh(unit, ticket, now=now)
            unit.commit()

    @staticmethod
    def _recipients(config: SlaConfig, ticket: Ticket,
                    level: EscalationLevel) -> list[tuple[str, str | None]]:
        """(who, address) per recipient of the level; the address may be unknown."""
        found: list[tuple[str, str | None]] = []
        for recipient in level.notify:
            if recipient.person is not None:
                who = recipient.person
            elif recipient.role == "assignee":
                who = ticket.assignee or "assignee"
            elif recipient.role == "team":
                who = ticket.team or "team"
            else:
                who = recipient.role or "?"
            found.append((who, config.addresses.get(who) or config.addresses.get(str(recipient))))
        return found

    def _notify(self, unit: Unit, config: SlaConfig, ticket: Ticket,
                target: TargetKind, level: EscalationLevel,
                recipients: Iterable[tuple[str, str | None]], now: datetime) -> int:
        """Queue the level's notice to every recipient with an address, from the ``sla_warning``
        (below 100 %) or ``escalation`` template — their SMS variant for phone numbers."""
        queued = 0
        rendered: dict[str, RenderedMessage] = {}
        for who, address in recipients:
            if address is None:
                continue
            sms = address.startswith("+")
            if (NotifyChannel.SMS if sms else NotifyChannel.EMAIL) not in level.channels:
                continue
            key = "sms_sla_warning" if sms else (
                "sla_warning" if level.fraction < 1 else "escalation")
            if key not in rendered:
                rendered[key] = self._render_notice(ticket, key, target, level)
            notice = rendered[key]
            draft = Draft(kind="escalation", channel=Channel.SMS if sms else Channel.EMAIL,
                          sender=config.sender, recipients=(address,),
                          subject=notice.subject or f"[{ticket.number}] SLA {level.label}",
                          text=notice.text, html=notice.html,
                          automation=Automation.GENERATED)
            unit.outbox.add(build_message(draft, policy=self.headers, ticket_id=ticket.id,
                                          at=now))
            log.info("escalation %s of %s for %s queued to %s", level.label, target.value,
                     ticket.number, who)
            queued += 1
        return queued

    def _render_notice(self, ticket: Ticket, key: str, target: TargetKind,
                       level: EscalationLevel) -> RenderedMessage:
        try:
            return self.templates.render(ticket, key)
        except (NotFound, TemplateError) as exc:  # a notice must go out even then
            log.warning("%s template for %s: %s", key, ticket.number, exc)
            return RenderedMessage(
                subject=f"[{ticket.number}] SLA {target.label}: {level.label} reached",
                text=f"Ticket {ticket.number} ({ticket.subject}) has used {level.label} of its "
                     f"{target.label} target.")

    def recompute(self, *, keys: Sequence[str] | None = None) -> int:
        """Rebuild the SLA record and deadline of the given (default: every active) ticket —
        after a policy or calendar changed. Returns how many tickets were looked at."""
        if self.config is None:
            return 0
        if keys is None:
            keys = []
            query: TicketQuery | None = TicketQuery.active(limit=500)
            with self.units(read_only=True) as unit:
                while query is not None:
                    page = unit.tickets.query(query)
                    keys += [t.id for t in page.items]
                    query = attrs.evolve(query, after=page.next_cursor) if page.next_cursor \
                        else None
        for key in keys:
            try:
                with self.units() as unit:
                    ticket = unit.tickets.load(key)
                    self.tracker.refresh(unit, ticket)
                    unit.commit()
            except ConcurrencyError:
                log.info("ticket %s changed while recomputing; its change recomputed it", key)
        return len(keys)
