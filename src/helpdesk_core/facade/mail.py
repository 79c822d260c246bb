"""``helpdesk.mail``: inbound mail — one raw mail, a mailbox run, the staged mail."""

from __future__ import annotations

from helpdesk_core.domain.access import Action
from helpdesk_core.domain.mailbox import StagedMail, StagedState
from helpdesk_core.domain.values import Actor
from helpdesk_core.facade.arguments import checked, in_range
from helpdesk_core.facade.guard import Guard
from helpdesk_core.mail.policy import MailChannel
from helpdesk_core.ports.messaging import MailInbox
from helpdesk_core.services.mail_fetch import FetchReport, MailFetcher
from helpdesk_core.services.mail_ingest import MailIngest, MailOutcome
from helpdesk_core.services.unit_of_work import Units

__all__ = ["MailSection"]

MOST = 100_000  # staged mails listed at once


@checked
class MailSection:
    """Run by the host's mail workers: without ``actor``, the host itself."""

    def __init__(self, *, guard: Guard, units: Units, ingest: MailIngest,
                 fetcher: MailFetcher) -> None:
        self._guard = guard
        self._units = units
        self._ingest = ingest
        self._fetcher = fetcher

    @property
    def channels(self) -> tuple[MailChannel, ...]:
        return self._ingest.channels

    def channel(self, name: str) -> MailChannel:
        """The configured channel called ``name``, or a bare one with no defaults."""
        return self._ingest.channel(name)

    def receive(self, raw: bytes, *, channel: str = "default",
                actor: Actor | None = None) -> MailOutcome:
        """Handle one raw inbound mail (bytes as received) in one transaction.

        ``channel`` names a configured :class:`MailChannel` (its defaults apply to new
        tickets). The outcome says what became of the mail: see ``Outcome``. Never raises for
        what a mail contains: a mail without text, with a text or subject longer than an
        article holds, or past the parser's limits is stored with a note of what was cut;
        only a mail over ``max_bytes`` or unreadable is quarantined. ``raw_blob`` names the
        kept bytes.
        """
        self._guard.check(actor, Action.RECEIVE_INBOUND)
        return self._ingest.receive(raw, channel=self._ingest.channel(channel))

    def fetch(self, inbox: MailInbox, *, channel: MailChannel | None = None, limit: int = 100,
              max_bytes: int | None = None, actor: Actor | None = None) -> FetchReport:
        """One crash-safe run over a mailbox: stage, handle, then acknowledge on the server.

        ``channel`` defaults to the configured channel named like the inbox's account.
        ``max_bytes`` (default: the policy's parser limit) refuses larger mail before it is
        downloaded; an inbox that raises MessageTooLarge is obeyed the same way.
        """
        self._guard.check(actor, Action.RUN_BACKGROUND_WORK)
        return self._fetcher.fetch(inbox, channel=channel, limit=limit, max_bytes=max_bytes)

    @property
    def max_bytes(self) -> int:
        """The policy's size limit for one mail."""
        return self._ingest.policy.limits.max_bytes

    def staged(self, *, account: str | None = None, state: StagedState | None = None,
               limit: int = 100, ack_failing: bool = False,
               actor: Actor | None = None) -> list[StagedMail]:
        """Staged mails, e.g. ``state=StagedState.QUARANTINED`` with their reasons;
        ``ack_failing=True``: stored mail the server has refused to flag, move or delete so
        far (``ack_attempts``, ``ack_error``, ``ack_next_at``)."""
        self._guard.check(actor, Action.RUN_BACKGROUND_WORK)
        with self._units(read_only=True) as unit:
            return unit.staged_mail.list(account=account, state=state,
                                         limit=in_range(limit, field="limit", most=MOST),
                                         ack_failing=ack_failing)

    def reprocess(self, *, account: str | None = None, keys: list[str] | None = None,
                  actor: Actor | None = None) -> list[tuple[StagedMail, MailOutcome | None]]:
        """Run quarantined mail again. Mail held by the new-ticket limit opens its ticket when
        ``keys`` name it; otherwise the limit applies again."""
        self._guard.check(actor, Action.RUN_BACKGROUND_WORK)
        return self._fetcher.reprocess(account=account, keys=keys)
