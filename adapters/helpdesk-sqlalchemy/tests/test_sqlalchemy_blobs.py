"""The blob store beyond the contract: content addressing under concurrency, sizes, types."""

from __future__ import annotations

import hashlib
import threading

import pytest
from sqlalchemy import select

from helpdesk_core.errors import ValidationError
from helpdesk_sqlalchemy import SqlAlchemyBlobStore, SqlAlchemyStorage
from helpdesk_sqlalchemy.tables import blobs


def test_the_key_is_the_sha256_and_size_is_recorded(
    blob_store: SqlAlchemyBlobStore, storage: SqlAlchemyStorage
) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB, every byte value
    key = blob_store.put(data)
    assert key == hashlib.sha256(data).hexdigest()
    assert blob_store.get(key) == data
    with storage.engine.connect() as conn:
        assert conn.execute(select(blobs.c.size).where(blobs.c.key == key)).scalar() == len(data)


def test_bytes_like_values_are_accepted(blob_store: SqlAlchemyBlobStore) -> None:
    key = blob_store.put(b"abc")
    assert blob_store.put(bytearray(b"abc")) == key
    assert blob_store.put(memoryview(b"abc")) == key
    assert isinstance(blob_store.get(key), bytes)
    with pytest.raises(ValidationError):
        blob_store.put("abc")  # type: ignore[arg-type]


def test_concurrent_puts_of_the_same_bytes_store_one_row(
    blob_store: SqlAlchemyBlobStore, storage: SqlAlchemyStorage
) -> None:
    data = b"same attachment" * 1000
    keys: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def put() -> None:
        try:
            start.wait(10)
            keys.append(blob_store.put(data))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=put) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert set(keys) == {hashlib.sha256(data).hexdigest()}
    with storage.engine.connect() as conn:
        assert len(conn.execute(select(blobs.c.key)).all()) == 1


def test_a_blob_store_can_migrate_its_own_database(sqlite_url: str) -> None:
    store = SqlAlchemyBlobStore.from_url(sqlite_url)
    store.migrate()
    assert store.get(store.put(b"x")) == b"x"
    store.close()
