"""fetch_all: every account once, each with its own channel and size limit, against Dovecot."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import attrs
import pytest

import crash_child
from dovecot_server import STRICT_HOST, Dovecot, UserMailbox, free_ports
from helpdesk_core.app import Helpdesk
from helpdesk_core.bootstrap import bootstrap
from helpdesk_core.domain.article import Direction
from helpdesk_core.domain.mailbox import StagedState
from helpdesk_core.domain.queue import TicketQuery
from helpdesk_core.errors import ConfigurationError
from helpdesk_core.facade.mail import MailSection
from helpdesk_core.mail.policy import MailPolicy
from helpdesk_core.settings import Settings
from helpdesk_mail import MailAccount, fetch_all, open_inbox
from helpdesk_mail.imap import DONE_KEYWORD
from realistic_mail import IDS, MAILS, message_id


@pytest.fixture
def returns(dovecot: Dovecot, mailbox: UserMailbox) -> UserMailbox:
    """A second user: the POP3 maildrop of another address."""
    return UserMailbox(dovecot, f"{mailbox.user}-returns")


def _accounts(mailbox: UserMailbox, returns: UserMailbox,
              **overrides: Any) -> list[MailAccount]:
    return [
        mailbox.account("imap", name="support", addresses=("podpora@eshop.example.cz",),
                        team="support", language="cs", **overrides.get("support", {})),
        returns.account("pop3", name="returns", addresses=("support@eshop.example.de",),
                        team="returns", language="de", **overrides.get("returns", {})),
    ]


def _desk(tmp_path: Path, accounts: list[MailAccount]) -> Helpdesk:
    return bootstrap(Settings(
        database_url=f"sqlite:///{tmp_path}/desk.sqlite3",
        mail_channels=tuple(account.channel() for account in accounts),
        mail_policy=MailPolicy(own_addresses=("noreply@eshop.example.cz",),
                               message_id_domain="helpdesk.eshop.example.cz"),
    ), environ={})


def _teams(desk: Helpdesk) -> dict[str, str | None]:
    """Message-ID of each inbound mail → the team of its ticket."""
    return {a.meta["message_id"]: t.team
            for t in desk.tickets.queue(TicketQuery(limit=500)).items
            for a in desk.tickets.articles(t.number) if a.direction is Direction.INBOUND}


def test_every_account_is_fetched_with_its_own_defaults(
    mailbox: UserMailbox, returns: UserMailbox, tmp_path: Path
) -> None:
    mailbox.append(MAILS[0], MAILS[4])
    returns.append(MAILS[1], MAILS[3])
    accounts = _accounts(mailbox, returns)
    with _desk(tmp_path, accounts) as desk:
        reports = fetch_all(desk, accounts)
        assert [r.account for r in reports] == ["support", "returns"]
        assert [(r.error, r.processed, r.acknowledged) for r in reports] == [
            (None, 2, 2), (None, 2, 2)]
        assert _teams(desk) == {IDS[0]: "support", IDS[4]: "support",
                                IDS[1]: "returns", IDS[3]: "returns"}
        assert [r.listed for r in fetch_all(desk, accounts)] == [0, 0]
    assert all(DONE_KEYWORD in flags for flags, _ in mailbox.contents().values())
    assert returns.bodies() == []  # POP3 deleted them at QUIT


def test_a_failing_account_does_not_stop_the_others(
    mailbox: UserMailbox, returns: UserMailbox, tmp_path: Path
) -> None:
    (closed,) = free_ports(1)
    mailbox.append(MAILS[0])
    returns.append(MAILS[1])
    accounts = _accounts(mailbox, returns, support={"port": closed})
    with _desk(tmp_path, accounts) as desk:
        broken, working = fetch_all(desk, accounts)
        assert broken.error is not None
        assert "cannot reach" in broken.error
        assert "connection refused" in broken.error
        assert (working.error, working.processed) == (None, 1)


def test_a_login_the_server_refuses_is_reported_as_such_and_the_others_run(
    mailbox: UserMailbox, returns: UserMailbox, tmp_path: Path
) -> None:
    mailbox.append(MAILS[0])
    returns.append(MAILS[1])
    accounts = [
        mailbox.account("imap", name="support", password="Wr0ng-s3cret"),
        returns.account("pop3", name="returns", host=STRICT_HOST),
    ]
    with _desk(tmp_path, accounts) as desk:
        support, returned = fetch_all(desk, accounts)
    assert support.error == (
        f"IMAP account 'support': the server 127.0.0.1:{mailbox.server.imap_port} refused the "
        f"login of {mailbox.user!r} ([AUTHENTICATIONFAILED] Authentication failed.); check the "
        "username and password")
    assert returned.error is not None
    assert returned.error.startswith(
        f"POP3 account 'returns': the server {STRICT_HOST}:{returns.server.pop3_port} allows "
        "no USER/PASS login on this connection")
    assert (support.processed, returned.processed) == (0, 0)
    assert len(mailbox.bodies()) == len(returns.bodies()) == 1  # left on the servers


def test_an_unexpected_failure_is_reported_and_the_next_account_runs(
    mailbox: UserMailbox, returns: UserMailbox, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    returns.append(MAILS[1])
    accounts = _accounts(mailbox, returns)

    fetch = MailSection.fetch

    def breaks_on_support(section: MailSection, inbox: Any, **kwargs: Any) -> Any:
        if inbox.account == "support":
            raise RuntimeError("disk full")
        return fetch(section, inbox, **kwargs)

    monkeypatch.setattr(MailSection, "fetch", breaks_on_support)
    with _desk(tmp_path, accounts) as desk:
        broken, working = fetch_all(desk, accounts)
    assert broken.error == "RuntimeError: disk full"
    assert (working.error, working.processed) == (None, 1)
    assert "mail account support: the run failed" in caplog.text


def test_a_configuration_error_is_raised_before_any_account_is_fetched(
    mailbox: UserMailbox, returns: UserMailbox, dovecot: Dovecot, tmp_path: Path
) -> None:
    returns.append(MAILS[1])
    accounts = _accounts(mailbox, returns)
    accounts.append(returns.account(
        "pop3", name="broken", security="tls", port=dovecot.pop3s_port,
        ca_file=str(tmp_path / "missing.pem")))
    with _desk(tmp_path, accounts) as desk, pytest.raises(ConfigurationError, match="ca_file"):
        fetch_all(desk, accounts)
    assert len(returns.bodies()) == 1  # nothing was fetched


def test_an_account_missing_from_the_settings_still_gets_its_defaults(
    mailbox: UserMailbox, returns: UserMailbox, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mailbox.append(MAILS[0])
    accounts = _accounts(mailbox, returns)
    with _desk(tmp_path, []) as desk, caplog.at_level(logging.WARNING):
        (report,) = fetch_all(desk, accounts[:1])
        assert report.processed == 1
        assert _teams(desk) == {IDS[0]: "support"}
    assert "support is not in Settings.mail_channels" in caplog.text


def test_the_limit_counts_downloads_per_account(
    mailbox: UserMailbox, returns: UserMailbox, tmp_path: Path
) -> None:
    mailbox.append(*MAILS)
    returns.append(*MAILS[:3])
    accounts = _accounts(mailbox, returns)
    with _desk(tmp_path, accounts) as desk:
        assert [r.downloaded for r in fetch_all(desk, accounts, limit=2)] == [2, 2]
        assert [r.downloaded for r in fetch_all(desk, accounts, limit=2)] == [2, 1]
        assert [r.downloaded for r in fetch_all(desk, accounts, limit=2)] == [1, 0]


# -- the how-to guide, docs/how-to/fetch-mail.md ---------------------------------------------

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "how-to" / "fetch-mail.md"


def _guide_blocks(language: str) -> list[str]:
    if not GUIDE.exists():  # an installed sdist has no docs
        pytest.skip(f"{GUIDE} is not here")
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_guides_python_blocks_compile() -> None:
    blocks = _guide_blocks("python")
    assert len(blocks) >= 6
    for number, block in enumerate(blocks):
        compile(block, f"{GUIDE.name} block {number}", "exec")


def test_the_guide_step_by_step(
    mailbox: UserMailbox, returns: UserMailbox, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """The calls of the guide, against Dovecot; steps 6 and 7 run the guide's own code."""
    poison = "jana.novakova@posta.example.cz"
    mailbox.append(MAILS[0], MAILS[1], MAILS[4])  # Jana's mail fails; the invoice is too large
    returns.append(MAILS[3])
    # Step 2, with the test server's address instead of the real one.
    support = mailbox.account(
        "imap", name="support", after="move", move_to="Processed", max_bytes=20_000,
        addresses=("podpora@example.cz", "reklamace@example.cz"),
        team="support", owner="petra.svobodova", language="cs")
    returns_de = returns.account(
        "pop3", name="returns-de", after="delete", addresses=("retouren@example.de",),
        team="returns", language="de")
    accounts = [support, returns_de]
    # Step 3.
    url = f"sqlite:///{tmp_path}/desk.sqlite3"
    settings = Settings.from_env(
        {"HELPDESK_DATABASE_URL": url},
        mail_channels=tuple(account.channel() for account in accounts),
        mail_policy=MailPolicy(own_addresses=("noreply@example.cz",),
                               message_id_domain="helpdesk.example.cz", max_attempts=1),
    )
    # Step 4, one round; the host directory fails for one customer.
    with bootstrap(settings, environ={},
                   directory_factory=crash_child.poisoned(poison)) as helpdesk:
        first, second = fetch_all(helpdesk, accounts, limit=100)
    # Step 5.
    assert (first.account, first.error, first.listed, first.downloaded) == (
        "support", None, 3, 2)
    assert (first.processed, first.failed, first.quarantined, first.acknowledged) == (
        1, 1, 2, 2)
    assert first.outcomes == {"new_ticket": 1}
    assert (second.account, second.error, second.processed, second.outcomes) == (
        "returns-de", None, 1, {"new_ticket": 1})
    assert [message_id(body) for body in mailbox.bodies()] == [IDS[1]]  # only the large one

    # Step 6, the command line and the guide's code.
    from helpdesk_core.cli import main

    assert main(["mail", "quarantine", "--database-url", url]) == 0
    lines = sorted(capsys.readouterr().out.splitlines())
    assert len(lines) == 2
    assert re.fullmatch(r"support \d+:1: quarantined \(RuntimeError: the customer database "
                        rf"cannot read {poison}\)", lines[0])
    assert re.fullmatch(rf"support \d+:2: quarantined \(message of {len(MAILS[1])} bytes "
                        r"exceeds the limit of 20000\)", lines[1])
    blocks = _guide_blocks("python")
    [step6] = [b for b in blocks if "state=StagedState.QUARANTINED" in b]
    [step7] = [b for b in blocks if "helpdesk.mail.reprocess(" in b]
    [stuck] = [b for b in blocks if "ack_failing=True" in b]
    monkeypatch.chdir(tmp_path)
    with bootstrap(settings, environ={}) as helpdesk:  # the directory is fixed
        exec(step6, {"helpdesk": helpdesk})
        assert [p.read_bytes() for p in tmp_path.glob("support-*.eml")] == [MAILS[0]]
        exec(stuck, {"helpdesk": helpdesk})  # no acknowledgement was refused here
        # Step 7.
        exec(step7, {"helpdesk": helpdesk})
    out = capsys.readouterr().out
    assert re.search(r"\d+:1 new_ticket \S+", out)
    assert re.search(r"still failing: \d+:2 message of \d+ bytes exceeds the limit", out)
    assert main(["mail", "reprocess", "--database-url", url, "--json"]) == 1  # the large one
    assert '"state": "quarantined"' in capsys.readouterr().out
    # Step 6 again: with a higher limit the next run takes the large mail, here through
    # helpdesk.mail.fetch as the guide shows it for a single inbox.
    account = attrs.evolve(support, max_bytes=1_000_000)
    with bootstrap(settings, environ={}) as helpdesk:
        report = helpdesk.mail.fetch(open_inbox(account), limit=100,
                                     max_bytes=account.max_bytes)
        assert (report.downloaded, report.processed, report.acknowledged) == (1, 1, 1)
        assert helpdesk.mail.staged(state=StagedState.QUARANTINED) == []
    assert mailbox.bodies() == []
