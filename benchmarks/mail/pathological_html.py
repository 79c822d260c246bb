"""Pathological HTML through ``helpdesk.mail.receive``: time and memory per mail against a
fixed budget, and against a plain-text mail of the same size received in the same process.

Cases (issue 12): ``<div>`` nested 10, 100, 1,000, ... 1,000,000 deep, and flat HTML
(``<p>hello <b>world</b> and more</p>`` lines) of 1, 5, 10 and 20 MB. Each is sent as a
``text/html`` mail; its baseline is a ``text/plain`` mail of the same number of bytes. The
policy's ``max_bytes`` is raised to 64 MiB so that every case is read; the HTML limits are the
defaults (``MailLimits``: 128 levels, 50,000 elements, 1,000,000 characters).

Each mail is received twice with a new Message-ID: once timed (CPU time of this process and
elapsed time), once under tracemalloc for the peak of Python's allocations (tracemalloc slows
Python down, so it is never on while timing). tracemalloc does not see what the sanitiser
(Rust) and lxml allocate in C; their input is what the limits bound.

The budget per mail: CPU time ≤ 1.0 s + 0.25 s per MB of mail, tracemalloc peak ≤ 40 MB
+ 32 MB per MB of mail (see docs/explanation/html-budget.md for why these figures).

    python benchmarks/mail/pathological_html.py [--quick] [--record]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from helpdesk_core import Helpdesk, Settings, bootstrap
from helpdesk_core.mail import MailLimits
from helpdesk_core.mail.policy import MailPolicy

ROOT = Path(__file__).resolve().parents[2]
MB = 1_000_000
BUDGET_CPU = (1.0, 0.25)  # seconds, seconds per MB
BUDGET_MEMORY = (40.0, 32.0)  # MB, MB per MB
DEPTHS = (10, 100, 1_000, 10_000, 100_000, 1_000_000)
FLAT_MB = (1, 5, 10, 20)
FLAT_LINE = "<p>hello <b>world</b> and more</p>\n"


def deep(levels: int) -> str:
    return "<div>" * levels + "Hallo" + "</div>" * levels


def flat(size: int) -> str:
    return FLAT_LINE * (size * MB // len(FLAT_LINE))


class Sender:
    def __init__(self, helpdesk: Helpdesk) -> None:
        self.helpdesk = helpdesk
        self.count = 0

    def mail(self, body: str, content_type: str) -> bytes:
        self.count += 1
        head = (f"From: Jana <jana@example.cz>\r\nTo: support@shop.example\r\n"
                f"Subject: case {self.count}\r\nMessage-ID: <bench-{self.count}@example.cz>\r\n"
                f"MIME-Version: 1.0\r\nContent-Type: {content_type}; charset=utf-8\r\n\r\n")
        return head.encode("ascii") + body.encode("utf-8")

    def timed(self, body: str, content_type: str) -> tuple[float, float, str]:
        raw = self.mail(body, content_type)
        started, cpu = time.perf_counter(), time.process_time()
        outcome = self.helpdesk.mail.receive(raw)
        return (time.process_time() - cpu, time.perf_counter() - started,
                str(outcome.outcome))

    def peak(self, body: str, content_type: str) -> float:
        raw = self.mail(body, content_type)
        tracemalloc.start()
        try:
            self.helpdesk.mail.receive(raw)
            return tracemalloc.get_traced_memory()[1] / MB
        finally:
            tracemalloc.stop()


def plain_like(html: str) -> str:
    """Plain text of the same length: lines of words."""
    line = "hello world and more, a plain line of text\n"
    return (line * (len(html) // len(line) + 1))[: len(html)]


def measure(sender: Sender, name: str, html: str) -> dict[str, object]:
    plain = plain_like(html)
    size = len(html.encode()) / MB
    cpu, wall, outcome = sender.timed(html, "text/html")
    base_cpu, base_wall, _ = sender.timed(plain, "text/plain")
    peak = sender.peak(html, "text/html")
    base_peak = sender.peak(plain, "text/plain")
    cpu_budget = BUDGET_CPU[0] + BUDGET_CPU[1] * size
    memory_budget = BUDGET_MEMORY[0] + BUDGET_MEMORY[1] * size
    return {"case": name, "mb": size, "cpu": cpu, "wall": wall, "outcome": outcome,
            "base_cpu": base_cpu, "base_wall": base_wall, "peak": peak,
            "base_peak": base_peak, "cpu_budget": cpu_budget, "memory_budget": memory_budget}


def row(r: dict[str, object]) -> str:
    def f(key: str) -> float:
        value = r[key]
        assert isinstance(value, float)
        return value

    ok_cpu = "yes" if f("cpu") <= f("cpu_budget") else "NO"
    ok_memory = "yes" if f("peak") <= f("memory_budget") else "NO"
    ratio = f("cpu") / f("base_cpu") if f("base_cpu") > 0 else float("nan")
    return (f"| {r['case']} | {f('mb'):.2f} | {r['outcome']} | {f('cpu'):.3f} | {f('wall'):.3f} "
            f"| {f('base_cpu'):.3f} | {ratio:.2f} | {f('cpu_budget'):.2f} {ok_cpu} "
            f"| {f('peak'):.1f} | {f('base_peak'):.1f} | {f('memory_budget'):.0f} {ok_memory} |")


HEADER = [
    "| case | MB | outcome | CPU s | elapsed s | plain mail CPU s | ratio to plain "
    "| CPU budget s | tracemalloc peak MB | plain mail peak MB | memory budget MB |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="depths up to 100,000 and flat 1 and 5 MB")
    parser.add_argument("--record", action="store_true", help="write docs/benchmarks.md")
    args = parser.parse_args()
    depths = DEPTHS[:-1] if args.quick else DEPTHS
    sizes = FLAT_MB[:2] if args.quick else FLAT_MB
    cases: list[tuple[str, Callable[[], str]]] = [
        *((f"nested {d:,} deep", lambda d=d: deep(d)) for d in depths),
        *((f"flat {s} MB", lambda s=s: flat(s)) for s in sizes),
    ]
    policy = MailPolicy(own_addresses=frozenset({"support@shop.example"}),
                        new_ticket_limit=None,  # every case opens a ticket, as a first mail does
                        limits=MailLimits(max_bytes=64 * 1024 * 1024))
    helpdesk = bootstrap(Settings(storage="memory", autoload_plugins=False, mail_policy=policy),
                         environ={})
    lines: list[str] = []
    try:
        sender = Sender(helpdesk)
        sender.timed(deep(10), "text/html")  # warm up: imports, first ticket
        print("\n".join(HEADER), flush=True)
        for name, make in cases:
            line = row(measure(sender, name, make()))
            print(line, flush=True)
            lines.append(line)
    finally:
        helpdesk.close()
    if args.record:
        record(HEADER + lines, args)
    return 0 if all(" NO " not in line for line in lines) else 1


def record(table: list[str], args: argparse.Namespace) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8")
    begin, end = "<!-- bench:pathological-html:begin -->", "<!-- bench:pathological-html:end -->"
    command = "python benchmarks/mail/pathological_html.py --record" + (
        " --quick" if args.quick else "")
    block = "\n".join([
        begin,
        f"Recorded {datetime.now(UTC):%Y-%m-%d} with `{command}` (also run by `nox -s bench`) "
        f"on {platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        "in-memory storage. Budget per mail: CPU ≤ "
        f"{BUDGET_CPU[0]:g} s + {BUDGET_CPU[1]:g} s per MB, tracemalloc peak ≤ "
        f"{BUDGET_MEMORY[0]:g} MB + {BUDGET_MEMORY[1]:g} MB per MB. The ratio is the CPU time "
        "against a text/plain mail of the same size received in the same process.",
        "", *table, end])
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n## Pathological HTML\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
