"""The entry point registers the "sqlalchemy" storage and blob store (hook helpdesk_register)."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

from helpdesk_core.plugins import Hooks, make_plugin_manager
from helpdesk_core.ports.blobs import BlobStore
from helpdesk_core.ports.storage import Storage, UnitOfWork
from helpdesk_core.settings import Settings
from helpdesk_core.testing.builders import open_ticket, store_tickets
from helpdesk_sqlalchemy import SqlAlchemyBlobStore, SqlAlchemyStorage, create_engine_for, plugin
from sa_support import sqlite_url_for


def test_the_entry_point_names_the_plugin_module() -> None:
    found = [ep for ep in entry_points(group="helpdesk_core") if ep.name == "sqlalchemy"]
    assert [ep.value for ep in found] == ["helpdesk_sqlalchemy.plugin"]


def test_helpdesk_register(tmp_path: Path) -> None:
    registry = Hooks(make_plugin_manager(autoload=True)).register()
    assert "sqlalchemy" in registry.storages
    assert "sqlalchemy" in registry.blob_stores
    settings = Settings(database_url=sqlite_url_for(tmp_path / "hd.sqlite3"),
                        options={"sqlite_busy_timeout_ms": 2000})
    storage = registry.storages.create("sqlalchemy", settings)
    blob_store = registry.blob_stores.create("sqlalchemy", settings)
    assert isinstance(storage, SqlAlchemyStorage)
    assert isinstance(blob_store, SqlAlchemyBlobStore)
    # Built from the same settings, they share one engine (one pool, one set of pragmas).
    assert blob_store.engine is storage.engine
    storage.migrate()
    (ticket,) = store_tickets(storage, [open_ticket()])
    key = blob_store.put(b"attachment")
    assert blob_store.get(key) == b"attachment"
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.tickets.get(ticket.id).number == ticket.number
    storage.close()


def test_blocked_plugin_is_not_registered() -> None:
    registry = Hooks(make_plugin_manager(autoload=True, blocked=["sqlalchemy"])).register()
    assert "sqlalchemy" not in registry.storages


def test_engines_are_cached_per_registration_not_globally(tmp_path: Path) -> None:
    first = plugin.EngineCache()
    second = plugin.EngineCache()
    a = Settings(database_url=sqlite_url_for(tmp_path / "a.sqlite3"))
    b = Settings(database_url=sqlite_url_for(tmp_path / "b.sqlite3"))
    slow = Settings(database_url=a.database_url, options={"sqlite_busy_timeout_ms": 1})
    assert first.for_settings(a) is first.for_settings(a)
    assert first.for_settings(a) is not first.for_settings(b)
    assert first.for_settings(a) is not first.for_settings(slow)
    assert first.for_settings(a) is not second.for_settings(a)
    for cache in (first, second):
        for settings in (a, b, slow):
            cache.for_settings(settings).dispose()


def test_importing_the_plugin_builds_no_engine() -> None:
    assert not any(
        type(value).__name__ == "Engine" for value in vars(plugin).values()
    )


def test_the_adapters_satisfy_the_ports() -> None:
    """Checked by mypy (tests are type-checked): the adapters are the ports' types."""
    engine = create_engine_for("sqlite://")
    storage: Storage = SqlAlchemyStorage(engine)
    uow: UnitOfWork = storage.unit_of_work()
    blob_store: BlobStore = SqlAlchemyBlobStore(engine)
    assert uow is not None
    assert blob_store is not None
    storage.close()


def test_an_in_memory_sqlite_database_works_for_one_thread() -> None:
    storage = SqlAlchemyStorage.from_settings(Settings(database_url="sqlite://"))
    storage.migrate()
    (ticket,) = store_tickets(storage, [open_ticket()])
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.tickets.get(ticket.id).snapshot() == ticket.snapshot()
    storage.close()
