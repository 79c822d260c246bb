"""docs/how-to/wire-a-host-directory.md: the shop directory of option 2 finds a customer by
one indexed query, however many customers the shop has, and the page's own test runs.

The page's python blocks run as test_code_blocks.py runs them (in order, one namespace, an
empty working directory); then the shop gets thousands of customers and every lookup is
watched: each statement SQLite runs must search an index (its plan has no ``SCAN`` of a
table), and at most one customer row may be turned into a Contact. A lookup that read every
customer — in SQL or in Python — fails here without any timing.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from docblocks import blocks

from helpdesk_core import Contact

PAGE = "docs/how-to/wire-a-host-directory.md"
CUSTOMERS = 3_000


@pytest.fixture
def page(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("HELPDESK_STORAGE", "HELPDESK_DATABASE_URL", "HELPDESK_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for block in blocks(PAGE):
        if block.action == "run" and block.kind == "python":
            exec(compile(block.text, f"{PAGE}:{block.line}", "exec"), namespace)
    return namespace


def _watched(shop: sqlite3.Connection, directory: Any, lookup: Any) -> tuple[Any, list[str],
                                                                              int]:
    """What ``lookup()`` returned, the statements SQLite ran for it, and how many rows the
    directory turned into contacts."""
    statements: list[str] = []
    converted = 0
    original = directory._contact

    def counting(row: sqlite3.Row | None) -> Contact | None:
        nonlocal converted
        converted += row is not None
        contact: Contact | None = original(row)
        return contact

    directory._contact = counting
    shop.set_trace_callback(statements.append)
    try:
        found = lookup()
    finally:
        shop.set_trace_callback(None)
        directory._contact = original
    return found, statements, converted


def _scans(shop: sqlite3.Connection, statement: str) -> list[str]:
    plan = [str(row[-1]) for row in shop.execute("EXPLAIN QUERY PLAN " + statement)]
    return [step for step in plan if step.startswith("SCAN ")]


def test_the_shop_directory_finds_customers_by_index(page: dict[str, Any]) -> None:
    shop: sqlite3.Connection = page["shop"]
    directory = page["EshopDirectory"](shop)
    e164 = page["e164"]
    with shop:  # as the shop's own code saves customers: the number with its E.164 form
        shop.executemany(
            "INSERT INTO customers (name, email, phone, phone_e164) VALUES (?, ?, ?, ?)",
            [(f"Zákazník {n}", f"c{n}@example.cz", f"602 {n:06d}", e164(f"602 {n:06d}"))
             for n in range(CUSTOMERS)])

    lookups = {
        "customer_by_phone": lambda: directory.customer_by_phone("+420601234567"),
        "customer_by_phone, a miss": lambda: directory.customer_by_phone("+420777000111"),
        "customer_by_email": lambda: directory.customer_by_email("jana.novakova@example.cz"),
        "customer_by_email, a miss": lambda: directory.customer_by_email("nobody@example.cz"),
        "customer": lambda: directory.customer("1"),
        "create_customer, someone known": lambda: directory.create_customer(
            name="Jana", phone="+420 601 234 567"),
        "recent_orders": lambda: directory.recent_orders("1"),
        "order_by_number": lambda: directory.order_by_number("1001"),
    }
    for name, lookup in lookups.items():
        found, statements, converted = _watched(shop, directory, lookup)
        if name.endswith("a miss"):
            assert found is None, name
        elif name.startswith(("customer", "create")):
            assert found.name == "Jana Nováková", name
        assert statements, name
        for statement in statements:
            assert _scans(shop, statement) == [], (name, statement)
        assert converted <= 1, (name, converted)

    # A number a customer later adds through the shop's directory is found too.
    new = directory.create_customer(name="Nový", phone="777 000 111")
    assert directory.customer_by_phone("+420777000111") == new


def test_the_page_s_own_test_of_a_host_directory_passes(page: dict[str, Any]) -> None:
    page["test_a_foreign_order_is_refused"](page["shop"])
