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
from collections.abc import Iterable, Sequence
from datetime import datetime

import attrs

from helpdesk_core.domain.escalations import EscalationRecord
from helpdesk_core.domain.outbox import OutboxMessage
from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.domain.values import Channel
from helpdesk_core.errors import ConcurrencyError, NotFound, TemplateError, TicketNotFound
from helpdesk_core.ports.storage import UnitOfWork
from helpdesk_core.services.deps import Deps
from helpdesk_core.services.sla_tracking import SLA, refresh
from helpdesk_core.services.templates import build_context, resolve_for_ticket
from helpdesk_core.services.unit import load_ticket, publish
from helpdesk_core.sla import (
    EscalationLevel,
    NotifyChannel,
    PolicySubject,
    SlaClocks,
    TargetKind,
    compute_clocks,
)
from helpdesk_core.sla.config import SlaConfig
from helpdesk_core.templates import RenderedMessage, render_message

__all__ = ["SlaConfig", "SweepReport", "clocks", "recompute", "refresh", "sweep"]

# refresh lives in sla_tracking so that the unit-of-work helpers can call it without a cycle.

log = logging.getLogger("helpdesk_core.sla")


@attrs.define
class SweepReport:
    due: int = 0
    fired: int = 0
    notified: int = 0
    conflicts: int = 0


def clocks(deps: Deps, key: str, *, now: datetime | None = None) -> SlaClocks | None:
    """The ticket's clocks now, with every deadline change explained; None without a policy."""
    config = deps.sla
    if config is None:
        return None
    with deps.storage.unit_of_work(read_only=True) as uow:
        ticket = load_ticket(uow, key)
        choice = config.selector.choose(PolicySubject.of(ticket))
        if choice is None:
            return None
        history = uow.tickets.history(ticket.id)
    return compute_clocks(history, choice.policy, None, now or deps.clock.now(),
                          priority=ticket.priority)


def sweep(deps: Deps, *, now: datetime | None = None, limit: int = 1000) -> SweepReport:
    """Fire every escalation level that is due, each exactly once, and notify."""
    report = SweepReport()
    if deps.sla is None:
        return report
    now = now or deps.clock.now()
    with deps.storage.unit_of_work(read_only=True) as uow:
        due = uow.sla.due(now=now, limit=limit)
    report.due = len(due)
    for record in due:
        try:
            _sweep_ticket(deps, record.ticket_id, now, report)
        except ConcurrencyError:
            # Someone changed the ticket (or another sweeper fired first): its record is
            # rebuilt by that change, and the next sweep looks again.
            report.conflicts += 1
        except TicketNotFound:  # pragma: no cover - records reference tickets
            continue
    return report


def _sweep_ticket(deps: Deps, ticket_id: str, now: datetime, report: SweepReport) -> None:
    config = deps.sla
    assert config is not None
    with deps.storage.unit_of_work() as uow:
        ticket = uow.tickets.get(ticket_id)
        choice = config.selector.choose(PolicySubject.of(ticket))
        history = uow.tickets.history(ticket.id)
        if choice is not None:
            read = compute_clocks(history, choice.policy, None, now, priority=ticket.priority)
            for clock in read.clocks:
                if not clock.open:
                    continue
                for point in clock.escalations:
                    if point.at is None or point.at > now:
                        continue
                    recipients = _recipients(config, ticket, point.level)
                    fired = EscalationRecord(
                        ticket_id=ticket.id, target=clock.kind.value, cycle=clock.cycles,
                        level=point.level.label, fired_at=now,
                        notified=tuple(who for who, _ in recipients))
                    if not uow.sla.fire(fired):
                        continue  # fired before, or by another sweeper right now
                    report.fired += 1
                    ticket.record_escalation(target=clock.kind.value, level=point.level.label,
                                             cycle=clock.cycles, due=clock.due, at=now,
                                             actor=SLA, notified=fired.notified)
                    report.notified += _notify(deps, uow, config, ticket, clock.kind,
                                               point.level, recipients, now)
        refresh(deps, uow, ticket, history=history, now=now)
        events = list(ticket.pending_events)
        uow.tickets.save(ticket)
        uow.commit()
    publish(deps, ticket, events)


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


def _notify(deps: Deps, uow: UnitOfWork, config: SlaConfig, ticket: Ticket,
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
            rendered[key] = _render_notice(deps, ticket, key, target, level)
        notice = rendered[key]
        uow.outbox.add(OutboxMessage.create(
            ticket_id=ticket.id, kind="escalation", channel=Channel.SMS if sms else Channel.EMAIL,
            sender=config.sender, recipients=(address,),
            subject=notice.subject or f"[{ticket.number}] SLA {level.label}",
            body_text=notice.text, body_html=notice.html, at=now,
            headers={} if sms else {"Auto-Submitted": "auto-generated"}))
        log.info("escalation %s of %s for %s queued to %s", level.label, target.value,
                 ticket.number, who)
        queued += 1
    return queued


def _render_notice(deps: Deps, ticket: Ticket, key: str, target: TargetKind,
                   level: EscalationLevel) -> RenderedMessage:
    try:
        template = resolve_for_ticket(deps, ticket, key)
        context = build_context(deps, ticket, language=template.language)
        return render_message(template, context, limits=deps.template_limits)
    except (NotFound, TemplateError) as exc:  # a notice must go out even then
        log.warning("%s template for %s: %s", key, ticket.number, exc)
        return RenderedMessage(
            subject=f"[{ticket.number}] SLA {target.label}: {level.label} reached",
            text=f"Ticket {ticket.number} ({ticket.subject}) has used {level.label} of its "
                 f"{target.label} target.")


def recompute(deps: Deps, *, keys: Sequence[str] | None = None) -> int:
    """Rebuild the SLA record and deadline of the given (default: every active) ticket —
    after a policy or calendar changed. Returns how many tickets were looked at."""
    if deps.sla is None:
        return 0
    if keys is None:
        keys = []
        query: TicketQuery | None = TicketQuery.active(limit=500)
        with deps.storage.unit_of_work(read_only=True) as uow:
            while query is not None:
                page = uow.tickets.query(query)
                keys += [t.id for t in page.items]
                query = attrs.evolve(query, after=page.next_cursor) if page.next_cursor \
                    else None
    for key in keys:
        try:
            with deps.storage.unit_of_work() as uow:
                ticket = load_ticket(uow, key)
                refresh(deps, uow, ticket)
                events = list(ticket.pending_events)
                uow.tickets.save(ticket)
                uow.commit()
            publish(deps, ticket, events)
        except ConcurrencyError:
            log.info("ticket %s changed while recomputing; its change recomputed it", key)
    return len(keys)
