"""``helpdesk mail fetch`` against Dovecot and ``helpdesk outbox dispatch`` against a real SMTP
server, with the accounts and the SMTP server in a host's settings module; ``--loop`` in a real
process, stopped by SIGTERM and SIGINT."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dovecot_server import Dovecot, UserMailbox
from helpdesk_core.bootstrap import bootstrap
from helpdesk_core.cli import main
from helpdesk_core.domain import Actor
from helpdesk_core.mail.policy import MailPolicy
from helpdesk_core.settings import Settings
from helpdesk_mail import MailAccount
from realistic_mail import MAILS
from smtp_server import SmtpServer, smtp_server

AGENT = Actor.agent("petra", "Petra Malá")
URL = "sqlite:///desk.sqlite3"


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working directory with a migrated database; no HELPDESK_* variables."""
    for name in list(os.environ):
        if name.startswith("HELPDESK_") and name != "HELPDESK_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    bootstrap(Settings(database_url=URL), environ={}).close()
    yield tmp_path
    for name in set(sys.modules) - before:
        if Path(getattr(sys.modules[name], "__file__", None) or "/").is_relative_to(tmp_path):
            del sys.modules[name]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as running:
        yield running


def _fields(account: MailAccount) -> dict[str, Any]:
    return {"name": account.name, "protocol": account.protocol, "host": account.host,
            "port": account.port, "security": account.security, "username": account.username,
            "password": account.password, "timeout": account.timeout, "team": account.team}


def write_settings(workdir: Path, accounts: list[MailAccount] | None = None,
                   smtp: SmtpServer | None = None, *, module: str = "desk_conf") -> str:
    """The host's settings module, as an operator would write it; returns the --settings spec."""
    options: list[str] = []
    if accounts is not None:
        options.append('"mail_accounts": ACCOUNTS')
    if smtp is not None:
        options.append(f'"smtp": {{"host": "127.0.0.1", "port": {smtp.port}, '
                       f'"security": "none"}}')
    account_lines = "".join(f"    MailAccount(**{_fields(a)!r}),\n" for a in accounts or ())
    (workdir / f"{module}.py").write_text(
        "from helpdesk_core import MailChannel, MailPolicy, Settings\n"
        "from helpdesk_mail import MailAccount\n\n"
        f"ACCOUNTS = [\n{account_lines}]\n"
        f"settings = Settings(\n"
        f"    database_url={URL!r},\n"
        "    mail_channels=tuple(a.channel() for a in ACCOUNTS) or (\n"
        "        MailChannel(name='support', addresses=['support@shop.example']),),\n"
        "    mail_policy=MailPolicy(message_id_domain='helpdesk.shop.example'),\n"
        f"    options={{{', '.join(options)}}},\n"
        ")\n", encoding="utf-8")
    return f"{module}:settings"


@pytest.fixture
def returns(dovecot: Dovecot, mailbox: UserMailbox) -> UserMailbox:
    return UserMailbox(dovecot, f"{mailbox.user}-returns")


def _accounts(mailbox: UserMailbox, returns: UserMailbox) -> list[MailAccount]:
    return [mailbox.account("imap", name="support", team="support"),
            returns.account("pop3", name="returns", team="returns")]


# -- mail fetch -------------------------------------------------------------------------------


def test_fetch_runs_every_configured_account_once(
        workdir: Path, mailbox: UserMailbox, returns: UserMailbox,
        capsys: pytest.CaptureFixture[str]) -> None:
    mailbox.append(MAILS[0], MAILS[4])
    returns.append(MAILS[1])
    spec = write_settings(workdir, _accounts(mailbox, returns))

    assert main(["mail", "fetch", "--settings", spec]) == 0
    assert capsys.readouterr() == (
        "support: 2 listed, 2 downloaded, 2 processed (new_ticket 2), 0 failed, "
        "0 quarantined, 2 acknowledged\n"
        "returns: 1 listed, 1 downloaded, 1 processed (new_ticket 1), 0 failed, "
        "0 quarantined, 1 acknowledged\n", "")
    returns.append(MAILS[3])
    assert main(["mail", "fetch", "--settings", spec, "--account", "support"]) == 0
    assert capsys.readouterr().out == "support: no new mail\n"
    with bootstrap(Settings(database_url=URL), environ={}) as desk:
        teams = sorted(t.team or "" for t in desk.tickets.queue().items)
    assert teams == ["returns", "support", "support"]  # each account's own defaults


def test_an_account_that_fails_does_not_stop_the_others_and_exits_1(
        workdir: Path, mailbox: UserMailbox, returns: UserMailbox,
        capsys: pytest.CaptureFixture[str]) -> None:
    returns.append(MAILS[1])
    pop3 = _accounts(mailbox, returns)[1]
    locked_out = mailbox.account("imap", name="support", password="wrong")
    spec = write_settings(workdir, [locked_out, pop3])
    assert main(["mail", "fetch", "--settings", spec]) == 1
    out, err = capsys.readouterr()
    first, second = out.splitlines()
    assert first.startswith("support: failed: ")
    assert second.startswith("returns: 1 listed, 1 downloaded, 1 processed")
    assert "Traceback" not in err


