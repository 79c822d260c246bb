"""``helpdesk sla``: the escalation sweep and recomputing deadlines."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from helpdesk_core.cli._shared import (
    OK,
    CliError,
    Target,
    add_database_options,
    existing_helpdesk,
    progress,
    say,
    target,
)

if TYPE_CHECKING:
    from helpdesk_core.app import Helpdesk
    from helpdesk_core.services.sla import SweepReport

RECOMPUTE_CHUNK = 50  # tickets per call: the bar moves, a call stays short


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sla = commands.add_parser("sla", help="SLA: escalation sweep, recompute deadlines",
                              description="SLA policies are Python values: these commands load "
                                          "the host's Settings with --settings.")
    sla_commands = sla.add_subparsers(dest="sla_command", required=True, metavar="COMMAND")
    sweep = sla_commands.add_parser(
        "sweep", help="fire the escalation levels that are due",
        description="Fire the escalation levels that are due, each once, and queue their "
                    "notices; at most --limit tickets, unless --until-done.")
    add_database_options(sweep, settings_required=True)
    sweep.add_argument("--limit", type=int, default=1000, metavar="N",
                       help="due tickets per sweep (default 1000)")
    sweep.add_argument("--until-done", action="store_true",
                       help="sweep again while more tickets are due than --limit")
    sweep.set_defaults(run=_sweep)
    recompute = sla_commands.add_parser(
        "recompute", help="rebuild deadlines after a policy or calendar change",
        description="Rebuild the SLA record and due date of every active ticket (or those "
                    "named) after a policy or calendar change.")
    add_database_options(recompute, settings_required=True)
    recompute.add_argument("--ticket", action="append", metavar="KEY",
                           help="only this ticket (repeatable; default: every active one)")
    recompute.set_defaults(run=_recompute)


def _with_policies(args: argparse.Namespace) -> Target:
    where = target(args)
    if where.settings.sla is None:
        raise CliError(f"the settings {args.settings} have no SLA policies (Settings.sla is "
                       "None): there is nothing to do")
    return where


def _sweep(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise CliError(f"--limit must be at least 1, not {args.limit}")
    where = _with_policies(args)
    rounds: list[SweepReport] = []
    with existing_helpdesk(where) as helpdesk, progress("sweeping") as bar:
        now = helpdesk.clock.now()  # one instant for every round: --until-done ends
        while True:
            report = helpdesk.sla.sweep(
                now=now, limit=args.limit,
                progress=lambda done, total: bar.update(
                    done, total, description=f"sweeping (round {len(rounds) + 1})"))
            rounds.append(report)
            handled = report.due - report.conflicts
            if not (args.until_done and report.more_due and handled > 0):
                break
    total = {name: sum(getattr(r, name) for r in rounds)
             for name in ("due", "fired", "notified", "conflicts")}
    line = ", ".join(f"{name} {count}" for name, count in total.items())
    if len(rounds) > 1:
        line += f" in {len(rounds)} rounds"
    if rounds[-1].more_due:
        line += ("; more tickets are due: run it again, or with --until-done" if not args.until_done
                 else "; more tickets are due, but the last round could handle none of them")
    say(line)
    return OK


def _recompute(args: argparse.Namespace) -> int:
    where = _with_policies(args)
    with existing_helpdesk(where) as helpdesk, progress("listing active tickets") as bar:
        keys = list(args.ticket) if args.ticket else _active(helpdesk)
        for start in range(0, len(keys), RECOMPUTE_CHUNK):
            bar.update(start, len(keys), description="recomputing")
            helpdesk.sla.recompute(keys[start:start + RECOMPUTE_CHUNK])
        bar.update(len(keys), len(keys))
    say(f"recomputed {len(keys)} ticket(s)")
    return OK


def _active(helpdesk: Helpdesk) -> list[str]:
    """Every active ticket's id, a page at a time (what recompute() does without keys)."""
    import attrs

    from helpdesk_core.domain.queue import TicketQuery

    keys: list[str] = []
    query: TicketQuery | None = TicketQuery.active(limit=500)
    while query is not None:
        page = helpdesk.tickets.queue(query)
        keys += [ticket.id for ticket in page.items]
        query = attrs.evolve(query, after=page.next_cursor) if page.next_cursor else None
    return keys
