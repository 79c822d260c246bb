"""Our mail ingestion: ``helpdesk.mail.receive(raw)`` once per mail, one transaction each.

The helpdesk is bootstrapped on an empty database (a fresh SQLite file, or an empty
PostgreSQL schema the parent created), then every file of the corpus is read and handed to
``receive_mail`` in order. Bootstrap and migrations are not timed; reading the files is (as it
is for the other two pipelines). For each mail one line ``file<TAB>ticket
number<TAB>outcome`` goes to ``--out`` as it is processed, so that memory does not grow with
the corpus; the parent scores threading from that file. A mail that raises is recorded with
outcome ``error:<exception class>`` and no ticket, and the run goes on.

Run in a child process by ``run.py`` so that its peak RSS is its own::

    python benchmarks/mail/ours.py CORPUS --url DATABASE_URL --out RESULTS.tsv

``--profile FILE`` writes cProfile statistics of the loop (read them with ``python -m
pstats FILE``); the rate is then not comparable. ``--breakdown`` prints where the time of a
mail goes: parsing, the database (statements and commit) and everything else; the timers
cost a little, so that rate is not comparable either.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import emit, peak_rss_kib
from corpus import mail_names

from helpdesk_core import Settings, bootstrap


def available() -> str | None:
    """None when this version of helpdesk_core can receive one raw mail, else why not."""
    from helpdesk_core.app import Helpdesk

    sections = getattr(Helpdesk, "__attrs_attrs__", ())
    if not hasattr(Helpdesk, "receive_mail") and "mail" not in {a.name for a in sections}:
        return "this version of helpdesk_core cannot receive one raw mail"
    return None


def receiver(helpdesk: Any) -> Any:
    """``helpdesk.mail.receive``; before the facade had sections, ``helpdesk.receive_mail``
    (so that a commit from before that change can be measured side by side)."""
    mail = getattr(helpdesk, "mail", None)
    return mail.receive if mail is not None else helpdesk.receive_mail


def _text(value: Any) -> str:
    value = getattr(value, "value", value)
    return "" if value is None else str(value)


COUNTED_MAILS = 200


class _Counter:
    """Statements (BEGIN included), commits and rollbacks: those run through SQLAlchemy
    (its events) and those the adapter runs on the DB-API cursor (its driver logger)."""

    def __init__(self) -> None:
        self.counts = {"statements": 0, "commits": 0, "rollbacks": 0}

    def __enter__(self) -> dict[str, int]:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        counts = self.counts

        def statement(*_: Any) -> None:
            counts["statements"] += 1

        def commit(*_: Any) -> None:
            counts["commits"] += 1

        def rollback(*_: Any) -> None:
            counts["rollbacks"] += 1

        class Driver(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                statement()

        self.listeners = [(Engine, "before_cursor_execute", statement),
                          (Engine, "commit", commit), (Engine, "rollback", rollback)]
        for target, name, fn in self.listeners:
            event.listen(target, name, fn)
        self.logger = logging.getLogger("helpdesk_sqlalchemy.driver")
        self.handler, self.level = Driver(), self.logger.level
        self.logger.addHandler(self.handler)
        self.logger.setLevel(logging.DEBUG)
        return counts

    def __exit__(self, *_: object) -> None:
        from sqlalchemy import event

        for target, name, fn in self.listeners:
            event.remove(target, name, fn)
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)


def count_database_work(corpus: Path, names: list[str], *,
                        channel: str = "default") -> dict[str, float]:
    """Statements, commits and rollbacks per mail over the first mails of the corpus, in an
    untimed pass into a fresh SQLite file (counting costs time, so the timed run does not
    count)."""
    names = names[:COUNTED_MAILS]
    with tempfile.TemporaryDirectory() as work:
        helpdesk = bootstrap(Settings(database_url=f"sqlite:///{Path(work) / 'count.db'}"))
        try:
            with _Counter() as counts:
                for name in names:
                    receiver(helpdesk)((corpus / name).read_bytes(), channel=channel)
        finally:
            helpdesk.close()
    mails = max(len(names), 1)
    return {"statements_per_mail": counts["statements"] / mails,
            "commits_per_mail": counts["commits"] / mails,
            "rollbacks_per_mail": counts["rollbacks"] / mails,
            "counted_mails": len(names)}


def ingest(corpus: Path, names: list[str], url: str, out: Path, *,
           channel: str = "default") -> dict[str, Any]:
    helpdesk = bootstrap(Settings(database_url=url))
    failures = 0
    try:
        receive = receiver(helpdesk)
        with out.open("w", encoding="utf-8") as sink:
            started = time.perf_counter()
            for name in names:
                try:
                    result = receive((corpus / name).read_bytes(), channel=channel)
                except Exception as error:  # recorded and scored as not ingested
                    failures += 1
                    sink.write(f"{name}\t\terror:{type(error).__name__}: "
                               f"{str(error)[:200]!r}\n")
                    continue
                sink.write(f"{name}\t{_text(result.ticket_number)}\t"
                           f"{_text(result.outcome)}\n")
            seconds = time.perf_counter() - started
    finally:
        helpdesk.close()
    return {"mails": len(names), "seconds": seconds, "rate": len(names) / seconds,
            "failures": failures}


def read_results(out: Path) -> tuple[dict[str, str | None], dict[str, int]]:
    """File → ticket number (None when not ingested), and how often each outcome occurred."""
    landed: dict[str, str | None] = {}
    outcomes: dict[str, int] = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        file, number, outcome = line.split("\t", 2)
        landed[file] = number or None
        if outcome.startswith("error:"):
            outcome = "error: " + outcome[len("error:"):].split(":", 1)[0]
        key = outcome or "(none)"
        outcomes[key] = outcomes.get(key, 0) + 1
    return landed, outcomes


class _Breakdown:
    """Wall time spent inside a few functions of the pipeline, summed over the run."""

    def __init__(self) -> None:
        from sqlalchemy.engine import Connection

        import helpdesk_core.services.mail_ingest as ingest_module
        import helpdesk_sqlalchemy.driver as driver_module

        self.spent: dict[str, float] = {}
        self._wrap(ingest_module, "parse_mail", "parsing (parse_mail)")
        self._wrap(driver_module, "run", "statements on the DB-API cursor")
        self._wrap(Connection, "execute", "statements through SQLAlchemy")
        self._wrap(Connection, "commit", "commit")

    def _wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        spent = self.spent
        spent[label] = 0.0

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - started

        setattr(owner, name, timed)

    def report(self, mails: int, seconds: float) -> str:
        lines = [f"{seconds / mails * 1000:.3f} ms per mail in all"]
        for label, total in self.spent.items():
            lines.append(f"  {total / mails * 1000:.3f} ms {label}")
        rest = seconds - sum(self.spent.values())
        lines.append(f"  {rest / mails * 1000:.3f} ms everything else (threading, the ticket, "
                     "articles, events, acknowledgement, value conversion)")
        return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--url", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--channel", default="default", help="the mail channel to receive on")
    parser.add_argument("--profile", type=Path,
                        help="write cProfile statistics of the ingestion loop to this file")
    parser.add_argument("--breakdown", action="store_true",
                        help="print where the time of a mail goes")
    args = parser.parse_args()
    reason = available()
    if reason:
        emit({"unavailable": reason})
        return 0
    names = mail_names(args.corpus)
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(ingest, args.corpus, names, args.url, args.out,
                                  channel=args.channel)
        profiler.dump_stats(args.profile)
    elif args.breakdown:
        breakdown = _Breakdown()
        result = ingest(args.corpus, names, args.url, args.out, channel=args.channel)
        print(breakdown.report(result["mails"], result["seconds"]), file=sys.stderr)
    else:
        result = ingest(args.corpus, names, args.url, args.out, channel=args.channel)
    result["peak_rss_kib"] = peak_rss_kib()
    result.update(count_database_work(args.corpus, names, channel=args.channel))
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
