"""``--settings``: a module found from the current directory (as ``python -m`` finds it) or a
file path; a settings module that cannot load is one line — file, line, error — and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.conftest import run, write

from helpdesk_core.bootstrap import bootstrap
from helpdesk_core.cli import main
from helpdesk_core.settings import Settings


@pytest.fixture
def database(workdir: Path) -> str:
    url = f"sqlite:///{workdir / 'desk.sqlite3'}"
    bootstrap(Settings(database_url=url), environ={}).close()
    return url


def settings_source(url: str) -> str:
    return f"from helpdesk_core import Settings\n\nsettings = Settings(database_url={url!r})\n"


def test_a_module_in_the_current_directory_is_found(
        workdir: Path, database: str, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir / "shop" / "__init__.py", "")
    write(workdir / "shop" / "helpdesk_conf.py", settings_source(database))
    write(workdir / "flat_conf.py", settings_source(database))
    for spec in ("shop.helpdesk_conf:settings", "flat_conf:settings"):
        assert main(["mail", "quarantine", "--settings", spec]) == 0, capsys.readouterr().err
        assert capsys.readouterr().out == "no quarantined mail\n"


def test_a_file_path_is_loaded_with_its_folder_on_the_path(
        workdir: Path, database: str, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir / "conf" / "common_part.py", f"URL = {database!r}\n")
    write(workdir / "conf" / "live.py", """
        from common_part import URL

        from helpdesk_core import Settings


        def build():
            return Settings(database_url=URL)
        """)
    assert main(["mail", "quarantine", "--settings", "conf/live.py:build"]) == 0
    assert capsys.readouterr().out == "no quarantined mail\n"
    assert main(["mail", "quarantine", "--settings", f"{workdir}/conf/live.py:build"]) == 0


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def test_a_syntax_error_is_one_line_with_file_and_line(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = write(workdir / "broken_conf.py", "import os\n\nsettings = Settings(\n")
    for spec in ("broken_conf:settings", "broken_conf.py:settings"):
        err = _error(capsys, ["mail", "quarantine", "--settings", spec])
        assert err.startswith(f"helpdesk: cannot load {spec}: {broken}, line 3: SyntaxError: ")


def test_a_settings_module_that_raises_is_one_line_with_its_own_line(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = write(workdir / "raising_conf.py", """
        import os

        PASSWORD = os.environ["SHOP_MAIL_PASSWORD_FOR_THE_TEST"]
        """)
    err = _error(capsys, ["sla", "sweep", "--settings", "raising_conf:settings"])
    assert err == (f"helpdesk: cannot load raising_conf:settings: {conf}, line 3: "
                   "KeyError: 'SHOP_MAIL_PASSWORD_FOR_THE_TEST'\n")


def test_a_settings_function_that_raises_is_one_line(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = write(workdir / "factory_conf.py", """
        from helpdesk_core import Settings


        def settings():
            return Settings(template_timezone="Mars/Olympus")
        """)
    err = _error(capsys, ["db", "current", "--settings", "factory_conf:settings"])
    assert err.startswith(f"helpdesk: cannot load factory_conf:settings: {conf}, line 5: "
                          "ConfigurationError: template_timezone 'Mars/Olympus'")


def test_what_is_not_settings_is_named(workdir: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir / "odd_conf.py", "settings = 42\n")
    cases = {
        "odd_conf:settings": "helpdesk: odd_conf:settings is not a Settings object (nor a "
                             "function returning one) but int\n",
        "odd_conf:other": "helpdesk: cannot load odd_conf:other: odd_conf has no 'other'\n",
        "odd_conf": "helpdesk: --settings 'odd_conf' must look like package.module:name or "
                    "path/to/settings.py:name\n",
        "nowhere/conf.py:settings": f"helpdesk: cannot load nowhere/conf.py:settings: there is "
                                    f"no file {workdir / 'nowhere' / 'conf.py'}\n",
        "no_such_conf:settings": "helpdesk: cannot load no_such_conf:settings: no module named "
                                 f"'no_such_conf' in the current directory ({workdir}) or on "
                                 "the import path\n",
    }
    for spec, message in cases.items():
        assert _error(capsys, ["mail", "quarantine", "--settings", spec]) == message


def test_the_helpdesk_script_finds_a_module_in_the_current_directory(
        workdir: Path, database: str) -> None:
    """The installed script's sys.path starts with its own folder, not the working one."""
    write(workdir / "script_conf.py", settings_source(database))
    done = run("mail", "quarantine", "--settings", "script_conf:settings", cwd=workdir,
               script=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "no quarantined mail\n", "")
    broken = write(workdir / "script_broken.py", "settings = (\n")
    done = run("db", "current", "--settings", "script_broken:settings", cwd=workdir,
               script=True)
    assert done.returncode == 2
    assert done.stderr.startswith(f"helpdesk: cannot load script_broken:settings: {broken}, "
                                  "line 1: SyntaxError: ")
    assert len(done.stderr.splitlines()) == 1
