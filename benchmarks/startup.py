"""Start-up: ``bootstrap()`` + ``close()`` on an up-to-date database against opening a bare
SQLAlchemy connection, side by side in one process.

For each database (a SQLite file, the PostgreSQL server named by HELPDESK_TEST_DATABASE_URL in
a schema of its own) the schema is created once; then, in rounds, every measure below runs
once per round in turn, so that drift (other load, caches) hits all of them alike. Medians.

- **baseline**: ``sqlalchemy.create_engine(url)``, ``connect()``, ``SELECT 1``, ``dispose()``;
- **bootstrap**: ``bootstrap(Settings(database_url=url)).close()``, the default settings
  (plugins from the entry points, ``migrate=True``);
- the parts, to see where the rest goes: the baseline reading the version table instead of
  ``SELECT 1`` (a check of the schema cannot do with less: on SQLite the file is opened and
  its schema read, which ``SELECT 1`` never does), the plugin manager alone (entry points
  found and registered), ``bootstrap()`` with the adapter's plugin given instead of
  discovered, the adapter's engine with its connection set-up and the schema check alone.

Each measure is timed twice: elapsed time and this process's CPU time. On a machine shared
with other work the elapsed time of a measure that runs for milliseconds includes waiting for
a core, which the sub-millisecond baseline seldom does; the CPU time does not (nor the
database server's time, which matters on PostgreSQL).

A cold start (a new interpreter importing the package, then ``bootstrap()`` and ``close()``)
is measured too, against a new interpreter that imports SQLAlchemy and opens the baseline's
connection, and an interpreter that does nothing.

    python benchmarks/startup.py [--rounds 300] [--cold 15] [--only sqlite|postgresql]
                                 [--record]

The figures of ``bootstrap`` and ``baseline`` use only the public API, so the script also runs
on older code (``PYTHONPATH=<checkout>/src:...``); a part that older code lacks is left out.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy

from helpdesk_core import Settings, bootstrap

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = "helpdesk_bench_startup"
TARGET = 5.0
_COLD_BASE = "python: import sqlalchemy, the baseline connection"
_NOTHING = "python doing nothing"
BASE = "baseline: create_engine, connect, SELECT 1, dispose"
BOOT = "bootstrap() and close(), default settings"
FLOOR = "the baseline reading the schema's version instead of SELECT 1"
VERSION_TABLE = "helpdesk_alembic_version"


def baseline(url: str) -> Callable[[], None]:
    def run() -> None:
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1").scalar()
        engine.dispose()

    return run


def reading_the_file(url: str) -> Callable[[], None]:
    """The baseline, but the one query reads the database: what any start-up that checks
    the schema cannot do without (on SQLite, opening the file and reading its schema)."""
    def run() -> None:
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").all()
        engine.dispose()

    return run


def started(url: str, **settings: Any) -> Callable[[], None]:
    def run() -> None:
        bootstrap(Settings(database_url=url, **settings), environ={}).close()

    return run


def parts(url: str) -> dict[str, Callable[[], None]]:
    """What bootstrap() is made of, for the breakdown; older code may lack some of it."""
    found: dict[str, Callable[[], None]] = {}
    try:
        import helpdesk_sqlalchemy.plugin as sql_plugin
        from helpdesk_core.plugins import make_plugin_manager
        from helpdesk_sqlalchemy.engine import create_engine_for
    except ImportError:
        return found
    found["plugin manager (entry points found, plugins registered)"] = make_plugin_manager
    found["bootstrap, the adapter's plugin given, no entry-point discovery"] = _explicit(
        url, sql_plugin)
    try:
        from helpdesk_sqlalchemy.migrate import check_schema
    except ImportError:
        return found

    def engine_and_check() -> None:
        engine = create_engine_for(url)
        check_schema(engine)
        engine.dispose()

    found["the adapter's engine, its connection set-up and the schema check"] = engine_and_check
    return found


def _explicit(url: str, plugin: object) -> Callable[[], None]:
    def run() -> None:
        bootstrap(Settings(database_url=url, autoload_plugins=False), plugins=[plugin],
                  environ={}).close()

    return run


def alternate(measures: dict[str, Callable[[], None]], rounds: int
              ) -> dict[str, tuple[float, float]]:
    """Median milliseconds of each measure, run in turn once per round: (elapsed, CPU time
    of this process). The CPU time leaves out waiting, for the database server as well as for
    a core on a busy machine."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in measures}
    for measure in measures.values():  # warm up: imports, first connections
        measure()
    for _ in range(rounds):
        for name, measure in measures.items():
            # Give the core away first, so that each measure starts on a fresh time slice
            # rather than where the previous one left off (which makes a longer measure more
            # likely to be preempted on a busy machine).
            time.sleep(0.001)
            start, cpu = time.perf_counter(), time.process_time()
            measure()
            times[name].append((time.perf_counter() - start, time.process_time() - cpu))
    return {name: (statistics.median(v[0] for v in values) * 1000,
                   statistics.median(v[1] for v in values) * 1000)
            for name, values in times.items()}


