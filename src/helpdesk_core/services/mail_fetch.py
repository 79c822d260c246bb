"""The fetch loop: mailbox → staged bytes → one transaction per mail → server acknowledgement.

Crash safety comes from the order of the steps, each durable before the next starts:

1. list keys and sizes (nothing downloaded); a key already staged is not downloaded again;
2. download, store the raw bytes as a blob, stage the row (commit);
3. handle the mail (``receive_mail``) — the ticket change and the staged row's outcome commit
   together;
4. only then flag, move or delete it on the server, and mark the row acknowledged.

A crash between 2 and 3 leaves a staged row that the next run handles; between 3 and 4 a
processed row whose mail is still on the server, which the next run only acknowledges. A mail
that fails ``max_attempts`` times is quarantined with its reason and raw bytes and the loop
goes on; :func:`reprocess` puts quarantined mail back.
"""

from __future__ import annotations

import logging
import traceback

import attrs

from helpdesk_core.domain.mailbox import StagedMail, StagedState
from helpdesk_core.errors import (
    ConcurrencyError,
    MailboxError,
    MessageTooLarge,
    StorageError,
)
from helpdesk_core.mail.policy import MailChannel
from helpdesk_core.mail.threading import fingerprint
from helpdesk_core.ports.messaging import MailInbox, MailRef
from helpdesk_core.services.deps import Deps
from helpdesk_core.services.mail_ingest import MailOutcome, receive_mail

__all__ = ["FetchReport", "fetch_mailbox", "reprocess"]

log = logging.getLogger("helpdesk_core.mail.fetch")
_LISTING = 1_000_000  # "everything": listing keys and sizes is cheap on IMAP and POP3


@attrs.define
class FetchReport:
    """What one run did with one mailbox. ``error`` is set when the server failed mid-run."""

    account: str
    listed: int = 0
    downloaded: int = 0
    processed: int = 0
    outcomes: dict[str, int] = attrs.field(factory=dict)
    failed: int = 0
    quarantined: int = 0
    acknowledged: int = 0
    error: str | None = None

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def fetch_mailbox(
    deps: Deps,
    inbox: MailInbox,
    *,
    channel: MailChannel | None = None,
    limit: int = 100,
    max_bytes: int | None = None,
) -> FetchReport:
    """One run over one mailbox; returns a report instead of raising for server failures."""
    channel = channel or deps.mail_channel(inbox.account)
    report = FetchReport(account=inbox.account)
    max_bytes = max_bytes or deps.mail_policy.limits.max_bytes
    try:
        # The whole listing: mail kept on the server (too large, POP3 "keep", a deletion lost
        # with its session) is listed every run and must not hide the new mail behind it.
        refs = inbox.list_new(limit=_LISTING)
        report.listed = len(refs)
        known = _known(deps, inbox.account, [r.key for r in refs])
        for ref in refs:
            staged = known.get(ref.key)
            if staged is None or _retry_download(staged, ref, max_bytes):
                if report.downloaded >= limit:
                    continue
                staged = _stage(deps, inbox, ref, max_bytes, report)
            if staged.state is StagedState.STAGED:
                staged = _process(deps, staged, channel, report)
            # Listed again although finished: the server never carried out our flag or
            # deletion (a POP3 session that died before QUIT), so it is told again. Quarantined
            # mail whose bytes we hold is finished too: it is safe here.
            if staged.state is not StagedState.STAGED and staged.blob_key is not None:
                inbox.acknowledge(staged.key)
                if not staged.acknowledged:
                    _save(deps, staged.mark_acknowledged(at=deps.clock.now()))
                report.acknowledged += 1
    except MailboxError as exc:
        # The server went away: what was committed stays, the rest is picked up next run.
        report.error = str(exc)
        log.warning("mailbox %s: %s", inbox.account, exc)
    finally:
        try:
            inbox.close()
        except MailboxError as exc:
            report.error = report.error or str(exc)
    return report


def _known(deps: Deps, account: str, keys: list[str]) -> dict[str, StagedMail]:
    with deps.storage.unit_of_work(read_only=True) as uow:
        return uow.staged_mail.get_many(account, keys)


def _retry_download(staged: StagedMail, ref: MailRef, max_bytes: int) -> bool:
    """A mail refused as too large is downloaded once the limit admits it."""
    return staged.blob_key is None and staged.state is StagedState.QUARANTINED and \
        ref.size <= max_bytes


