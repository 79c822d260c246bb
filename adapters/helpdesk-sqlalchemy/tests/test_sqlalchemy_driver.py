"""Statements compiled once and run on the DB-API cursor give what SQLAlchemy gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, exc, insert, select

from helpdesk_core.testing.builders import open_ticket, store_tickets
from helpdesk_sqlalchemy import SqlAlchemyStorage, driver
from helpdesk_sqlalchemy.tables import mail_messages

_INSERT = insert(mail_messages)
_BY_IDS = (select(mail_messages.c.message_id, mail_messages.c.at)
           .where(mail_messages.c.message_id.in_(bindparam("ids", expanding=True)))
           .order_by(mail_messages.c.message_id))
_LIMITED = select(mail_messages.c.message_id).order_by(mail_messages.c.message_id).limit(2)

T0 = datetime(2026, 3, 29, 0, 30, 15, 123456, tzinfo=UTC)


def _row(n: int, ticket_id: str = "t-1") -> dict[str, object]:
    return {"message_id": f"<m{n}@example.cz>", "fingerprint": f"f{n}", "ticket_id": ticket_id,
            "article_id": None, "direction": "inbound", "at": T0 + timedelta(hours=n)}


@pytest.fixture
def storage(storage: SqlAlchemyStorage) -> SqlAlchemyStorage:
    """The storage with ticket t-1, which the message rows refer to."""
    ticket = open_ticket()
    ticket.id = "t-1"
    ticket.collect()
    store_tickets(storage, [ticket])
    return storage


def test_rows_written_and_read_on_the_driver_match_sqlalchemys(
        storage: SqlAlchemyStorage) -> None:
    with storage.unit_of_work() as uow:
        conn = uow.connection()
        assert driver.execute(conn, _INSERT, [_row(n) for n in range(5)]) in (5, -1)
        # Lists of different lengths are different shapes of the same statement.
        for ids in ([0], [1, 3], [4, 2, 0]):
            wanted = [f"<m{n}@example.cz>" for n in ids]
            got = driver.mappings(conn, _BY_IDS, {"ids": wanted}, shape=len(wanted))
            through_sqlalchemy = [dict(r) for r in conn.execute(
                _BY_IDS, {"ids": wanted}).mappings()]
            assert got == through_sqlalchemy
            assert [r["at"] for r in got] == sorted(T0 + timedelta(hours=n) for n in ids)
            assert all(r["at"].tzinfo is UTC for r in got)
        # A LIMIT fixed when the statement was built keeps its value.
        assert driver.fetch(conn, _LIMITED, {}) == [("<m0@example.cz>",), ("<m1@example.cz>",)]


def test_a_duplicate_on_the_driver_is_sqlalchemys_integrity_error(
        storage: SqlAlchemyStorage) -> None:
    with storage.unit_of_work() as uow:
        conn = uow.connection()
        driver.execute(conn, _INSERT, _row(1))
        with pytest.raises(exc.IntegrityError):
            driver.execute(conn, _INSERT, _row(1))


def test_a_value_the_type_refuses_is_a_statement_error(storage: SqlAlchemyStorage) -> None:
    with storage.unit_of_work() as uow:
        conn = uow.connection()
        with pytest.raises(exc.StatementError, match="timezone"):
            driver.execute(conn, _INSERT, {**_row(1), "at": datetime(2026, 3, 29)})


def test_each_statement_is_compiled_once_per_connection(storage: SqlAlchemyStorage) -> None:
    with storage.unit_of_work() as uow:
        conn = uow.connection()
        first = driver.compiled(conn, _LIMITED, {})
        assert driver.compiled(conn, _LIMITED, {}) is first
        assert driver.compiled(conn, _INSERT, _row(1)) is driver.compiled(conn, _INSERT, _row(2))


def test_a_list_of_another_length_than_its_shape_is_refused(storage: SqlAlchemyStorage) -> None:
    with storage.unit_of_work() as uow:
        conn = uow.connection()
        driver.execute(conn, _INSERT, [_row(n) for n in range(3)])
        ids = [f"<m{n}@example.cz>" for n in range(3)]
        assert len(driver.fetch(conn, _BY_IDS, {"ids": ids[:2]}, shape=2)) == 2
        with pytest.raises(exc.StatementError, match="compiled for 2"):
            driver.fetch(conn, _BY_IDS, {"ids": ids}, shape=2)
