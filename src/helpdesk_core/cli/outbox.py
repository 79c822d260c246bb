"""``helpdesk outbox dispatch``: send what is due, once or in a loop."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from helpdesk_core.app import Helpdesk
    from helpdesk_core.ports.messaging import MailSender, SmsSender
    from helpdesk_core.services.outbox import DispatchReport

SMTP_OPTION = "smtp"  # what the "smtp" sender of helpdesk-mail reads
FIELDS = ("claimed", "sent", "retried", "failed", "uncertain")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    outbox = commands.add_parser("outbox", help="outgoing mail and SMS: dispatch",
                                 description="The outbox of outgoing mail and SMS.")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True,
                                            metavar="COMMAND")
    dispatch = outbox_commands.add_parser(
        "dispatch", help="send what is due (or --loop)",
        description="Send every due message through the senders the settings configure, "
                    "and record each result.")
    add_database_options(dispatch, settings_required=True)
    dispatch.add_argument(
        "--mail-sender", metavar="NAME",
        help="registered mail sender (default: options['mail_sender'], else 'smtp' when "
             "options['smtp'] is set)")
    dispatch.add_argument("--sms-sender", metavar="NAME",
                          help="registered SMS sender (default: options['sms_sender'])")
    add_loop_options(dispatch, what="dispatch", interval=10)
    dispatch.set_defaults(run=_dispatch)


@attrs.frozen
class _Senders:
    mail: MailSender | None
    sms: SmsSender | None


def _senders(helpdesk: Helpdesk, where: Target, args: argparse.Namespace) -> _Senders:
    settings = where.settings
    mail_name = args.mail_sender or settings.option("mail_sender") or (
        "smtp" if settings.option(SMTP_OPTION) is not None else None)
    sms_name = args.sms_sender or settings.option("sms_sender")
    if not mail_name and not sms_name:
        raise CliError("no sender to dispatch with: set Settings.options['smtp'] (or "
                       "options['mail_sender'] / options['sms_sender']), or name one with "
                       "--mail-sender / --sms-sender")
    registry = helpdesk.registry
    return _Senders(
        mail=registry.mail_senders.create(str(mail_name), settings) if mail_name else None,
        sms=registry.sms_senders.create(str(sms_name), settings) if sms_name else None)


def _dispatch(args: argparse.Namespace) -> int:
    where = target(args)
    with existing_helpdesk(where) as helpdesk:
        senders = _senders(helpdesk, where, args)
        if not args.loop:
            report = _pass(helpdesk, senders, None)
            say(_describe(report))
            if report.stopped is not None:  # the settings, not the messages: they wait
                raise CliError(f"stopped: {report.stopped}")
            return FAILED if report.failed or report.uncertain else OK
        with StopSignals() as stop:
            while not stop.stopped:
                report = _pass(helpdesk, senders, stop)
                if report.claimed or report.uncertain:
                    say(_describe(report))
                if report.stopped is not None:  # the messages wait `backoff`: no login storm
                    warn(f"stopped: {report.stopped}")
                if stop.wait(args.interval):
                    break
    return OK


def _pass(helpdesk: Helpdesk, senders: _Senders, stop: StopSignals | None) -> DispatchReport:
    """Rounds of one batch each until nothing is due, or a round sent nothing (the server
    refuses or is away: the messages wait for their next attempt)."""
    from helpdesk_core.services.outbox import DispatchReport

    total = DispatchReport()
    with progress("sending") as bar:
        while stop is None or not stop.stopped:
            report = helpdesk.outbox.dispatch(mail_sender=senders.mail, sms_sender=senders.sms)
            for name in FIELDS:
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.stopped = report.stopped
            bar.update(total.claimed, description=f"sending: {total.sent} sent")
            if not report.claimed or not report.sent or report.stopped:
                break
    return total


def _describe(report: DispatchReport) -> str:
    if not (report.claimed or report.uncertain):
        return "outbox: nothing due"
    return (f"outbox: {report.sent} sent, {report.retried} to retry later, "
            f"{report.failed} failed, {report.uncertain} uncertain")
