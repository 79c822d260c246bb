"""Long work shows a progress bar when stderr is a terminal, and one summary line otherwise."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import open_tickets, run, sla_settings

TICKETS = 120


def _tickets(workdir: Path) -> None:
    open_tickets(sla_settings(workdir / "conf.py", "sqlite:///desk.sqlite3"), TICKETS)


def _on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal; returns (exit code, stdout, what the terminal got)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    primary, secondary = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "helpdesk_core.cli", *args], cwd=cwd,
                               env=env, stdout=subprocess.PIPE, stderr=secondary)
    os.close(secondary)
    shown = b""
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # the other side closed
            break
        if not data:
            break
        shown += data
    os.close(primary)
    assert process.stdout is not None
    out = process.stdout.read().decode()
    return process.wait(timeout=60), out, shown.decode(errors="replace")


def test_recompute_shows_a_bar_on_a_terminal(workdir: Path) -> None:
    _tickets(workdir)
    code, out, terminal = _on_a_terminal(["sla", "recompute", "--settings", "conf:settings"],
                                         workdir)
    assert (code, out) == (0, f"recomputed {TICKETS} ticket(s)\n")
    assert "recomputing" in terminal
    assert "━" in terminal  # the bar itself


def test_without_a_terminal_there_is_one_summary_line(workdir: Path) -> None:
    _tickets(workdir)
    done = run("sla", "recompute", "--settings", "conf:settings", cwd=workdir)
    assert (done.returncode, done.stdout, done.stderr) == (
        0, f"recomputed {TICKETS} ticket(s)\n", "")
    done = run("sla", "sweep", "--settings", "conf:settings", "--until-done", cwd=workdir)
    assert (done.returncode, done.stdout, done.stderr) == (
        0, "due 0, fired 0, notified 0, conflicts 0\n", "")
