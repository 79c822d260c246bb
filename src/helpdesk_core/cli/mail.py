"""``helpdesk mail``: inspect raw mail, fetch the configured accounts, quarantined mail."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from helpdesk_core.cli._shared import (
    FAILED,
    OK,
    CliError,
    StopSignals,
    Target,
    add_database_options,
    add_loop_options,
    existing_helpdesk,
    progress,
    say,
    target,
    warn,
)
from helpdesk_core.domain.mailbox import StagedMail, StagedState
from helpdesk_core.domain.numbering import TicketNumberFormat
from helpdesk_core.errors import ConfigurationError, HelpdeskError
from helpdesk_core.mail.inspect import format_report, inspect_mail

if TYPE_CHECKING:
    from helpdesk_core.app import Helpdesk
    from helpdesk_core.mail.policy import MailChannel
    from helpdesk_core.ports.messaging import MailInbox
    from helpdesk_core.services.mail_fetch import FetchReport

ACCOUNTS_OPTION = "mail_accounts"
QUARANTINE_LIMIT = 10_000


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mail = commands.add_parser("mail", help="inbound mail: inspect, fetch, quarantine",
                               description="Inbound mail.")
    mail_commands = mail.add_subparsers(dest="mail_command", required=True, metavar="COMMAND")

    inspect = mail_commands.add_parser(
        "inspect", help="show what the helpdesk makes of raw mail files",
        description="Parse raw mails (.eml) and show addresses, thread ids, body, "
                    "attachments, auto-response suppression, bounce and ticket numbers. "
                    "Needs no database.")
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
    inspect.set_defaults(run=_inspect)

    fetch = mail_commands.add_parser(
        "fetch", help="fetch every configured mail account once (or --loop)",
        description="Fetch the mail accounts in the settings' options['mail_accounts'] (each "
                    "a MailAccount of helpdesk-mail, or a mapping of its fields): one "
                    "crash-safe run over each, in order.")
    add_database_options(fetch, settings_required=True)
    fetch.add_argument("--account", action="append", metavar="NAME",
                       help="only this account (repeatable)")
    fetch.add_argument("--limit", type=_positive, default=100, metavar="N",
                       help="downloads per account and pass (default 100)")
    add_loop_options(fetch, what="fetch", interval=60)
    fetch.set_defaults(run=_fetch)

    for name, text in (("quarantine", "list quarantined mail, and stored mail the server "
                                      "refuses to flag, move or delete"),
                       ("reprocess", "run quarantined mail again")):
        command = mail_commands.add_parser(name, help=text, description=text)
        command.add_argument("--account", help="only this mail account")
        add_database_options(command, settings_required=False)
        command.add_argument("--json", action="store_true", help="one JSON object per line")
        if name == "reprocess":
            command.add_argument("--key", action="append", metavar="KEY",
                                 help="only this mailbox key (repeatable)")
        command.set_defaults(run=_quarantine if name == "quarantine" else _reprocess)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return value


# -- inspect ----------------------------------------------------------------------------------


def _inspect(args: argparse.Namespace) -> int:
    try:
        fmt = TicketNumberFormat(prefix=args.prefix, pattern=args.pattern)
    except ConfigurationError as exc:
        raise CliError(str(exc)) from None
    status = OK
    first = True
    for name in args.files:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            status = FAILED
            reason = exc.strerror or str(exc)
            warn(f"cannot read {name}: {reason}")
            if args.json:
                say(json.dumps({"file": name, "error": reason}, ensure_ascii=False))
            continue
        report = inspect_mail(data, file=name, fmt=fmt, own_addresses=args.own_address,
                              own_message_id_domains=args.own_domain,
                              loop_header=args.loop_header)
        if args.json:
            say(json.dumps(report, ensure_ascii=False))
        else:
            if not first:
                say()
            say(format_report(report))
            first = False
    return status


# -- quarantine and reprocess -----------------------------------------------------------------


def _staged_json(row: StagedMail, outcome: str | None = None) -> dict[str, object]:
    return {"account": row.account, "key": row.key, "state": row.state.value,
            "size": row.size, "attempts": row.attempts, "outcome": outcome or row.outcome,
            "ticket_id": row.ticket_id, "reason": (row.reason or "").split("\n", 1)[0] or None,
            "staged_at": row.staged_at.isoformat(), "acknowledged": row.acknowledged,
            "ack_attempts": row.ack_attempts, "ack_error": row.ack_error,
            "ack_next_at": row.ack_next_at.isoformat() if row.ack_next_at else None}


def _show(rows: Sequence[tuple[StagedMail, str | None]], *, as_json: bool) -> None:
    for row, outcome in rows:
        line = _staged_json(row, outcome)
        if as_json:
            say(json.dumps(line, ensure_ascii=False))
            continue
        text = f"{row.account} {row.key}: {line['state']} ({line['outcome'] or line['reason']})"
        if row.ack_failing and row.ack_next_at is not None:
            text += (f"; not acknowledged on the server ({row.ack_attempts} failed, next try "
                     f"{row.ack_next_at:%Y-%m-%d %H:%M} UTC): {row.ack_error}")
        say(text)


def _nothing(text: str, *, as_json: bool) -> None:
    """An empty result says so — on stderr with --json, whose output stays JSON lines."""
    if as_json:
        warn(text)
    else:
        say(text)


def _in_account(args: argparse.Namespace) -> str:
    return f" in account {args.account!r}" if args.account else ""


def _quarantine(args: argparse.Namespace) -> int:
    with existing_helpdesk(target(args)) as helpdesk:
        rows = helpdesk.mail.staged(account=args.account, state=StagedState.QUARANTINED,
                                    limit=QUARANTINE_LIMIT)
        # Stored mail the server will not flag, move or delete: listed here too, for it
        # needs a look on the server (the helpdesk keeps trying).
        stuck = helpdesk.mail.staged(account=args.account, ack_failing=True,
                                     limit=QUARANTINE_LIMIT)
    shown = {(r.account, r.key) for r in rows}
    rows += [r for r in stuck if (r.account, r.key) not in shown]
    _show([(row, None) for row in rows], as_json=args.json)
    if not rows:
        _nothing(f"no quarantined mail{_in_account(args)}", as_json=args.json)
    elif len(rows) == QUARANTINE_LIMIT:
        warn(f"showing the first {QUARANTINE_LIMIT}; there may be more")
    return OK


def _reprocess(args: argparse.Namespace) -> int:
    with existing_helpdesk(target(args)) as helpdesk:
        done = helpdesk.mail.reprocess(account=args.account, keys=args.key)
    results = [(row, outcome.outcome if outcome else None) for row, outcome in done]
    _show(results, as_json=args.json)
    status = FAILED if any(outcome is None for _row, outcome in results) else OK
    if args.key:
        missing = [key for key in dict.fromkeys(args.key) if key not in {r.key for r, _ in done}]
        if missing:
            warn(f"no quarantined mail with the key {', '.join(missing)}{_in_account(args)} "
                 "(helpdesk mail quarantine lists them)")
            status = FAILED
    elif not results:
        _nothing(f"no quarantined mail to reprocess{_in_account(args)}", as_json=args.json)
    return status


# -- fetch ------------------------------------------------------------------------------------


@attrs.frozen
class _Account:
    name: str
    protocol: str
    value: object  # as the settings hold it: the inbox factory reads it


def _accounts(where: Target, wanted: Sequence[str] | None) -> list[_Account]:
    raw = where.settings.option(ACCOUNTS_OPTION)
    if not raw:
        raise CliError(f"the settings name no mail account: put the accounts in "
                       f"Settings.options[{ACCOUNTS_OPTION!r}] (docs/reference/cli.md)")
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Sequence):
        raise CliError(f"Settings.options[{ACCOUNTS_OPTION!r}] must be a list of mail "
                       f"accounts, not {type(raw).__name__}")
    accounts = [_account(value) for value in raw]
    names = [a.name for a in accounts]
    for name in wanted or ():
        if name not in names:
            raise CliError(f"no mail account named {name!r} in the settings "
                           f"(they have: {', '.join(names)})")
    return [a for a in accounts if not wanted or a.name in wanted]


def _account(value: object) -> _Account:
    def field(name: str) -> Any:
        return value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)

    name, protocol = field("name"), field("protocol")
    if not isinstance(name, str) or not name or not isinstance(protocol, str) or not protocol:
        raise CliError(f"Settings.options[{ACCOUNTS_OPTION!r}]: every account needs a name and "
                       f"a protocol; {value!r} has not")
    return _Account(name, protocol, value)


def _inbox(helpdesk: Helpdesk, where: Target, account: _Account) -> MailInbox:
    options = {**where.settings.options, "mail_account": account.value}
    return helpdesk.registry.mail_inboxes.create(
        account.protocol, attrs.evolve(where.settings, options=options))


def _channel(helpdesk: Helpdesk, account: _Account) -> MailChannel | None:
    """None when the settings configure the account's channel (fetch finds it by name);
    else the account's own, which helpdesk-mail's MailAccount.channel() gives."""
    from helpdesk_core.mail.policy import MailChannel

    if any(c.name == account.name for c in helpdesk.mail.channels):
        return None
    own = getattr(account.value, "channel", None)
    channel = own() if callable(own) else None
    warn(f"mail account {account.name!r} is not in Settings.mail_channels: its addresses are "
         "not known as the helpdesk's own and reprocessed mail gets no defaults")
    return channel if isinstance(channel, MailChannel) else None


def _fetch(args: argparse.Namespace) -> int:
    where = target(args)
    accounts = _accounts(where, args.account)
    with existing_helpdesk(where) as helpdesk:
        channels = {account.name: _channel(helpdesk, account) for account in accounts}
        if not args.loop:
            reports = _fetch_pass(helpdesk, where, accounts, channels, args.limit, None)
            for report in reports:
                say(_describe(report))
            return FAILED if any(r.error for r in reports) else OK
        with StopSignals() as stop:
            while not stop.stopped:
                for report in _fetch_pass(helpdesk, where, accounts, channels, args.limit, stop):
                    if report.error or report.listed or report.quarantined:
                        say(_describe(report))
                if stop.wait(args.interval):
                    break
    return OK


def _fetch_pass(helpdesk: Helpdesk, where: Target, accounts: Sequence[_Account],
                channels: Mapping[str, MailChannel | None], limit: int,
                stop: StopSignals | None) -> list[FetchReport]:
    from helpdesk_core.services.mail_fetch import FetchReport

    reports: list[FetchReport] = []
    with progress("fetching mail", total=len(accounts)) as bar:
        for done, account in enumerate(accounts):
            if stop is not None and stop.stopped:
                break
            bar.update(done, description=f"fetching {account.name}")
            try:
                inbox = _inbox(helpdesk, where, account)
                report = helpdesk.mail.fetch(inbox, channel=channels[account.name], limit=limit)
            except (ConfigurationError, CliError):
                raise
            except Exception as exc:  # one broken account must not keep the others waiting
                report = FetchReport(account=account.name, error=_error(exc))
            reports.append(report)
            bar.update(done + 1)
    return reports


def _error(exc: Exception) -> str:
    return str(exc) if isinstance(exc, HelpdeskError) else f"{type(exc).__name__}: {exc}"


def _describe(report: FetchReport) -> str:
    if report.error:
        done = f" after {report.processed} processed" if report.processed else ""
        return f"{report.account}: failed{done}: {report.error}"
    if not (report.listed or report.quarantined):
        return f"{report.account}: no new mail"
    outcomes = ", ".join(f"{name} {count}" for name, count in sorted(report.outcomes.items()))
    return (f"{report.account}: {report.listed} listed, {report.downloaded} downloaded, "
            f"{report.processed} processed" + (f" ({outcomes})" if outcomes else "")
            + f", {report.failed} failed, {report.quarantined} quarantined, "
            f"{report.acknowledged} acknowledged"
            + (f", {len(report.ack_failed)} not acknowledged (the server refused)"
               if report.ack_failed else ""))
