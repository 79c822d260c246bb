"""Finding and rewriting a contact's personal data (``ErasureStore``) on SQLAlchemy Core.

Rare and administrative: every statement runs through SQLAlchemy Core, none on the cursor
fast path. Rewrites update content columns only, by primary key.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, bindparam, delete, select, update

from helpdesk_core.domain.article import Article, Direction
from helpdesk_core.domain.history import EventKind, TicketEvent
from helpdesk_core.domain.mailbox import MessageRecord, StagedMail
from helpdesk_core.errors import NotFound
from helpdesk_sqlalchemy.engine import UnitRepository, guarded
from helpdesk_sqlalchemy.mailstore import _staged
from helpdesk_sqlalchemy.tables import (
    articles,
    blobs,
    mail_automatic_senders,
    mail_messages,
    mail_staging,
    ticket_events,
)

__all__ = ["SqlAlchemyErasureStore"]

_CHUNK = 500  # bounded IN lists
_ADDRESS_KINDS = [EventKind.PARTICIPANT_ADDED.value, EventKind.CC_RECORDED.value]
_REWRITE_ARTICLE = (
    update(articles).where(articles.c.id == bindparam("b_id"))
    .values(author=bindparam("author"), body_text=bindparam("body_text"),
            subject=bindparam("subject"), attachments=bindparam("attachments"),
            meta=bindparam("meta"))
)
_REWRITE_EVENT = (
    update(ticket_events)
    .where(and_(ticket_events.c.ticket_id == bindparam("b_ticket_id"),
                ticket_events.c.seq == bindparam("b_seq")))
    .values(actor=bindparam("actor"), old=bindparam("old"), new=bindparam("new"),
            data=bindparam("data"))
)


def _chunks(values: Sequence[str]) -> list[list[str]]:
    ordered = sorted(set(values))
    return [ordered[i:i + _CHUNK] for i in range(0, len(ordered), _CHUNK)]


class SqlAlchemyErasureStore(UnitRepository):
    @guarded
    def tickets_with_address(self, addresses: Sequence[str]) -> list[str]:
        """The events that record an address are few next to all events; their ``new``
        (a JSON string) is compared in Python, the same on every dialect."""
        wanted = set(addresses)
        if not wanted:
            return []
        rows = self._conn().execute(
            select(ticket_events.c.ticket_id, ticket_events.c.new)
            .where(ticket_events.c.kind.in_(_ADDRESS_KINDS)))
        return sorted({ticket_id for ticket_id, new in rows if new in wanted})

    @guarded
    def message_records(self, ticket_ids: Sequence[str]) -> list[MessageRecord]:
        found: list[MessageRecord] = []
        for chunk in _chunks(ticket_ids):
            rows = self._conn().execute(
                select(mail_messages).where(mail_messages.c.ticket_id.in_(chunk))).mappings()
            found += [MessageRecord(message_id=r["message_id"], ticket_id=r["ticket_id"],
                                    direction=Direction(r["direction"]), at=r["at"],
                                    article_id=r["article_id"],
                                    fingerprint=r["fingerprint"] or None) for r in rows]
        return sorted(found, key=lambda r: (r.at, r.message_id))

    @guarded
    def staged_for_tickets(self, ticket_ids: Sequence[str]) -> list[StagedMail]:
        found: list[StagedMail] = []
        for chunk in _chunks(ticket_ids):
            rows = self._conn().execute(
                select(mail_staging).where(mail_staging.c.ticket_id.in_(chunk))).mappings()
            found += [_staged(r) for r in rows]
        return sorted(found, key=lambda m: (m.staged_at, m.key))

    @guarded
    def rewrite_articles(self, articles_: Sequence[Article]) -> None:
        conn = self._conn()
        for article in articles_:
            result = conn.execute(_REWRITE_ARTICLE, {
                "b_id": article.id, "author": article.author.to_dict(),
                "body_text": article.body_text, "subject": article.subject,
                "attachments": [a.to_dict() for a in article.attachments],
                "meta": dict(article.meta)})
            if result.rowcount != 1:
                raise NotFound(f"no article {article.id!r}")

    @guarded
    def rewrite_events(self, events: Sequence[TicketEvent]) -> None:
        conn = self._conn()
        for event in events:
            result = conn.execute(_REWRITE_EVENT, {
                "b_ticket_id": event.ticket_id, "b_seq": event.seq,
                "actor": event.actor.to_dict(), "old": event.old, "new": event.new,
                "data": dict(event.data)})
            if result.rowcount != 1:
                raise NotFound(f"no event {event.seq} of ticket {event.ticket_id!r}")

    @guarded
    def forget_automatic_sender(self, address: str) -> bool:
        result = self._conn().execute(
            delete(mail_automatic_senders).where(mail_automatic_senders.c.address == address))
        return result.rowcount > 0

    @guarded
    def delete_blobs(self, keys: Sequence[str]) -> int:
        deleted = 0
        for chunk in _chunks(keys):
            deleted += self._conn().execute(
                delete(blobs).where(blobs.c.key.in_(chunk))).rowcount
        return deleted
