"""Helpers shared by the mail-ingestion benchmark: databases, child processes, scoring."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg

HERE = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RESULT_PREFIX = "BENCH-RESULT "


def pg_url() -> str:
    return os.environ.get("HELPDESK_TEST_DATABASE_URL", DEFAULT_PG)


def pg_dsn(url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def with_search_path(url: str, schema: str) -> str:
    """The SQLAlchemy URL whose connections use ``schema`` only."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def reset_schema(url: str, schema: str, *, create: bool, attempts: int = 6) -> None:
    """Drop ``schema`` (and create it again when ``create``); autocommit, nothing left open.

    DROP SCHEMA locks every table of the schema one by one; a session still reading them
    (another run that used the same name, before names carried the pid; autovacuum) can
    meet it in a lock cycle, "deadlock detected", which is retried.
    """
    for attempt in range(attempts):
        try:
            with psycopg.connect(pg_dsn(url), autocommit=True, connect_timeout=10) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                if create:
                    conn.execute(f"CREATE SCHEMA {schema}")
            return
        except (psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable):
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def run_schema(name: str) -> str:
    """A schema name of this run's own, so that concurrent runs never share one."""
    return f"{name}_{os.getpid()}"


def pg_available(url: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        with psycopg.connect(pg_dsn(url), autocommit=True, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]
    return None


def peak_rss_kib() -> int:
    """This process's peak resident set size in KiB since it started its program.

    Linux's ``ru_maxrss`` keeps the high-water mark of the parent at fork across exec, so a
    child started by a large parent would report the parent's size; ``VmHWM`` belongs to the
    address space of the running program only.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def emit(result: Mapping[str, Any]) -> None:
    """Hand a child's result to the parent (one line on stdout)."""
    print(RESULT_PREFIX + json.dumps(dict(result)), flush=True)


def run_child(argv: Sequence[str], *, timeout: float = 3600,
              env: Mapping[str, str] | None = None, cwd: Path | None = None) -> dict[str, Any]:
    """Run a child that ends with :func:`emit`; its result plus ``wall_s`` of the process."""
    started = time.perf_counter()
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                          env=dict(env) if env is not None else None, cwd=cwd, check=False)
    wall = time.perf_counter() - started
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX):])
            result["wall_s"] = wall
            return result
    tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
    raise RuntimeError(f"{Path(argv[1]).name if len(argv) > 1 else argv[0]} failed "
                       f"(exit {proc.returncode}):\n{tail}")


def python_child(script: str, *args: str, **kwargs: Any) -> dict[str, Any]:
    """Run one of this directory's scripts with this interpreter in a fresh process."""
    return run_child([sys.executable, str(HERE / script), *args], **kwargs)


def load_manifest(corpus: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    return data


def score_threading(manifest: Mapping[str, Any], landed: Mapping[str, str | None],
                    expected_key: Callable[[int], str]) -> dict[str, Any]:
    """Compare where each mail landed with the thread the manifest says it belongs to.

    ``landed`` maps a file name to the key of the ticket the mail was added to (None when it
    was not ingested). ``expected_key(n)`` is the key the system gives the n-th new request
    on an empty database, which the corpus used for the subject tags.

    Errors: a new request that did not open a ticket of its own, a reply that opened a ticket
    of its own or landed on another thread's ticket, a mail that was not ingested.
    ``numbering`` counts new requests whose ticket key differs from the one the corpus
    assumed (then the subject tags of that thread's replies name another ticket).
    """
    root_key: dict[int, str] = {}
    owner: dict[str, int] = {}
    errors: dict[str, int] = {"new request joined an existing ticket": 0,
                              "reply opened a ticket of its own": 0,
                              "reply landed on another thread's ticket": 0,
                              "not ingested": 0}
    by_kind: dict[str, int] = {}
    numbering = 0
    examples: list[str] = []

    def fail(reason: str, mail: Mapping[str, Any], detail: str) -> None:
        errors[reason] += 1
        by_kind[mail["kind"]] = by_kind.get(mail["kind"], 0) + 1
        if len(examples) < 5:
            examples.append(f"{mail['file']} ({mail['kind']}, thread {mail['thread']}): "
                            f"{reason}: {detail}")

    for mail in manifest["mails"]:
        key = landed.get(mail["file"])
        thread = int(mail["thread"])
        if key is None:
            fail("not ingested", mail, "no ticket")
            continue
        if mail["kind"] == "new":
            if key in owner:
                fail("new request joined an existing ticket", mail,
                     f"{key} of thread {owner[key]}")
                continue
            root_key[thread] = key
            owner[key] = thread
            if key != expected_key(thread):
                numbering += 1
            continue
        expected = root_key.get(thread)
        if key == expected:
            continue
        if key not in owner:
            owner[key] = -1
            fail("reply opened a ticket of its own", mail, f"{key}, expected {expected}")
        else:
            fail("reply landed on another thread's ticket", mail,
                 f"{key} of thread {owner[key]}, expected {expected}")
    return {"errors": sum(errors.values()), "by_reason": {k: v for k, v in errors.items() if v},
            "by_kind": by_kind, "numbering": numbering, "examples": examples}
