"""Mail repositories on SQLAlchemy Core: staged mails, the Message-ID index, the senders
recognised as automatic, the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from helpdesk_core.domain.article import AttachmentMeta, Direction
from helpdesk_core.domain.mailbox import AutomaticSender, MessageRecord, StagedMail, StagedState
from helpdesk_core.domain.outbox import OutboxClaim, OutboxMessage, OutboxState
from helpdesk_core.domain.values import Channel, new_id
from helpdesk_core.errors import ConcurrencyError, NotFound, StorageError
from helpdesk_sqlalchemy import driver, statements
from helpdesk_sqlalchemy.engine import UnitRepository, guarded, storage_error
from helpdesk_sqlalchemy.tables import mail_automatic_senders, mail_messages, mail_staging, outbox

__all__ = [
    "SqlAlchemyAutomaticSenders",
    "SqlAlchemyMailStaging",
    "SqlAlchemyMessageIndex",
    "SqlAlchemyOutbox",
]


def _insert_once(conn: Connection, table: Any, row: dict[str, Any], conflict: str) -> None:
    """Insert; a key conflict is a StorageError after which the caller rolls back (no
    savepoint: the port says the transaction must not go on)."""
    try:
        driver.execute(conn, statements.MAIL_INSERTS[table.name], row)
    except sa_exc.IntegrityError as exc:
        raise StorageError(conflict) from exc
    except sa_exc.SQLAlchemyError as exc:
        raise storage_error(exc, f"inserting into {table.name}") from exc


# These run through SQLAlchemy Core (see the rule in statements.py), built once all the same.
_GET_STAGED = select(mail_staging).where(mail_staging.c.account == bindparam("account"),
                                         mail_staging.c.key == bindparam("key"))
_OUTBOX_BY_ID = select(outbox).where(outbox.c.id == bindparam("id"))
_UPDATE_OUTBOX = update(outbox).where(outbox.c.id == bindparam("b_id"))
_CLAIM = update(mail_staging).where(
    mail_staging.c.account == bindparam("b_account"),
    mail_staging.c.key == bindparam("b_key"),
    mail_staging.c.state == StagedState.STAGED.value,
    mail_staging.c.attempts == bindparam("b_attempts"),
).values(attempts=mail_staging.c.attempts)


def _compare_and_set(*, owner: bool, valid: bool) -> Any:
    """The outbox update that applies only while the claim holds (see OutboxClaim)."""
    stmt = _UPDATE_OUTBOX.where(outbox.c.state == bindparam("b_state"))
    stmt = stmt.where(outbox.c.lease_owner == bindparam("b_owner") if owner
                      else outbox.c.lease_owner.is_(None))
    if valid:
        stmt = stmt.where(outbox.c.leased_until > bindparam("b_valid_at"))
    return stmt


# By (an owner is expected, a lease must still run): four shapes, each built once.
_CAS_OUTBOX = {(owner, valid): _compare_and_set(owner=owner, valid=valid)
               for owner in (False, True) for valid in (False, True)}
# Articles split off into another ticket: their records follow them. Rare, so through Core.
_MOVE_MESSAGES = (update(mail_messages)
                  .where(mail_messages.c.article_id.in_(bindparam("ids", expanding=True)))
                  .values(ticket_id=bindparam("b_ticket_id")))
_STAGED_MANY = select(mail_staging).where(
    mail_staging.c.account == bindparam("account"),
    mail_staging.c.key.in_(bindparam("keys", expanding=True)))


class SqlAlchemyMessageIndex(UnitRepository):
    def add(self, record: MessageRecord) -> None:
        row = {"message_id": record.message_id, "fingerprint": record.fingerprint or "",
               "ticket_id": record.ticket_id, "article_id": record.article_id,
               "direction": record.direction.value, "at": record.at}
        _insert_once(self._conn(), mail_messages, row,
                     f"message {record.message_id} is already stored")

    @guarded
    def find(self, message_ids: Sequence[str]) -> list[MessageRecord]:
        if not message_ids:
            return []
        conn = self._conn()
        rows = driver.fetch(conn, statements.FIND_MESSAGES, {"ids": list(message_ids)},
                            shape=len(message_ids))
        read_at = driver.reader(conn, mail_messages.c.at)
        return [MessageRecord(message_id=message_id, ticket_id=ticket_id,
                              direction=Direction(direction), at=read_at(at),
                              article_id=article_id, fingerprint=fingerprint or None)
                for message_id, fingerprint, ticket_id, article_id, direction, at in rows]

    @guarded
    def move(self, article_ids: Sequence[str], ticket_id: str) -> None:
        ids = sorted(set(article_ids))
        conn = self._conn()
        for start in range(0, len(ids), 500):  # bounded IN lists
            conn.execute(_MOVE_MESSAGES, {"ids": ids[start:start + 500],
                                          "b_ticket_id": ticket_id})


def _staged_row(mail: StagedMail) -> dict[str, Any]:
    return {"account": mail.account, "key": mail.key, "size": mail.size,
            "staged_at": mail.staged_at, "updated_at": mail.updated_at,
            "blob_key": mail.blob_key, "content_hash": mail.content_hash,
            "state": mail.state.value, "attempts": mail.attempts, "reason": mail.reason,
            "outcome": mail.outcome, "ticket_id": mail.ticket_id,
            "article_id": mail.article_id, "acknowledged": mail.acknowledged,
            "ack_attempts": mail.ack_attempts, "ack_error": mail.ack_error,
            "ack_next_at": mail.ack_next_at}


def _staged(row: RowMapping) -> StagedMail:
    return StagedMail(account=row["account"], key=row["key"], size=row["size"],
                      staged_at=row["staged_at"], updated_at=row["updated_at"],
                      blob_key=row["blob_key"], content_hash=row["content_hash"],
                      state=StagedState(row["state"]), attempts=row["attempts"],
                      reason=row["reason"], outcome=row["outcome"], ticket_id=row["ticket_id"],
                      article_id=row["article_id"], acknowledged=bool(row["acknowledged"]),
                      ack_attempts=row["ack_attempts"], ack_error=row["ack_error"],
                      ack_next_at=row["ack_next_at"])


class SqlAlchemyMailStaging(UnitRepository):
    @guarded
    def get(self, account: str, key: str) -> StagedMail | None:
        row = self._conn().execute(_GET_STAGED, {"account": account, "key": key}
                                   ).mappings().first()
        return None if row is None else _staged(row)

    @guarded
    def get_many(self, account: str, keys: Sequence[str]) -> dict[str, StagedMail]:
        found: dict[str, StagedMail] = {}
        conn = self._conn()
        for start in range(0, len(keys), 500):  # bounded IN lists
            rows = conn.execute(_STAGED_MANY, {"account": account,
                                               "keys": list(keys[start:start + 500])})
            found.update((r["key"], _staged(r)) for r in rows.mappings())
        return found

    def add(self, mail: StagedMail) -> None:
        _insert_once(self._conn(), mail_staging, _staged_row(mail),
                     f"mail {mail.account}/{mail.key} is already staged")

    @guarded
    def update(self, mail: StagedMail, *, expected: StagedState | None = None,
               expected_attempts: int | None = None) -> None:
        row = _staged_row(mail)
        stmt = update(mail_staging).where(mail_staging.c.account == mail.account,
                                          mail_staging.c.key == mail.key)
        checked = expected is not None or expected_attempts is not None
        if expected is not None:
            # Compare-and-set: a second fetcher's update waits for the first one's row lock
            # and then finds the state changed.
            stmt = stmt.where(mail_staging.c.state == expected.value)
        if expected_attempts is not None:
            stmt = stmt.where(mail_staging.c.attempts == expected_attempts)
        result = self._conn().execute(stmt.values(**row))
        if result.rowcount != 1:
            if checked and self.get(mail.account, mail.key) is not None:
                raise ConcurrencyError(f"mail {mail.account}/{mail.key} was handled already")
            raise StorageError(f"mail {mail.account}/{mail.key} is not staged")

    @guarded
    def claim(self, mail: StagedMail) -> None:
        # Rewrites nothing, but takes the row's lock for the rest of the transaction: a second
        # claim waits for this transaction and then finds the row changed (PostgreSQL
        # re-reads a row it waited for; on SQLite the write unit holds the database's lock).
        result = self._conn().execute(_CLAIM, {"b_account": mail.account, "b_key": mail.key,
                                               "b_attempts": mail.attempts})
        if result.rowcount != 1:
            if self.get(mail.account, mail.key) is not None:
                raise ConcurrencyError(f"mail {mail.account}/{mail.key} was handled already")
            raise StorageError(f"mail {mail.account}/{mail.key} is not staged")

    @guarded
    def list(self, *, account: str | None = None, state: StagedState | None = None,
             limit: int = 100, ack_failing: bool = False) -> list[StagedMail]:
        stmt = select(mail_staging)
        if account is not None:
            stmt = stmt.where(mail_staging.c.account == account)
        if state is not None:
            stmt = stmt.where(mail_staging.c.state == state.value)
        if ack_failing:
            stmt = stmt.where(mail_staging.c.ack_next_at.is_not(None))
        stmt = stmt.order_by(mail_staging.c.staged_at, mail_staging.c.account,
                             mail_staging.c.key).limit(limit)
        return [_staged(r) for r in self._conn().execute(stmt).mappings()]


_AUTOMATIC_SENDER = select(mail_automatic_senders).where(
    mail_automatic_senders.c.address == bindparam("address"))


class SqlAlchemyAutomaticSenders(UnitRepository):
    @guarded
    def get(self, address: str) -> AutomaticSender | None:
        row = self._conn().execute(_AUTOMATIC_SENDER, {"address": address}).mappings().first()
        if row is None:
            return None
        return AutomaticSender(address=row["address"], seen_at=row["seen_at"],
                               reason=row["reason"], ticket_id=row["ticket_id"],
                               ticket_at=row["ticket_at"])

    @guarded
    def put(self, sender: AutomaticSender) -> None:
        conn = self._conn()
        row = {"address": sender.address, "seen_at": sender.seen_at, "reason": sender.reason,
               "ticket_id": sender.ticket_id, "ticket_at": sender.ticket_at}
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(
            mail_automatic_senders).values(**row)
        # one statement, so two units putting one address never conflict: the later wins
        conn.execute(insert.on_conflict_do_update(
            index_elements=["address"],
            set_={c: insert.excluded[c] for c in row if c != "address"}))


def _outbox_row(message: OutboxMessage) -> dict[str, Any]:
    return {"id": message.id, "ticket_id": message.ticket_id, "kind": message.kind,
            "channel": message.channel.value, "sender": message.sender,
            "recipients": list(message.recipients), "subject": message.subject,
            "body_text": message.body_text, "body_html": message.body_html,
            "headers": dict(message.headers), "message_id": message.message_id,
            "article_id": message.article_id, "created_at": message.created_at,
            "state": message.state.value, "attempts": message.attempts,
            "last_error": message.last_error,
            "first_recipient": message.recipients[0] if message.recipients else "",
            "attachments": [a.to_dict() for a in message.attachments],
            "next_attempt_at": message.next_attempt_at, "leased_until": message.leased_until,
            "sent_at": message.sent_at, "results": dict(message.results),
            "provider_id": message.provider_id, "cc": list(message.cc),
            "reply_to": message.reply_to, "sender_name": message.sender_name,
            "lease_owner": message.lease_owner}


def _outbox_message(row: RowMapping) -> OutboxMessage:
    return OutboxMessage(id=row["id"], ticket_id=row["ticket_id"], kind=row["kind"],
                         channel=Channel(row["channel"]), sender=row["sender"],
                         recipients=tuple(row["recipients"]), subject=row["subject"],
                         body_text=row["body_text"], created_at=row["created_at"],
                         message_id=row["message_id"], article_id=row["article_id"],
                         body_html=row["body_html"], headers=dict(row["headers"]),
                         state=OutboxState(row["state"]), attempts=row["attempts"],
                         last_error=row["last_error"],
                         attachments=tuple(AttachmentMeta.from_dict(a)
                                           for a in row["attachments"]),
                         next_attempt_at=row["next_attempt_at"],
                         leased_until=row["leased_until"], sent_at=row["sent_at"],
                         results=dict(row["results"]), provider_id=row["provider_id"],
                         cc=tuple(row["cc"]), reply_to=row["reply_to"],
                         sender_name=row["sender_name"], lease_owner=row["lease_owner"])


class SqlAlchemyOutbox(UnitRepository):
    @guarded
    def add(self, message: OutboxMessage) -> None:
        driver.execute(self._conn(), statements.MAIL_INSERTS["outbox"], _outbox_row(message))

    @guarded
    def get(self, message_id: str) -> OutboxMessage:
        row = self._conn().execute(_OUTBOX_BY_ID, {"id": message_id}).mappings().first()
        if row is None:
            raise NotFound(f"no outbox message {message_id!r}")
        return _outbox_message(row)

    @guarded
    def update(self, message: OutboxMessage, *, expect: OutboxClaim | None = None) -> None:
        row = _outbox_row(message)
        del row["id"]
        params = {**row, "b_id": message.id}
        if expect is None:
            stmt = _UPDATE_OUTBOX
        else:
            # Compare-and-set in the one statement: on PostgreSQL an update racing another
            # waits for its row lock, then finds the row changed and applies to nothing.
            stmt = _CAS_OUTBOX[expect.owner is not None, expect.valid_at is not None]
            params["b_state"] = expect.state.value
            if expect.owner is not None:
                params["b_owner"] = expect.owner
            if expect.valid_at is not None:
                params["b_valid_at"] = expect.valid_at
        result = self._conn().execute(stmt, params)
        if result.rowcount == 1:
            return
        if expect is not None and self._conn().execute(
                _OUTBOX_BY_ID, {"id": message.id}).first() is not None:
            raise ConcurrencyError(f"outbox message {message.id} is no longer "
                                   f"{expect.state.value} under that claim")
        raise NotFound(f"no outbox message {message.id!r}")

    @guarded
    def claim(self, *, now: datetime, lease: timedelta, limit: int,
              channel: Channel | None = None, owner: str | None = None) -> list[OutboxMessage]:
        conn = self._conn()
        due = and_(outbox.c.state == OutboxState.PENDING.value,
                   or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now),
                   or_(outbox.c.leased_until.is_(None), outbox.c.leased_until <= now))
        if channel is not None:
            due = and_(due, outbox.c.channel == channel.value)
        stmt = select(outbox).where(due).order_by(outbox.c.created_at, outbox.c.id).limit(limit)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        # SQLite has no row locks: the unit's BEGIN IMMEDIATE serialises claiming writers.
        claimed = [_outbox_message(r) for r in conn.execute(stmt).mappings()]
        until = now + lease
        token = new_id() if owner is None else owner
        if claimed:
            conn.execute(update(outbox).where(outbox.c.id.in_([m.id for m in claimed]))
                         .values(leased_until=until, lease_owner=token))
        return [m.leased(owner=token, until=until) for m in claimed]

    @guarded
    def find(self, *, state: OutboxState | None = None, provider_id: str | None = None,
             limit: int = 100) -> list[OutboxMessage]:
        stmt = select(outbox)
        if state is not None:
            stmt = stmt.where(outbox.c.state == state.value)
        if provider_id is not None:
            stmt = stmt.where(outbox.c.provider_id == provider_id)
        stmt = stmt.order_by(outbox.c.created_at, outbox.c.id).limit(limit)
        return [_outbox_message(r) for r in self._conn().execute(stmt).mappings()]

    @guarded
    def for_ticket(self, ticket_id: str) -> list[OutboxMessage]:
        rows = self._conn().execute(
            select(outbox).where(outbox.c.ticket_id == ticket_id)
            .order_by(outbox.c.created_at, outbox.c.id)
        ).mappings()
        return [_outbox_message(r) for r in rows]

    @guarded
    def count_since(self, *, recipient: str, kind: str, since: datetime) -> int:
        # Only the first recipient is indexed; acknowledgements have exactly one.
        [(count,)] = driver.fetch(self._conn(), statements.COUNT_SENT,
                                  {"recipient": recipient, "kind": kind, "since": since})
        return int(count)