def test_fetch_names_what_is_not_configured(
        workdir: Path, mailbox: UserMailbox, returns: UserMailbox,
        capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_settings(workdir, _accounts(mailbox, returns))
    assert main(["mail", "fetch", "--settings", spec, "--account", "sales"]) == 2
    assert capsys.readouterr().err == ("helpdesk: no mail account named 'sales' in the "
                                       "settings (they have: support, returns)\n")
    bare = write_settings(workdir, None, module="bare_conf")
    assert main(["mail", "fetch", "--settings", bare]) == 2
    assert "options['mail_accounts']" in capsys.readouterr().err


# -- outbox dispatch --------------------------------------------------------------------------


def _queue_replies(count: int) -> None:
    policy = MailPolicy(message_id_domain="helpdesk.shop.example")
    with bootstrap(Settings(database_url=URL, mail_policy=policy), environ={}) as desk:
        ticket = desk.tickets.open_from_web_form({"email": "jana@example.cz", "message": "x"})
        for n in range(count):
            desk.tickets.reply(ticket.number, f"Odpověď {n}", agent=AGENT)


def test_dispatch_sends_what_is_due(workdir: Path, smtp: SmtpServer,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_settings(workdir, None, smtp)
    _queue_replies(3)
    assert main(["outbox", "dispatch", "--settings", spec]) == 0
    out = capsys.readouterr().out
    assert out.endswith(" sent, 0 to retry later, 0 failed, 0 uncertain\n")
    sent = int(out.removeprefix("outbox: ").split()[0])
    assert sent >= 3
    assert len(smtp.received) == sent
    assert main(["outbox", "dispatch", "--settings", spec]) == 0
    assert capsys.readouterr().out == "outbox: nothing due\n"


def test_dispatch_exits_1_when_a_message_failed(workdir: Path, smtp: SmtpServer,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_settings(workdir, None, smtp)
    _queue_replies(1)
    smtp.handler.fault = "550-data"
    assert main(["outbox", "dispatch", "--settings", spec]) == 1
    assert " 0 sent, 0 to retry later, " in capsys.readouterr().out


def test_dispatch_without_a_sender_is_a_usage_error(workdir: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_settings(workdir, None, None)
    assert main(["outbox", "dispatch", "--settings", spec]) == 2
    assert capsys.readouterr().err.startswith("helpdesk: no sender to dispatch with: ")
    assert main(["outbox", "dispatch", "--settings", spec, "--mail-sender", "carrier-pigeon"]) == 2
    assert "no mail sender named 'carrier-pigeon'" in capsys.readouterr().err


# -- --loop in a real process -----------------------------------------------------------------


class Running:
    """``python -m helpdesk_core.cli ...`` with its stdout read line by line."""

    def __init__(self, workdir: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "helpdesk_core.cli", *args], cwd=workdir, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def line(self) -> str:
        return self.lines.get(timeout=60)

    def stop(self, number: int) -> tuple[int, str]:
        self.process.send_signal(number)
        try:
            code = self.process.wait(timeout=60)
        finally:
            self.process.kill()
        assert self.process.stderr is not None
        return code, self.process.stderr.read()


def test_fetch_loop_fetches_until_sigterm_and_exits_0(
        workdir: Path, mailbox: UserMailbox, returns: UserMailbox) -> None:
    mailbox.append(MAILS[0])
    spec = write_settings(workdir, _accounts(mailbox, returns))
    loop = Running(workdir, "mail", "fetch", "--settings", spec, "--loop", "--interval", "0.2")
    assert loop.line().startswith("support: 1 listed, 1 downloaded, 1 processed")
    mailbox.append(MAILS[4])  # arrives while the loop runs
    assert loop.line().startswith("support: 1 listed, 1 downloaded, 1 processed")
    code, err = loop.stop(signal.SIGTERM)
    assert code == 0
    assert "SIGTERM: stopping after this pass" in err
    assert "Traceback" not in err


def test_dispatch_loop_sends_until_sigint_and_exits_0(workdir: Path, smtp: SmtpServer) -> None:
    spec = write_settings(workdir, None, smtp)
    _queue_replies(1)
    loop = Running(workdir, "outbox", "dispatch", "--settings", spec, "--loop",
                   "--interval", "0.2")
    assert loop.line().startswith("outbox: ")
    _queue_replies(1)
    assert loop.line().startswith("outbox: ")
    code, err = loop.stop(signal.SIGINT)
    assert code == 0
    assert "SIGINT: stopping after this pass" in err
    assert "Traceback" not in err
