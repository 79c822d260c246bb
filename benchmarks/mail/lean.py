"""The practical limit of mail ingestion: the standard library's parser and one INSERT per mail.

For every file of the corpus, in order: read it, ``email.message_from_bytes(data,
policy=email.policy.default)``, take From, Subject, Message-ID and the body text (the plain
part, else the HTML part as it is), insert one row into one table and commit. No threading,
no attachments stored, no HTML rendering: whatever a helpdesk does, it does at least this.

SQLite runs on a file with the pragmas the storage adapter sets on its connections
(``helpdesk_sqlalchemy.engine.sqlite_pragmas``, passed in by ``run.py``: WAL, ``synchronous =
NORMAL``, the checkpoint interval, busy timeout, foreign keys, ``analysis_limit``) and takes
the write lock with ``BEGIN IMMEDIATE`` as the adapter's write units do. PostgreSQL uses
psycopg 3 in the schema it is given; the parent creates and drops that schema.

Run in a child process by ``run.py`` so that its peak RSS is its own::

    python benchmarks/mail/lean.py CORPUS --sqlite FILE
    python benchmarks/mail/lean.py CORPUS --postgresql URL --schema NAME
    python benchmarks/mail/lean.py CORPUS --parse-only

``--parse-only`` measures the ceiling of any pipeline that parses with Python's ``email``
package: reading and parsing alone, no database, once with the standard library (as above)
and once with ``helpdesk_core.mail.parse_mail``.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import sqlite3
import sys
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from common import emit, peak_rss_kib, pg_dsn
from corpus import mail_names

SQLITE_TABLE = """CREATE TABLE IF NOT EXISTS lean_mail (
    id INTEGER PRIMARY KEY, message_id TEXT, sender TEXT, subject TEXT, body TEXT,
    received_at TEXT NOT NULL)"""
PG_TABLE = """CREATE TABLE IF NOT EXISTS lean_mail (
    id BIGSERIAL PRIMARY KEY, message_id TEXT, sender TEXT, subject TEXT, body TEXT,
    received_at TIMESTAMPTZ NOT NULL)"""


def extract(data: bytes) -> tuple[str, str, str, str]:
    """From, Subject, Message-ID and body text of one mail."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(preferencelist=("plain", "html"))
    body = ""
    if part is not None:
        try:
            body = part.get_content()
        except (LookupError, ValueError):  # unknown charset or undecodable payload
            body = ""
    return (str(msg.get("from", "")), str(msg.get("subject", "")),
            str(msg.get("message-id", "")), body)


def connect_sqlite(path: Path, pragmas: list[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    for pragma in pragmas:
        conn.execute(pragma)
    conn.execute(SQLITE_TABLE)
    return conn


def ingest_sqlite(corpus: Path, names: list[str], path: Path, pragmas: list[str]) -> float:
    conn = connect_sqlite(path, pragmas)
    sql = ("INSERT INTO lean_mail (message_id, sender, subject, body, received_at) "
           "VALUES (?, ?, ?, ?, ?)")
    try:
        started = time.perf_counter()
        for name in names:
            sender, subject, message_id, body = extract((corpus / name).read_bytes())
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(sql, (message_id, sender, subject, body,
                               datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")))
            conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()


def ingest_postgresql(corpus: Path, names: list[str], url: str, schema: str) -> float:
    import psycopg

    sql = ("INSERT INTO lean_mail (message_id, sender, subject, body, received_at) "
           "VALUES (%s, %s, %s, %s, %s)")
    with psycopg.connect(pg_dsn(url), options=f"-csearch_path={schema}") as conn:
        conn.execute(PG_TABLE)
        conn.commit()
        started = time.perf_counter()
        for name in names:
            sender, subject, message_id, body = extract((corpus / name).read_bytes())
            conn.execute(sql, (message_id, sender, subject, body, datetime.now(UTC)))
            conn.commit()
        return time.perf_counter() - started


def parse_only(corpus: Path, names: list[str]) -> dict[str, Any]:
    """Mails/s of reading plus parsing alone: the standard library's, then ours."""
    from helpdesk_core.mail import parse_mail

    rates: dict[str, Any] = {"mails": len(names)}
    for label, parse in (("stdlib", extract), ("ours", parse_mail)):
        started = time.perf_counter()
        for name in names:
            parse((corpus / name).read_bytes())
        rates[f"{label}_rate"] = len(names) / (time.perf_counter() - started)
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--sqlite", type=Path)
    parser.add_argument("--postgresql")
    parser.add_argument("--schema", default="helpdesk_bench_mail_lean")
    parser.add_argument("--parse-only", action="store_true")
    parser.add_argument("--pragma", action="append", default=[],
                        help="a PRAGMA statement for the SQLite connection (run.py passes the "
                             "adapter's, so that this process need not import SQLAlchemy)")
    args = parser.parse_args()
    names = mail_names(args.corpus)
    if args.parse_only:
        emit(parse_only(args.corpus, names))
        return 0
    if args.sqlite:
        pragmas = args.pragma
        if not pragmas:  # run on its own: the adapter's pragmas, at the cost of importing it
            from helpdesk_sqlalchemy.engine import sqlite_pragmas

            pragmas = sqlite_pragmas()
        seconds = ingest_sqlite(args.corpus, names, args.sqlite, pragmas)
    elif args.postgresql:
        seconds = ingest_postgresql(args.corpus, names, args.postgresql, args.schema)
    else:
        parser.error("--sqlite or --postgresql")
    result: dict[str, Any] = {"mails": len(names), "seconds": seconds,
                              "rate": len(names) / seconds, "peak_rss_kib": peak_rss_kib(),
                              "statements_per_mail": 1.0, "commits_per_mail": 1.0}
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
