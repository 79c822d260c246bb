"""What a backend may not offer, declared by its adapter and checked by the contract suites.

Every flag defaults to ``True``: a backend offers everything unless its adapter declares
otherwise. A flag does not switch tests off. A contract test that concerns an optional
feature branches on it — ``if storage_capabilities.offers("<flag>"): … else: …`` — and checks
the feature where the backend offers it, and the behaviour the adapter declares instead where
it lacks it (each flag's description below says what that is).

**The contract suites never skip.** Not for a missing capability, a missing server, a driver
that is not installed or a check that "does not apply": every contract test runs and must
pass. (What happens when an adapter's database server is unreachable is the adapter's
fixture's business; ours skip locally and fail under ``CI``.)

Which of the project's backends lacks what:

======================= ========= ====== ==========
flag                    in-memory SQLite PostgreSQL
======================= ========= ====== ==========
``durable``             offers    offers offers
``transactional_blobs`` offers    offers offers
``concurrent_writers``  offers    lacks  offers
``skip_locked_claims``  offers    lacks  offers
======================= ========= ====== ==========
"""

from __future__ import annotations

import attrs

__all__ = ["Capabilities"]


def _flag(doc: str) -> bool:
    return attrs.field(default=True, metadata={"doc": " ".join(doc.split())})


@attrs.frozen(kw_only=True)
class Capabilities:
    """The optional features of one backend: an adapter gives one value per backend it tests.

    - ``durable``: what one instance commits, another instance opened on the same database
      (``Backend.reopen``) sees, as after a restart or in another process, and both may
      write at once with sequence values unique across them. *Lacking it:* the store lives
      and dies with its instance; a new instance is a new, empty store that shares nothing.
    - ``transactional_blobs``: ``BlobStore.put(data, unit=uow)`` writes in the unit's
      transaction, so the bytes exist exactly when the unit commits and a rolled-back unit
      leaves none behind. *Lacking it:* the put is written at once, whatever the unit then
      does (content addressing makes an unused blob harmless).
    - ``concurrent_writers``: a unit of work holding uncommitted writes does not hold up
      another unit that writes other rows. *Lacking it:* the second writer waits while the
      first unit is open; when that unit ends, the second either succeeds or fails with
      :class:`~helpdesk_core.errors.StorageError` after the backend's busy timeout, writing
      nothing then — no write is lost or half applied. SQLite lets one writer in at a time.
    - ``skip_locked_claims``: ``OutboxRepository.claim`` passes over the messages another open
      unit has claimed and returns the next ones at once instead of waiting for that unit to
      end (PostgreSQL's ``FOR UPDATE SKIP LOCKED``). *Lacking it:* the second claim waits
      until the first unit ends, then gets only the messages that unit did not claim. On
      SQLite a second dispatcher waits.

    The contract's tests watch a waiting unit for half a second
    (:data:`~helpdesk_core.testing.contracts.support.WAIT`), so a backend lacking one of the
    last two should wait longer than that before it gives up.
    """

    durable: bool = _flag(
        "another instance opened on the same database sees what one instance committed, "
        "and both may write at once")
    transactional_blobs: bool = _flag(
        "BlobStore.put(data, unit=uow) writes in the unit's transaction, so a rolled-back "
        "unit leaves no bytes behind")
    concurrent_writers: bool = _flag(
        "a unit of work holding uncommitted writes does not hold up another unit that "
        "writes other rows")
    skip_locked_claims: bool = _flag(
        "an outbox claim passes over the messages another open unit has claimed instead "
        "of waiting for it")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every flag, in declaration order."""
        return tuple(field.name for field in attrs.fields(cls))

    @classmethod
    def describe(cls, name: str) -> str:
        """What the flag promises, in one sentence."""
        field = getattr(attrs.fields(cls), name, None)
        if field is None:
            raise ValueError(f"no capability {name!r}; known: {', '.join(cls.names())}")
        return str(field.metadata["doc"])

    def lacking(self) -> tuple[str, ...]:
        """The flags this backend declares it lacks."""
        return tuple(name for name in self.names() if not getattr(self, name))

    def offers(self, name: str) -> bool:
        """Whether the backend offers ``name``: a contract test branches on it, and checks
        the feature on one side and the declared behaviour without it on the other.

        An unknown name is a mistake in the test, not a missing capability: it raises
        ValueError.
        """
        self.describe(name)
        return bool(getattr(self, name))
