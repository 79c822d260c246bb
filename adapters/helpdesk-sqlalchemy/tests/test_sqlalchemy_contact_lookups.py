"""Contacts are found by phone, e-mail and id through indexes, on SQLite and PostgreSQL: the
plan of every statement a lookup sends reads no table from end to end. Plans are taken of
exactly what the repository sends (through SQLAlchemy or straight to the driver), so a lookup
that scanned — in SQL or by reading every row into Python — would fail here, however fast the
machine."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import event

from helpdesk_core.domain import Contact
from helpdesk_sqlalchemy import SqlAlchemyStorage
from sa_support import driver_statements

CONTACTS = 300
JANA_PHONE, JANA_EMAIL = "+420601234567", "jana@example.cz"


@contextlib.contextmanager
def _sent(storage: SqlAlchemyStorage) -> Iterator[list[tuple[str, Any]]]:
    """Every SELECT (text, parameters) sent meanwhile, by either path."""
    seen: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        seen.append((statement, parameters))

    event.listen(storage.engine, "before_cursor_execute", before)
    try:
        with driver_statements() as direct:
            yield seen
        seen += direct
    finally:
        event.remove(storage.engine, "before_cursor_execute", before)
    seen[:] = [(sql, p) for sql, p in seen if sql.lstrip().upper().startswith("SELECT")]


def _scans(storage: SqlAlchemyStorage, statement: str, parameters: Any) -> list[str]:
    """The tables the statement's plan reads from end to end."""
    with storage.engine.connect() as conn:
        if storage.engine.dialect.name == "sqlite":
            details = [str(row[-1]) for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters)]
            return [d for d in details if d.startswith("SCAN ")]
        # With sequential scans priced out, the planner uses any index that serves the
        # query. What is left reading a whole table is a Seq Scan, or an index scan with no
        # condition (every entry of an index, in its order).
        conn.exec_driver_sql("SET enable_seqscan = off")
        raw = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement,
                                   parameters).scalar_one()
        plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
        nodes, scans = [plan], []
        while nodes:
            node = nodes.pop()
            nodes += node.get("Plans", [])
            kind = node["Node Type"]
            if kind == "Seq Scan" or (kind.endswith("Index Scan") and "Index Cond" not in node):
                scans.append(f"{kind} {node.get('Relation Name') or node.get('Index Name')}")
        conn.rollback()
        return scans


def test_contact_lookups_read_no_table_from_end_to_end(storage: SqlAlchemyStorage) -> None:
    jana = Contact.create(name="Jana Nováková", email=JANA_EMAIL, phone=JANA_PHONE)
    with storage.unit_of_work() as uow:
        for n in range(CONTACTS):
            uow.contacts.add(Contact.create(name=f"Zákazník {n}", email=f"c{n}@example.cz",
                                            phone=f"+420602{n:06d}"))
        uow.contacts.add(jana)
        uow.commit()

    lookups: dict[str, Callable[[Any], object]] = {
        "find_by_phone": lambda contacts: contacts.find_by_phone(JANA_PHONE),
        "find_by_phone, a miss": lambda contacts: contacts.find_by_phone("+420777000111"),
        "find_by_email": lambda contacts: contacts.find_by_email(JANA_EMAIL),
        "find_by_email, a miss": lambda contacts: contacts.find_by_email("nobody@example.cz"),
        "id_by_email": lambda contacts: contacts.id_by_email(JANA_EMAIL),
        "get": lambda contacts: contacts.get(jana.id),
    }
    for name, lookup in lookups.items():
        with _sent(storage) as statements, storage.unit_of_work(read_only=True) as uow:
            found = lookup(uow.contacts)
        assert found in (jana, jana.id, None), name
        assert statements, name
        for statement, parameters in statements:
            assert _scans(storage, statement, parameters) == [], (name, statement)
