"""What a backend may not offer, declared by its adapter and respected by the contract suites.

Every flag defaults to ``True``: a backend offers everything unless its adapter declares
otherwise. A contract test that needs a capability starts with
``storage_capabilities.require("<flag>")``, which skips that test — giving the flag's meaning
as the reason — when the backend declares it lacks the capability.

**That is the only skip the contract suites allow.** A contract test never skips because a
server is missing, a driver is not installed or a check "does not apply": either the adapter
declares a capability missing here, or the test runs and must pass. (What happens when an
adapter's database server is unreachable is the adapter's fixture's business; ours skip
locally and fail under ``CI``.)

Which of the project's backends lacks what:

======================= ========= ====== ==========
flag                    in-memory SQLite PostgreSQL
======================= ========= ====== ==========
``durable``             lacks     offers offers
``transactional_blobs`` lacks     offers offers
``concurrent_writers``  offers    lacks  offers
``skip_locked_claims``  offers    lacks  offers
======================= ========= ====== ==========
"""

from __future__ import annotations

import attrs
import pytest

__all__ = ["Capabilities"]


def _flag(doc: str) -> bool:
    return attrs.field(default=True, metadata={"doc": " ".join(doc.split())})


@attrs.frozen(kw_only=True)
class Capabilities:
    """The optional features of one backend: an adapter gives one value per backend it tests.

    - ``durable``: what one instance commits, another instance opened on the same database
      sees (after a restart, or in another process), and both may write at once with sequence
      values unique across them. The in-memory store lives and dies with its instance.
    - ``transactional_blobs``: ``BlobStore.put(data, unit=uow)`` writes in the unit's
      transaction, so a rolled-back unit leaves no bytes behind. The in-memory blob store
      writes at once (content addressing makes an unused blob harmless).
    - ``concurrent_writers``: a unit of work holding uncommitted writes does not hold up
      another unit that writes other rows. SQLite lets one writer in at a time; the others
      wait for its commit, which is correct, only serial.
    - ``skip_locked_claims``: ``OutboxRepository.claim`` passes over the messages another open
      unit has claimed and returns the next ones at once instead of waiting for that unit to
      end (PostgreSQL's ``FOR UPDATE SKIP LOCKED``). On SQLite a second dispatcher waits.
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

    def require(self, name: str) -> None:
        """Skip the calling test when the backend declares it lacks ``name``.

        An unknown name is a mistake in the test, not a missing capability: it raises
        ValueError.
        """
        __tracebackhide__ = True  # report the skip at the test that needs the capability
        reason = self.describe(name)
        if not getattr(self, name):
            pytest.skip(f"the backend declares it lacks {name!r}: {reason}")
