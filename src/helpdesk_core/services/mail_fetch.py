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

A server that refuses step 4 for one message (an IMAP ``NO``, a POP3 ``-ERR``:
:class:`AcknowledgementRefused`) must not stall the mailbox: every run walks it in the same
order and would stop at the same message. The refusal is recorded on the row (``ack_attempts``,
``ack_error``, ``ack_next_at`` after a growing delay), the message is left alone until then,
and the run goes on with the next mail.

Only the mail's own failures count as its attempts. :class:`StorageUnavailable` — the
database lost the connection, is restarting or down, the disk is full — says nothing about
the mail: its transaction was rolled back, the mail is tried once more on a fresh connection
(the pool replaces a connection whose backend was terminated), and if the database still
fails the run ends with ``FetchReport.error`` set. No attempt is counted, nothing is
quarantined, and nothing that was not stored is flagged, moved or deleted on the server.
"""

from __future__ import annotations

import logging
import traceback

import attrs

from helpdesk_core.domain.mailbox import StagedMail, StagedState
from helpdesk_core.errors import (
    AcknowledgementRefused,
    ConcurrencyError,
    MailboxError,
    MessageTooLarge,
    StorageError,
    StorageUnavailable,
)
from helpdesk_core.mail.policy import MailChannel
from helpdesk_core.mail.threading import fingerprint
from helpdesk_core.ports import BlobStore, Clock
from helpdesk_core.ports.messaging import MailInbox, MailRef
from helpdesk_core.ports.staff import StaffDirectory
from helpdesk_core.services.assignment import check_staff_references
from helpdesk_core.services.mail_ingest import MailIngest, MailOutcome
from helpdesk_core.services.unit_of_work import Units

__all__ = ["FetchReport", "MailFetcher"]

log = logging.getLogger("helpdesk_core.mail.fetch")
_LISTING = 1_000_000  # "everything": listing keys and sizes is cheap on IMAP and POP3


@attrs.define
class FetchReport:
    """What one run did with one mailbox. ``error`` is set when the server failed mid-run.

    ``ack_failed`` maps the key of each stored mail the server refused (or failed) to flag,
    move or delete in this run to the error; ``ack_waiting`` counts those skipped because
    their next try is not due yet (``helpdesk.mail.staged(ack_failing=True)`` lists them).
    """

    account: str
    listed: int = 0
    downloaded: int = 0
    processed: int = 0
    outcomes: dict[str, int] = attrs.field(factory=dict)
    failed: int = 0
    quarantined: int = 0
    acknowledged: int = 0
    error: str | None = None
    storage_unavailable: int = 0
    lost_races: int = 0
    ack_failed: dict[str, str] = attrs.field(factory=dict)
    ack_waiting: int = 0

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


class MailFetcher:
    def __init__(self, *, units: Units, clock: Clock, blob_store: BlobStore,
                 ingest: MailIngest, staff: StaffDirectory) -> None:
        self.units = units
        self.clock = clock
        self.blob_store = blob_store
        self.ingest = ingest
        self.policy = ingest.policy
        self.staff = staff

    def fetch(
        self,
        inbox: MailInbox,
        *,
        channel: MailChannel | None = None,
        limit: int = 100,
        max_bytes: int | None = None,
    ) -> FetchReport:
        """One run over one mailbox; returns a report instead of raising for server failures.

        A ``channel`` given here (not configured in the settings, which bootstrap checked)
        whose owner or team the staff directory does not list is a ConfigurationError, before
        anything is fetched."""
        if channel is not None:
            check_staff_references(self.staff, mail_channels=(channel,))
        channel = channel or self.ingest.channel(inbox.account)
        report = FetchReport(account=inbox.account)
        max_bytes = max_bytes or self.policy.limits.max_bytes
        try:
            # The whole listing: mail kept on the server (too large, POP3 "keep", a deletion lost
            # with its session) is listed every run and must not hide the new mail behind it.
            refs = inbox.list_new(limit=_LISTING)
            report.listed = len(refs)
            known = self._known(inbox.account, [r.key for r in refs])
            for ref in refs:
                staged = known.get(ref.key)
                if staged is None or self._retry_download(staged, ref, max_bytes):
                    if report.downloaded >= limit:
                        continue
                    staged = self._stage(inbox, ref, max_bytes, report)
                if staged.state is StagedState.STAGED:
                    staged = self._process_twice(staged, channel, report)
                # Listed again although finished: the server never carried out our flag or
                # deletion (a POP3 session that died before QUIT), so it is told again. Quarantined
                # mail whose bytes we hold is finished too: it is safe here.
                if staged.state is not StagedState.STAGED and staged.blob_key is not None:
                    self._acknowledge(inbox, staged, report)
        except MailboxError as exc:
            # The server went away: what was committed stays, the rest is picked up next run.
            report.error = str(exc)
            log.warning("mailbox %s: %s", inbox.account, exc)
        except StorageUnavailable as exc:
            # The database, not the mail: nothing is counted against the mail, and nothing
            # that was not stored is acknowledged. The next run starts where this one stopped.
            report.error = f"the database is unavailable: {exc}"
            report.storage_unavailable += 1
            log.warning("mailbox %s: run stopped, the database is unavailable: %s",
                        inbox.account, exc)
        finally:
            try:
                inbox.close()
            except MailboxError as exc:
                report.error = report.error or str(exc)
        return report

    def _acknowledge(self, inbox: MailInbox, staged: StagedMail, report: FetchReport) -> None:
        """Flag, move or delete a stored mail on the server. A refusal of this one message is
        recorded on its row (tried again after a growing delay) and the run goes on: one
        message the server will not flag must not hold up the mail behind it. A broken
        session is recorded too, and ends the run."""
        now = self.clock.now()
        if not staged.ack_due(now):
            report.ack_waiting += 1
            return
        try:
            inbox.acknowledge(staged.key)
        except MailboxError as exc:
            refused = isinstance(exc, AcknowledgementRefused)
            log.warning("mail %s/%s is stored, but the server did not %s: %s", staged.account,
                        staged.key, "accept the acknowledgement" if refused else "answer", exc)
            failed = staged.acknowledgement_failed(str(exc), at=now, refused=refused)
            if self._save_unless_changed(failed, staged, report):
                report.ack_failed[staged.key] = str(exc)
            if not refused:
                raise
            return
        if not staged.acknowledged:
            self._save_unless_changed(staged.mark_acknowledged(at=now), staged, report)
        report.acknowledged += 1

    def _known(self, account: str, keys: list[str]) -> dict[str, StagedMail]:
        with self.units(read_only=True) as unit:
            return unit.staged_mail.get_many(account, keys)

    @staticmethod
    def _retry_download(staged: StagedMail, ref: MailRef, max_bytes: int) -> bool:
        """A mail refused as too large is downloaded once the limit admits it."""
        return staged.blob_key is None and staged.state is StagedState.QUARANTINED and \
            ref.size <= max_bytes

    def _stage(self, inbox: MailInbox, ref: MailRef, max_bytes: int,
               report: FetchReport) -> StagedMail:
        with self.units(read_only=True) as unit:
            existing = unit.staged_mail.get(inbox.account, ref.key)
        # A mail refused as too large is downloaded once the limit allows it.
        refused_before = existing is not None and existing.blob_key is None and \
            existing.state is StagedState.QUARANTINED
        if existing is not None and not (refused_before and ref.size <= max_bytes):
            return existing
        now = self.clock.now()
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
                                      blob_key=self.blob_store.put(data),
                                      content_hash=fingerprint(data))
        try:
            with self.units() as unit:
                if existing is None:
                    unit.staged_mail.add(staged)
                else:
                    unit.staged_mail.update(attrs.evolve(staged, staged_at=existing.staged_at),
                                           expected=StagedState.QUARANTINED)
                unit.commit()
        except StorageUnavailable:
            raise
        except (StorageError, ConcurrencyError):
            # Another fetcher staged it first: continue from its row.
            with self.units(read_only=True) as unit:
                current = unit.staged_mail.get(inbox.account, ref.key)
            if current is None:
                raise
            report.lost_races += 1
            return current
        return staged

    def _process_twice(self, staged: StagedMail, channel: MailChannel,
                       report: FetchReport) -> StagedMail:
        """One mail; when the database was unavailable, once more on a fresh connection (a
        terminated backend fails only the transaction that held it). A second failure ends
        the run: the caller catches StorageUnavailable."""
        try:
            return self._process(staged, channel, report)
        except StorageUnavailable as exc:
            log.warning("mail %s/%s: the database is unavailable (%s); trying once more",
                        staged.account, staged.key, exc)
            report.storage_unavailable += 1
            return self._process(self._current(staged), channel, report)

    def _process(self, staged: StagedMail, channel: MailChannel,
                 report: FetchReport, *, past_limit: bool = False) -> StagedMail:
        try:
            if staged.blob_key is None:
                raise StorageError("the raw bytes of this mail were never downloaded")
            raw = self.blob_store.get(staged.blob_key)
            outcome: MailOutcome = self.ingest.receive(raw, channel=channel, staged=staged,
                                                       past_limit=past_limit)
        except (MailboxError, StorageUnavailable):
            raise  # the server's or the database's failure, not the mail's
        except ConcurrencyError:
            # Another fetcher handled this mail first (or is handling it); its outcome stands.
            report.lost_races += 1
            log.debug("mail %s/%s: handled by another fetcher", staged.account, staged.key)
            return self._current(staged)
        except Exception as exc:  # a poison mail must not stop the loop
            log.exception("mail %s/%s failed", staged.account, staged.key)
            reason = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
            failed = staged.failed(reason, at=self.clock.now(),
                                   max_attempts=self.policy.max_attempts)
            # Recorded only if the row is still the one this attempt started from: a fetcher
            # that lost the race never writes over the winner's outcome.
            if not self._save_unless_changed(failed, staged, report):
                return self._current(staged)
            report.failed += 1
            if failed.state is StagedState.QUARANTINED:
                report.quarantined += 1
            return failed
        report.processed += 1
        report.count(outcome.outcome)
        current = self._current(staged)
        if current.state is StagedState.QUARANTINED:
            report.quarantined += 1
        return current

    def _current(self, staged: StagedMail) -> StagedMail:
        with self.units(read_only=True) as unit:
            current = unit.staged_mail.get(staged.account, staged.key)
        if current is None:  # pragma: no cover - rows are never deleted
            raise StorageError(f"staged mail {staged.account}/{staged.key} vanished")
        return current

    def _save(self, staged: StagedMail, *, was: StagedMail) -> None:
        """Write ``staged`` over the row only if it is still as ``was`` (state and attempts),
        else ConcurrencyError."""
        with self.units() as unit:
            unit.staged_mail.update(staged, expected=was.state, expected_attempts=was.attempts)
            unit.commit()

    def _save_unless_changed(self, staged: StagedMail, was: StagedMail,
                             report: FetchReport) -> bool:
        """Like ``_save``; False (and counted as a lost race) when another fetcher changed the
        row first."""
        try:
            self._save(staged, was=was)
        except ConcurrencyError:
            report.lost_races += 1
            return False
        return True

    def reprocess(self, *, account: str | None = None,
                  keys: list[str] | None = None) -> list[tuple[StagedMail, MailOutcome | None]]:
        """Run quarantined mail again (after a fix or a policy change).

        Mail that was refused before download (too large) has no bytes here; it stays quarantined
        until a fetch whose limit admits it downloads it. Mail held by the new-ticket limit is
        let through when ``keys`` name it (an operator chose it); run with the others, the
        limit applies as at any time. Returns each mail with its new outcome (None if it
        failed again; the row then holds the new reason).
        """
        with self.units(read_only=True) as unit:
            rows = unit.staged_mail.list(account=account, state=StagedState.QUARANTINED,
                                        limit=10_000)
        results: list[tuple[StagedMail, MailOutcome | None]] = []
        for row in rows:
            if keys is not None and row.key not in keys:
                continue
            if row.blob_key is None:
                results.append((row, None))
                continue
            retried = row.retry(at=self.clock.now())
            try:
                self._save(retried, was=row)
            except ConcurrencyError:  # reprocessed (or fetched) by someone else meanwhile
                results.append((self._current(row), None))
                continue
            report = FetchReport(account=row.account)
            after = self._process(retried, self.ingest.channel(row.account), report,
                                  past_limit=keys is not None)
            outcome = None if after.state is not StagedState.PROCESSED else MailOutcome(
                after.outcome or "", after.ticket_id, None, after.article_id)
            if after.state is StagedState.STAGED:  # one attempt only: back to quarantine
                again = after.quarantine(after.reason or "failed again", at=self.clock.now())
                if self._save_unless_changed(again, after, report):
                    after = again
            results.append((after, outcome))
        return results