def _stage(deps: Deps, inbox: MailInbox, ref: MailRef, max_bytes: int,
           report: FetchReport) -> StagedMail:
    with deps.storage.unit_of_work(read_only=True) as uow:
        existing = uow.staged_mail.get(inbox.account, ref.key)
    # A mail refused as too large is downloaded once the limit allows it.
    refused_before = existing is not None and existing.blob_key is None and \
        existing.state is StagedState.QUARANTINED
    if existing is not None and not (refused_before and ref.size <= max_bytes):
        return existing
    now = deps.clock.now()
    data = None
    if ref.size <= max_bytes:
        try:
            data = inbox.download(ref.key)
        except MessageTooLarge as exc:  # the inbox's own limit is lower than ours
            max_bytes = exc.limit
    if data is None:
        if existing is not None:
            return existing
        # Refused before download: the mail stays on the server for a human to look at.
        staged = StagedMail.stage(account=inbox.account, key=ref.key, size=ref.size, at=now,
                                  blob_key=None, content_hash=None).quarantine(
            f"message of {ref.size} bytes exceeds the limit of {max_bytes}", at=now)
        report.quarantined += 1
    else:
        report.downloaded += 1
        staged = StagedMail.stage(account=inbox.account, key=ref.key, size=len(data), at=now,
                                  blob_key=deps.blob_store.put(data),
                                  content_hash=fingerprint(data))
    try:
        with deps.storage.unit_of_work() as uow:
            if existing is None:
                uow.staged_mail.add(staged)
            else:
                uow.staged_mail.update(attrs.evolve(staged, staged_at=existing.staged_at),
                                       expected=StagedState.QUARANTINED)
            uow.commit()
    except (StorageError, ConcurrencyError):
        # Another fetcher staged it first: continue from its row.
        with deps.storage.unit_of_work(read_only=True) as uow:
            current = uow.staged_mail.get(inbox.account, ref.key)
        if current is None:
            raise
        return current
    return staged


def _process(deps: Deps, staged: StagedMail, channel: MailChannel,
             report: FetchReport) -> StagedMail:
    try:
        if staged.blob_key is None:
            raise StorageError("the raw bytes of this mail were never downloaded")
        raw = deps.blob_store.get(staged.blob_key)
        outcome: MailOutcome = receive_mail(deps, raw, channel=channel, staged=staged)
    except MailboxError:
        raise
    except ConcurrencyError:
        # Another fetcher handled this mail first; its outcome stands.
        return _current(deps, staged)
    except Exception as exc:  # a poison mail must not stop the loop
        log.exception("mail %s/%s failed", staged.account, staged.key)
        reason = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
        failed = staged.failed(reason, at=deps.clock.now(),
                               max_attempts=deps.mail_policy.max_attempts)
        _save(deps, failed)
        report.failed += 1
        if failed.state is StagedState.QUARANTINED:
            report.quarantined += 1
        return failed
    report.processed += 1
    report.count(outcome.outcome)
    current = _current(deps, staged)
    if current.state is StagedState.QUARANTINED:
        report.quarantined += 1
    return current


def _current(deps: Deps, staged: StagedMail) -> StagedMail:
    with deps.storage.unit_of_work(read_only=True) as uow:
        current = uow.staged_mail.get(staged.account, staged.key)
    if current is None:  # pragma: no cover - rows are never deleted
        raise StorageError(f"staged mail {staged.account}/{staged.key} vanished")
    return current


def _save(deps: Deps, staged: StagedMail) -> None:
    with deps.storage.unit_of_work() as uow:
        uow.staged_mail.update(staged)
        uow.commit()


def reprocess(deps: Deps, *, account: str | None = None,
              keys: list[str] | None = None) -> list[tuple[StagedMail, MailOutcome | None]]:
    """Run quarantined mail again (after a fix or a policy change).

    Mail that was refused before download (too large) has no bytes here; it stays quarantined
    until a fetch whose limit admits it downloads it. Returns each mail with its new outcome
    (None if it failed again; the row then holds the new reason).
    """
    with deps.storage.unit_of_work(read_only=True) as uow:
        rows = uow.staged_mail.list(account=account, state=StagedState.QUARANTINED,
                                    limit=10_000)
    results: list[tuple[StagedMail, MailOutcome | None]] = []
    for row in rows:
        if keys is not None and row.key not in keys:
            continue
        if row.blob_key is None:
            results.append((row, None))
            continue
        retried = row.retry(at=deps.clock.now())
        _save(deps, retried)
        report = FetchReport(account=row.account)
        after = _process(deps, retried, deps.mail_channel(row.account), report)
        outcome = None if after.state is not StagedState.PROCESSED else MailOutcome(
            after.outcome or "", after.ticket_id, None, after.article_id)
        if after.state is StagedState.STAGED:  # one attempt only: back to quarantine
            after = after.quarantine(after.reason or "failed again", at=deps.clock.now())
            _save(deps, after)
        results.append((after, outcome))
    return results
