"""The ``helpdesk`` command line: each test in an empty working directory of its own, without
the caller's ``HELPDESK_*`` environment; settings modules it writes are forgotten afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpdesk_core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

SLA_SETTINGS = '''
import os
from datetime import timedelta

from helpdesk_core import Settings
from helpdesk_core.sla import (BusinessCalendar, EscalationLevel, PolicySelector, SlaConfig,
                               SlaPolicy, SlaTarget, TargetKind)

POLICY = SlaPolicy("quick", BusinessCalendar.weekly("UTC", {{"mon-sun": "00:00-24:00"}}),
                   targets=[SlaTarget.uniform(TargetKind.RESOLUTION, timedelta(seconds={seconds}))],
                   escalation=[EscalationLevel(0.5, ["manager"])])
settings = Settings(database_url={url!r},
                    sla=SlaConfig(selector=PolicySelector.standard(default=POLICY),
                                  addresses={{"manager": "boss@shop.example"}}))
'''


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith("HELPDESK_") and name != "HELPDESK_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if Path(getattr(sys.modules[name], "__file__", None) or "/").is_relative_to(tmp_path):
            del sys.modules[name]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def sla_settings(path: Path, url: str, *, seconds: float = 8 * 3600) -> Path:
    """A host's settings module with one SLA policy whose 50 % level is ``seconds / 2`` away."""
    return write(path, SLA_SETTINGS.format(url=url, seconds=seconds))


def settings_in(path: Path) -> Settings:
    """The ``settings`` a module written by a test holds, loaded the way a host would."""
    namespace: dict[str, object] = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    settings = namespace["settings"]
    assert isinstance(settings, Settings)
    return settings


def open_tickets(settings_file: Path, count: int) -> None:
    from helpdesk_core.bootstrap import bootstrap

    with bootstrap(settings_in(settings_file), environ={}) as desk:
        for n in range(count):
            desk.tickets.open_from_web_form({"email": f"c{n}@example.cz", "message": "Konvice"})


def run(*args: str, cwd: Path, script: bool = False,
        **kwargs: object) -> subprocess.CompletedProcess[str]:
    """``python -m helpdesk_core.cli ARGS`` (or the installed ``helpdesk`` script) in ``cwd``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HELPDESK_") or k == "HELPDESK_TEST_DATABASE_URL"}
    command = ([str(Path(sys.executable).parent / "helpdesk")] if script
               else [sys.executable, "-m", "helpdesk_core.cli"])
    return subprocess.run([*command, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False, **kwargs)  # type: ignore[call-overload]
