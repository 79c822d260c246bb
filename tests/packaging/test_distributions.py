"""The distributions a host depends on: versions, the ranges between the core and its adapters,
the extras, the licence, and an install from a checkout into a fresh virtual environment."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import helpdesk_core
from helpdesk_core.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = sorted(p.parent for p in ROOT.glob("adapters/*/pyproject.toml"))


def _project(folder: Path) -> dict[str, Any]:
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]


def _next_minor(version: Version) -> Version:
    return Version(f"{version.major}.{version.minor + 1}")


def test_the_version_is_one_value_in_code_and_metadata():
    assert metadata.version("helpdesk-core") == helpdesk_core.__version__
    assert "version" in _project(ROOT)["dynamic"]  # read from __init__.py by the build


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda p: p.name)
def test_each_adapter_requires_a_core_of_its_minor_series(adapter):
    project = _project(adapter)
    core = [Requirement(r) for r in project["dependencies"]
            if Requirement(r).name == "helpdesk-core"]
    assert len(core) == 1, f"{adapter.name} must depend on helpdesk-core exactly once"
    ours = Version(helpdesk_core.__version__)
    assert core[0].specifier.contains(ours), f"{adapter.name} refuses core {ours}"
    assert not core[0].specifier.contains(_next_minor(ours)), \
        f"{adapter.name} must not accept the next minor core, which may break it"


def test_core_extras_pull_in_compatible_adapters():
    extras = _project(ROOT)["optional-dependencies"]
    versions = {_project(a)["name"]: Version(str(_project(a)["version"])) for a in ADAPTERS}
    for extra in ("sqlalchemy", "postgresql", "mail", "sms", "telephony"):
        for line in extras[extra]:
            requirement = Requirement(line)
            assert requirement.specifier.contains(versions[requirement.name]), line
            assert not requirement.specifier.contains(_next_minor(versions[requirement.name]))


def test_every_distribution_carries_the_mit_licence():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    for folder in [ROOT, *ADAPTERS]:
        assert _project(folder)["license"] == "MIT"
        assert (folder / "LICENSE").read_text() == text, f"{folder.name}/LICENSE differs"


def test_an_adapter_that_is_not_installed_is_named_with_its_distribution(monkeypatch):
    from helpdesk_core import Settings, bootstrap
    from helpdesk_core.plugins import registry

    monkeypatch.setattr(registry, "_installed", lambda distribution: False)
    with pytest.raises(ConfigurationError) as caught:
        bootstrap(Settings(autoload_plugins=False))
    assert "no storage named 'sqlalchemy'" in str(caught.value)
    assert "helpdesk-sqlalchemy distribution" in str(caught.value)
    assert "helpdesk-core[sqlalchemy]" in str(caught.value)


def test_an_installed_adapter_whose_plugin_was_not_loaded_says_why():
    from helpdesk_core import Settings, bootstrap

    with pytest.raises(ConfigurationError, match="autoloading off"):
        bootstrap(Settings(autoload_plugins=False, storage="sqlalchemy"))


@pytest.mark.slow
def test_a_checkout_installs_into_a_fresh_environment(tmp_path):
    """What docs/how-to/install.md shows: wheels built from the checkout, the core with an
    extra, into a virtual environment that has nothing else (dependencies from the index)."""
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(ROOT),
                    str(ROOT / "adapters/helpdesk-sqlalchemy")], check=True)
    core_wheel = next(wheels.glob("helpdesk_core-*.whl"))
    sql_wheel = next(wheels.glob("helpdesk_sqlalchemy-*.whl"))
    with zipfile.ZipFile(core_wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(archive.read(name))
        assert any(n.endswith("licenses/LICENSE") for n in archive.namelist())
    assert meta["Version"] == helpdesk_core.__version__
    assert meta["License-Expression"] == "MIT"
    assert {"sqlalchemy", "postgresql", "mail", "sms", "telephony"} <= set(
        meta.get_all("Provides-Extra") or [])

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    subprocess.run([python, "-m", "pip", "--disable-pip-version-check", "-q", "install",
                    f"{core_wheel}[sqlalchemy]", str(sql_wheel)], check=True, env=env)
    database = tmp_path / "helpdesk.sqlite3"
    script = ("import helpdesk_core\n"
              "from helpdesk_core import Settings, bootstrap\n"
              f"with bootstrap(Settings(database_url='sqlite:///{database}')) as helpdesk:\n"
              "    ticket = helpdesk.tickets.open_from_web_form(\n"
              "        {'email': 'jana@example.cz', 'message': 'It broke.'})\n"
              "    print(helpdesk_core.__version__, ticket.number)\n")
    out = subprocess.run([python, "-c", script], check=True, env=env, cwd=tmp_path,
                         capture_output=True, text=True).stdout.split()
    assert out[0] == helpdesk_core.__version__
    assert out[1].startswith("HD-")