def cold(url: str, runs: int) -> dict[str, float]:
    """Median milliseconds of whole new interpreters, run in turn."""
    programs = {
        _NOTHING: "pass",
        "python: import sqlalchemy, the baseline connection": textwrap.dedent(f"""
            import sqlalchemy
            engine = sqlalchemy.create_engine({url!r})
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1").scalar()
            engine.dispose()
        """),
        "python: import helpdesk_core, bootstrap() and close()": textwrap.dedent(f"""
            from helpdesk_core import Settings, bootstrap
            bootstrap(Settings(database_url={url!r}), environ={{}}).close()
        """),
    }
    times: dict[str, list[float]] = {name: [] for name in programs}
    for _ in range(runs):
        for name, program in programs.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", program], check=True)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def report(database: str, warm: dict[str, tuple[float, float]],
           cold_ms: dict[str, float] | None) -> list[str]:
    base, base_cpu = warm[BASE]
    lines = [f"| {database} | {name} | {ms:.3f} | {ms / base:.2f} | {cpu:.3f} | "
             f"{cpu / base_cpu:.2f} |" for name, (ms, cpu) in warm.items()]
    if cold_ms:
        nothing = cold_ms[_NOTHING]
        lines += [f"| {database} | cold: {name} | {ms:.1f} | "
                  f"{(ms - nothing) / (cold_ms[_COLD_BASE] - nothing):.2f} | | |"
                  for name, ms in cold_ms.items() if name != _NOTHING]
        lines.append(f"| {database} | cold: {_NOTHING} | {nothing:.1f} | | | |")
    ratio, cpu_ratio = warm[BOOT][0] / base, warm[BOOT][1] / base_cpu
    lines.append(f"| {database} | **bootstrap/baseline, target ≤ {TARGET:g}** | | "
                 f"**{ratio:.2f}** {_verdict(ratio)} | | **{cpu_ratio:.2f}** "
                 f"{_verdict(cpu_ratio)} |")
    return lines


def _verdict(ratio: float) -> str:
    return "yes" if ratio <= TARGET else "NO"



def measure(database: str, url: str, args: argparse.Namespace) -> list[str]:
    bootstrap(Settings(database_url=url), environ={}).close()  # creates the schema
    measures = {BASE: baseline(url), BOOT: started(url), FLOOR: reading_the_file(url),
                **parts(url)}
    warm = alternate(measures, args.rounds)
    cold_ms = cold(url, args.cold) if args.cold else None
    lines = report(database, warm, cold_ms)
    for line in lines:
        print(line, flush=True)
    return lines


def _pg_admin(url: str, statement: str) -> None:
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--cold", type=int, default=15,
                        help="new interpreters per cold-start measure (0: none)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--record", action="store_true", help="write docs/benchmarks.md")
    args = parser.parse_args()
    header = ["| database | what | median ms | ratio to the baseline | median CPU ms | "
              "CPU ratio |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    print("\n".join(header), flush=True)
    lines: list[str] = []
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory(prefix="helpdesk-startup-") as folder:
            lines += measure("SQLite", f"sqlite:///{folder}/startup.sqlite3", args)
    if args.only in (None, "postgresql"):
        server = os.environ.get("HELPDESK_TEST_DATABASE_URL", DEFAULT_PG)
        _pg_admin(server, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        _pg_admin(server, f"CREATE SCHEMA {SCHEMA}")
        sep = "&" if "?" in server else "?"
        try:
            lines += measure("PostgreSQL", f"{server}{sep}options=-csearch_path%3D{SCHEMA}",
                             args)
        finally:
            _pg_admin(server, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    if args.record:
        record(header + lines, args)
    return 0


def record(table: list[str], args: argparse.Namespace) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8")
    begin, end = "<!-- bench:startup:begin -->", "<!-- bench:startup:end -->"
    options = "".join(f" --{name} {value}" for name, value, default in (
        ("rounds", args.rounds, 300), ("cold", args.cold, 15), ("only", args.only, None))
        if value != default)
    command = f"python benchmarks/startup.py --record{options}"
    block = "\n".join([
        begin,
        f"Recorded {datetime.now(UTC):%Y-%m-%d} with `{command}` (also run by `nox -s bench`) "
        f"on {platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"{args.rounds} rounds in one process, medians. Cold starts: {args.cold} new "
        "interpreters each, their ratio counted after the interpreter's own start.",
        "", *table, end])
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n## Start-up\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
