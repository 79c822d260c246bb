"""The quickstart demo runs twice in a row on the same database (its second run used to stop
with "too many values to unpack": the first run's mail came in again as a repeat)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "demo.py"


def test_the_demo_runs_twice_on_one_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'helpdesk.sqlite3'}"
    for run in (1, 2):
        done = subprocess.run([sys.executable, str(DEMO), "--database-url", url],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, f"run {run}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        if run == 1:
            assert "dispatch: 4 sent" in done.stdout  # the stranger's ticket is acknowledged too
        else:  # within the hour, on the demo's clock: Klaus's autoresponder answered us, and
            # the stranger had their one acknowledgement of the hour
            assert "no acknowledgement          → automatic sender: " in done.stdout
            assert "dispatch: 1 sent, 0 to retry, 0 failed" in done.stdout
