"""Mail-ingestion benchmark: ours against the stdlib limit and django-helpdesk, side by side.

For each corpus size (default 2,000 and 10,000 mails, see ``corpus.py`` for the mix) and each
database (a SQLite file; PostgreSQL from ``HELPDESK_TEST_DATABASE_URL`` in a schema of its
own, dropped afterwards), in one run:

* **ours**: ``helpdesk.mail.receive(raw)`` per mail, one transaction each (``ours.py``);
* **lean**: the standard library's parser plus one INSERT and one commit per mail into a
  single table, the practical limit (``lean.py``);
* **django-helpdesk**: its ``get_email`` command on a local-directory mailbox holding the
  same corpus with its own ticket tags, installed from PyPI into its own virtual environment
  (``django_helpdesk.py``); SQLite only.

Every (system, database, size) runs in a fresh child process, so each peak RSS is that
pipeline's own. Threading is scored against the corpus manifest for ours and for
django-helpdesk (the lean pipeline does not thread). Prints one Markdown table and the
details below it.

    python benchmarks/mail/run.py [--sizes 2000,10000] [--quick] [--skip-django]
                                  [--only sqlite|postgresql] [--repeat N] [--seed N]
                                  [--year YYYY]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import django_helpdesk
import ours
from common import (
    pg_available,
    pg_url,
    python_child,
    reset_schema,
    run_schema,
    score_threading,
    with_search_path,
)
from corpus import generate, tag_renderer

from helpdesk_sqlalchemy.engine import sqlite_pragmas

OURS_SCHEMA = run_schema("helpdesk_bench_mail_ours")
LEAN_SCHEMA = run_schema("helpdesk_bench_mail_lean")
QUICK_SIZES = (200, 500)
CHILD_TIMEOUT = 3 * 3600


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_ours(corpus: Path, work: Path, backend: str, manifest: dict[str, Any]) -> dict[str, Any]:
    out = work / "ours-results.tsv"
    if backend == "SQLite":
        url = f"sqlite:///{work / 'ours.sqlite3'}"
        result = python_child("ours.py", str(corpus), "--url", url, "--out", str(out),
                              timeout=CHILD_TIMEOUT)
    else:
        reset_schema(pg_url(), OURS_SCHEMA, create=True)
        try:
            result = python_child("ours.py", str(corpus), "--url",
                                  with_search_path(pg_url(), OURS_SCHEMA), "--out", str(out),
                                  timeout=CHILD_TIMEOUT)
        finally:
            reset_schema(pg_url(), OURS_SCHEMA, create=False)
    if "unavailable" in result:
        return result
    landed, outcomes = ours.read_results(out)
    tag = tag_renderer("ours", year=manifest["year"])
    result["outcomes"] = outcomes
    result["threading"] = score_threading(manifest, landed, lambda n: tag(n).strip("[]"))
    return result


def run_lean(corpus: Path, work: Path, backend: str) -> dict[str, Any]:
    if backend == "SQLite":
        pragmas = [f"--pragma={pragma}" for pragma in sqlite_pragmas()]
        return python_child("lean.py", str(corpus), "--sqlite", str(work / "lean.sqlite3"),
                            *pragmas, timeout=CHILD_TIMEOUT)
    reset_schema(pg_url(), LEAN_SCHEMA, create=True)
    try:
        return python_child("lean.py", str(corpus), "--postgresql", pg_url(), "--schema",
                            LEAN_SCHEMA, timeout=CHILD_TIMEOUT)
    finally:
        reset_schema(pg_url(), LEAN_SCHEMA, create=False)


def attempt(label: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one measurement; a failure becomes a row entry instead of ending the run."""
    started = time.perf_counter()
    try:
        result = fn()
    except Exception as error:
        log(f"  {label}: FAILED: {error}")
        return {"failed": f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"}
    if "unavailable" in result:
        log(f"  {label}: not run: {result['unavailable']}")
    elif "rate" in result:
        errors = result.get("threading", {}).get("errors")
        log(f"  {label}: {result['rate']:,.0f} mails/s, peak RSS "
            f"{result['peak_rss_kib'] / 1024:,.0f} MiB"
            + (f", threading errors {errors}" if errors is not None else "")
            + f" ({time.perf_counter() - started:,.0f} s)")
    elif "stdlib_rate" in result:
        log(f"  {label}: standard library {result['stdlib_rate']:,.0f} mails/s, parse_mail "
            f"{result['ours_rate']:,.0f} mails/s")
    return result


def median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rate (the lower middle one of an even count); its peak RSS
    becomes the highest of all runs."""
    measured = sorted((r for r in results if "rate" in r), key=lambda r: r["rate"])
    if not measured:
        return results[0]
    chosen = dict(measured[(len(measured) - 1) // 2])
    chosen["peak_rss_kib"] = max(r["peak_rss_kib"] for r in measured)
    chosen["runs"] = len(measured)
    return chosen


# -- report ------------------------------------------------------------------------------


def rate(result: dict[str, Any] | None) -> str:
    if not result:
        return "—"
    if "rate" in result:
        failed = result.get("failures", 0)
        return f"{result['rate']:,.0f}" + (f" ({failed:,} raised)" if failed else "")
    return "not run" if "unavailable" in result else "failed"


def rss(result: dict[str, Any] | None) -> str:
    if not result or "peak_rss_kib" not in result:
        return "—"
    return f"{result['peak_rss_kib'] / 1024:,.0f} MiB"


def errors(result: dict[str, Any] | None) -> str:
    if not result or "threading" not in result:
        return "—"
    return f"{result['threading']['errors']:,}"


def ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    if not a or not b or "rate" not in a or "rate" not in b:
        return "—"
    return f"{a['rate'] / b['rate']:.2f}"


def table(rows: list[dict[str, Any]], dh_version: str | None) -> list[str]:
    dh = f"django-helpdesk {dh_version}" if dh_version else "django-helpdesk"
    lines = [
        f"| database | mails | ours mails/s | lean mails/s | {dh} mails/s | ours/lean "
        f"| ours/django-helpdesk | peak RSS ours | peak RSS lean | peak RSS django-helpdesk "
        f"| threading errors ours | threading errors django-helpdesk |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        o, lean, d = row.get("ours"), row.get("lean"), row.get("django")
        lines.append(
            f"| {row['backend']} | {row['size']:,} | {rate(o)} | {rate(lean)} | {rate(d)} "
            f"| {ratio(o, lean)} | {ratio(o, d)} | {rss(o)} | {rss(lean)} | {rss(d)} "
            f"| {errors(o)} | {errors(d)} |"
        )
    return lines


def details(rows: list[dict[str, Any]], manifests: dict[int, dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for size, manifest in sorted(manifests.items()):
        kinds: dict[str, int] = {}
        for mail in manifest["mails"]:
            kinds[mail["kind"]] = kinds.get(mail["kind"], 0) + 1
        out.append(f"- corpus of {size:,} (seed {manifest['seed']}, year {manifest['year']}): "
                   + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items())))
    for row in rows:
        where = f"{row['backend']}, {row['size']:,} mails"
        for name, key in (("ours", "ours"), ("lean", "lean"), ("django-helpdesk", "django")):
            result = row.get(key)
            if not result:
                continue
            if "failed" in result or "unavailable" in result:
                out.append(f"- {name} ({where}): "
                           f"{result.get('failed') or result.get('unavailable')}")
                continue
            extra = []
            work = [f"{result[k]:.1f} {label} per mail" for k, label in (
                ("statements_per_mail", "statements"), ("commits_per_mail", "commits"),
                ("rollbacks_per_mail", "rollbacks")) if k in result]
            if "counted_mails" in result:
                work.append(f"counted on the first {result['counted_mails']} mails into "
                            "a fresh SQLite file")
            if work:
                extra.append(", ".join(work))
            if "outcomes" in result:
                extra.append("outcomes " + json.dumps(result["outcomes"], ensure_ascii=False))
            if key == "django":
                extra.append(f"get_email {result['seconds']:,.1f} s inside a process of "
                             f"{result['wall_s']:,.1f} s wall time (Django start-up included); "
                             f"{result['left_in_mailbox']} mails left in the mailbox")
            threading = result.get("threading")
            if threading and (threading["errors"] or threading["numbering"]):
                extra.append(f"threading {json.dumps(threading['by_reason'])}, by kind "
                             f"{json.dumps(threading['by_kind'])}, numbering differs for "
                             f"{threading['numbering']} new requests; e.g. "
                             + "; ".join(threading["examples"][:3]))
            if extra:
                out.append(f"- {name} ({where}): " + "; ".join(extra))
    return out


def acceptance(rows: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for row in rows:
        o, lean, d = row.get("ours"), row.get("lean"), row.get("django")
        if not o or "rate" not in o:
            continue
        checks = []
        if o.get("failures"):
            checks.append(f"{o['failures']:,} mails raised: the rates are not comparable")
        if row["backend"] == "SQLite" and d and "rate" in d:
            checks.append(f"ours ≥ 10x django-helpdesk: {o['rate'] / d['rate']:.1f}x "
                          f"{'yes' if o['rate'] >= 10 * d['rate'] else 'NO'}")
        if lean and "rate" in lean:
            checks.append(f"ours ≥ 0.8x lean: {o['rate'] / lean['rate']:.2f}x "
                          f"{'yes' if o['rate'] >= 0.8 * lean['rate'] else 'NO'}")
        checks.append(f"threading errors {o['threading']['errors']}: "
                      f"{'yes' if o['threading']['errors'] == 0 else 'NO'}")
        out.append(f"- {row['backend']}, {row['size']:,} mails: " + "; ".join(checks))
        parsing = row.get("parsing") or {}
        if row["backend"] == "SQLite" and d and "rate" in d and "stdlib_rate" in parsing:
            out.append(
                f"  - ceiling, parsing alone with no database: standard library "
                f"{parsing['stdlib_rate']:,.0f} mails/s "
                f"({parsing['stdlib_rate'] / d['rate']:.1f}x django-helpdesk), parse_mail "
                f"{parsing['ours_rate']:,.0f} mails/s "
                f"({parsing['ours_rate'] / d['rate']:.1f}x django-helpdesk)")
    by_backend: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_backend.setdefault(row["backend"], []).append(row)
    for backend, group in by_backend.items():
        group = sorted(group, key=lambda r: r["size"])
        if len(group) < 2:
            continue
        small, large = group[0], group[-1]
        for name, key in (("ours", "ours"), ("lean", "lean"), ("django-helpdesk", "django")):
            a, b = small.get(key), large.get(key)
            if a and b and "peak_rss_kib" in a and "peak_rss_kib" in b:
                growth = b["peak_rss_kib"] / a["peak_rss_kib"]
                out.append(f"- peak RSS of {name} on {backend}, {small['size']:,} → "
                           f"{large['size']:,} mails: x{growth:.2f}")
    return out


# -- driver ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2000,10000",
                        help="comma-separated corpus sizes (default 2000,10000)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run at {', '.join(map(str, QUICK_SIZES))} mails")
    parser.add_argument("--skip-django", action="store_true")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--year", type=int, help="ticket-number year (default: this year)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each pipeline, interleaved; the median rate is reported")
    parser.add_argument("--record", action="store_true",
                        help="write the table into docs/benchmarks.md")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    sizes = list(QUICK_SIZES) if args.quick else [int(s) for s in args.sizes.split(",") if s]
    year = args.year or datetime.now(UTC).year

    backends: list[str] = []
    if args.only in (None, "sqlite"):
        backends.append("SQLite")
    if args.only in (None, "postgresql"):
        why = pg_available(pg_url())
        if why:
            log(f"PostgreSQL not reachable ({why}); its rows are skipped")
        else:
            backends.append("PostgreSQL")
    dh_version: str | None = None
    run_django = not args.skip_django and "SQLite" in backends
    if run_django:
        try:
            _, dh_version = django_helpdesk.ensure_venv(log=log)
        except Exception as error:
            log(f"django-helpdesk could not be installed ({error}); its column is skipped")
            run_django = False
    reason = ours.available()
    if reason:
        log(f"ours: {reason}")

    rows: list[dict[str, Any]] = []
    manifests: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="helpdesk-mail-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for size in sizes:
            log(f"corpus of {size:,} mails")
            corpus_ours = tmp / f"corpus-ours-{size}"
            manifest = generate(corpus_ours, size=size, system="ours", seed=args.seed,
                                year=year)
            manifests[size] = manifest
            corpus_dh = tmp / f"corpus-django-helpdesk-{size}"
            if run_django:
                generate(corpus_dh, size=size, system="django-helpdesk", seed=args.seed,
                         year=year)
            parsing = attempt("parsing alone", lambda c=corpus_ours: python_child(
                "lean.py", str(c), "--parse-only", timeout=CHILD_TIMEOUT))
            for backend in backends:
                row: dict[str, Any] = {"backend": backend, "size": size, "parsing": parsing}
                log(f" {backend}")
                pipelines: list[tuple[str, str, Callable[[Path], dict[str, Any]]]] = [
                    ("ours", "ours", lambda w, b=backend, m=manifest, c=corpus_ours:
                        run_ours(c, w, b, m)),
                    ("lean", "lean", lambda w, b=backend, c=corpus_ours: run_lean(c, w, b)),
                ]
                if run_django and backend == "SQLite":
                    pipelines.append((f"django-helpdesk {dh_version}", "django",
                                      lambda w, c=corpus_dh: django_helpdesk.run(c, w)))
                runs: dict[str, list[dict[str, Any]]] = {key: [] for _, key, _ in pipelines}
                for round_ in range(args.repeat):
                    # Alternate the order between rounds so that drift hits all alike.
                    for label, key, fn in pipelines if round_ % 2 == 0 else pipelines[::-1]:
                        work = tmp / f"work-{key}-{backend.lower()}-{size}-{round_}"
                        work.mkdir()
                        try:
                            runs[key].append(attempt(label, lambda f=fn, w=work: f(w)))
                        finally:
                            shutil.rmtree(work, ignore_errors=True)
                for key, results in runs.items():
                    row[key] = median_run(results)
                rows.append(row)
            shutil.rmtree(corpus_ours, ignore_errors=True)
            shutil.rmtree(corpus_dh, ignore_errors=True)

    repeat = (f" Median of {args.repeat} interleaved runs per cell; peak RSS the highest."
              if args.repeat > 1 else "")
    heading = (f"Mail ingestion, one transaction per mail; {platform.machine()}, Python "
               f"{platform.python_version()}, {os.cpu_count()} CPUs. django-helpdesk on "
               f"SQLite only.{repeat}")
    print(heading + "\n")
    print("\n".join(table(rows, dh_version)))
    print()
    print("\n".join(details(rows, manifests)))
    print()
    print("Acceptance:")
    print("\n".join(acceptance(rows)))
    if args.record:
        command = "python benchmarks/mail/run.py --record " + " ".join(
            a for a in sys.argv[1:] if a != "--record")
        record([f"Recorded {datetime.now(UTC):%Y-%m-%d} with `{command.strip()}`. {heading}",
                "", *table(rows, dh_version), "", "Acceptance:", "",
                *(f"- {line.lstrip('- ')}" for line in acceptance(rows))])
    return 0


def record(lines: list[str]) -> None:
    """Replace the mail section of docs/benchmarks.md (between its markers)."""
    path = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8")
    begin, end = "<!-- bench:mail:begin -->", "<!-- bench:mail:end -->"
    block = "\n".join([begin, *lines, end])
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n## Mail ingestion\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
