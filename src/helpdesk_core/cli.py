"""The ``helpdesk`` command line: support tooling that needs no running helpdesk.

``helpdesk mail inspect FILE [FILE ...] [--json] [--prefix HD-] [--pattern ...]
[--own-address ADDRESS] [--own-domain DOMAIN] [--loop-header NAME]`` shows what
the core makes of raw mails (``.eml`` files). Exit code 0, or 1 when a file could not be read
or the arguments are wrong; every readable file is still reported.

``helpdesk sla sweep --settings MODULE:NAME`` fires the escalation levels that are due;
``helpdesk sla recompute --settings MODULE:NAME [--ticket KEY ...]`` rebuilds deadlines after
a policy or calendar change. SLA policies are Python values, so these commands load the host's
``Settings`` object (or a function returning one) named by ``--settings``.

``helpdesk mail quarantine [--account NAME] [--json]`` lists quarantined mail with its reason;
``helpdesk mail reprocess [--account NAME] [--key KEY ...] [--json]`` runs it again (after a
fix or a policy change). Both open the helpdesk named by the ``HELPDESK_*`` environment
(``HELPDESK_DATABASE_URL`` ...) or ``--database-url``; reprocess exits 1 when a mail failed
again.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from helpdesk_core.domain.mailbox import StagedMail, StagedState
from helpdesk_core.domain.numbering import TicketNumberFormat
from helpdesk_core.errors import ConfigurationError, HelpdeskError
from helpdesk_core.mail.inspect import format_report, inspect_mail

if TYPE_CHECKING:
    from helpdesk_core.settings import Settings

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helpdesk", description="helpdesk_core tools")
    commands = parser.add_subparsers(dest="command", required=True)
    mail = commands.add_parser("mail", help="inbound mail tools")
    mail_commands = mail.add_subparsers(dest="mail_command", required=True)
    inspect = mail_commands.add_parser(
        "inspect", help="show what the helpdesk makes of raw mail files",
        description="Parse raw mails (.eml) and show addresses, thread ids, body, "
                    "attachments, auto-response suppression, bounce and ticket numbers.")
    inspect.add_argument("files", nargs="+", metavar="FILE", help="raw mail file(s)")
    inspect.add_argument("--json", action="store_true",
                         help="one JSON object per file per line, in input order")
    defaults = TicketNumberFormat()
    inspect.add_argument("--prefix", default=defaults.prefix,
                         help=f"ticket number prefix (default {defaults.prefix!r})")
    inspect.add_argument("--pattern", default=defaults.pattern,
                         help=f"ticket number pattern (default {defaults.pattern!r})")
    inspect.add_argument("--own-address", action="append", default=[], metavar="ADDRESS",
                         help="one of the helpdesk's own addresses (repeatable)")
    inspect.add_argument("--own-domain", action="append", default=[], metavar="DOMAIN",
                         help="a domain the helpdesk's Message-IDs use (repeatable)")
    inspect.add_argument("--loop-header", default="X-Helpdesk-Loop", metavar="NAME",
                         help="the loop header the helpdesk adds (default 'X-Helpdesk-Loop')")
    for name, text in (("quarantine", "list quarantined mail and why"),
                       ("reprocess", "run quarantined mail again")):
        command = mail_commands.add_parser(name, help=text, description=text)
        command.add_argument("--account", help="only this mail account")
        command.add_argument("--database-url", help="default: HELPDESK_DATABASE_URL")
        command.add_argument("--json", action="store_true", help="one JSON object per line")
        if name == "reprocess":
            command.add_argument("--key", action="append", metavar="KEY",
                                 help="only this mailbox key (repeatable)")
    sla = commands.add_parser("sla", help="SLA sweep and recompute")
    sla_commands = sla.add_subparsers(dest="sla_command", required=True)
    for name, text in (("sweep", "fire the escalation levels that are due"),
                       ("recompute", "rebuild deadlines after a policy or calendar change")):
        command = sla_commands.add_parser(name, help=text, description=text)
        command.add_argument("--settings", required=True, metavar="MODULE:NAME",
                             help="the host's Settings object (or a function returning it)")
        if name == "recompute":
            command.add_argument("--ticket", action="append", metavar="KEY",
                                 help="only this ticket (repeatable; default: every active one)")
    return parser


def _load_settings(spec: str) -> Settings:
    from helpdesk_core.settings import Settings

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError("--settings must look like package.module:name")
    try:
        value = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"cannot load {spec}: {exc}") from exc
    if callable(value) and not isinstance(value, Settings):
        value = value()
    if not isinstance(value, Settings):
        raise ConfigurationError(f"{spec} is not a Settings object")
    return value


def _sla(args: argparse.Namespace) -> int:
    from helpdesk_core.bootstrap import bootstrap

    with bootstrap(_load_settings(args.settings)) as helpdesk:
        if args.sla_command == "sweep":
            report = helpdesk.sla.sweep()
            print(f"due {report.due}, fired {report.fired}, notified {report.notified}, "
                  f"conflicts {report.conflicts}")
        else:
            count = helpdesk.sla.recompute(args.ticket)
            print(f"recomputed {count} ticket(s)")
    return 0


def _staged_json(row: StagedMail, outcome: str | None = None) -> dict[str, object]:
    return {"account": row.account, "key": row.key, "state": row.state.value,
            "size": row.size, "attempts": row.attempts, "outcome": outcome or row.outcome,
            "ticket_id": row.ticket_id, "reason": (row.reason or "").split("\n", 1)[0] or None,
            "staged_at": row.staged_at.isoformat()}


def _quarantine(args: argparse.Namespace) -> int:
    from helpdesk_core.bootstrap import bootstrap
    from helpdesk_core.settings import Settings

    overrides = {"database_url": args.database_url} if args.database_url else {}
    status = 0
    results: list[tuple[StagedMail, str | None]]
    with bootstrap(Settings.from_env(**overrides)) as helpdesk:
        if args.mail_command == "quarantine":
            results = [(row, None) for row in helpdesk.mail.staged(
                account=args.account, state=StagedState.QUARANTINED, limit=10_000)]
        else:
            done = helpdesk.mail.reprocess(account=args.account, keys=args.key)
            results = [(row, outcome.outcome if outcome else None) for row, outcome in done]
            status = 1 if any(outcome is None for _row, outcome in results) else 0
        for row, outcome in results:
            line = _staged_json(row, outcome)
            if args.json:
                print(json.dumps(line, ensure_ascii=False))
            else:
                print(f"{row.account} {row.key}: {line['state']}"
                      f" ({line['outcome'] or line['reason']})")
    return status


def _inspect(files: Sequence[str], *, as_json: bool, fmt: TicketNumberFormat,
             own_addresses: Sequence[str], own_domains: Sequence[str],
             loop_header: str) -> int:
    status = 0
    first = True
    for name in files:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            status = 1
            reason = exc.strerror or str(exc)
            print(f"helpdesk: cannot read {name}: {reason}", file=sys.stderr)
            if as_json:
                print(json.dumps({"file": name, "error": reason}, ensure_ascii=False))
            continue
        report = inspect_mail(data, file=name, fmt=fmt, own_addresses=own_addresses,
                              own_message_id_domains=own_domains, loop_header=loop_header)
        if as_json:
            print(json.dumps(report, ensure_ascii=False))
        else:
            if not first:
                print()
            print(format_report(report))
            first = False
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "mail" and args.mail_command == "inspect":
        try:
            fmt = TicketNumberFormat(prefix=args.prefix, pattern=args.pattern)
        except ConfigurationError as exc:
            print(f"helpdesk: {exc}", file=sys.stderr)
            return 1
        return _inspect(args.files, as_json=args.json, fmt=fmt,
                        own_addresses=args.own_address, own_domains=args.own_domain,
                        loop_header=args.loop_header)
    if args.command == "sla":
        try:
            return _sla(args)
        except HelpdeskError as exc:
            print(f"helpdesk: {exc}", file=sys.stderr)
            return 1
    if args.command == "mail" and args.mail_command in ("quarantine", "reprocess"):
        try:
            return _quarantine(args)
        except HelpdeskError as exc:
            print(f"helpdesk: {exc}", file=sys.stderr)
            return 1
    parser.error("unknown command")  # pragma: no cover - argparse requires a command


if __name__ == "__main__":
    sys.exit(main())
