"""What every command group shares: exit codes, loading the host's settings, opening the
database without ever creating one, progress feedback and the stop signals of ``--loop``."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import re
import signal
import sys
import sysconfig
import threading
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import attrs

from helpdesk_core.errors import SchemaError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from helpdesk_core.app import Helpdesk
    from helpdesk_core.ports import Storage
    from helpdesk_core.settings import Settings

OK = 0
FAILED = 1  # the work failed, something asked for was not found, the schema is behind
USAGE = 2  # the command line, the settings or the database named cannot be used (as argparse)
INTERRUPTED = 130  # stopped with Ctrl-C outside --loop (128 + SIGINT)

UPGRADE_HINT = "create or upgrade it with: helpdesk db upgrade"


class CliError(Exception):
    """An operator's mistake or a result to report: one line on stderr and an exit code."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code


def say(text: str = "") -> None:
    print(text, flush=True)


def warn(text: str) -> None:
    print(f"helpdesk: {text}", file=sys.stderr, flush=True)


# -- settings ---------------------------------------------------------------------------------


def add_database_options(parser: argparse.ArgumentParser, *, settings_required: bool) -> None:
    """``--settings`` (the host's Settings) and ``--database-url``, which wins over both the
    settings and ``HELPDESK_DATABASE_URL``."""
    parser.add_argument(
        "--settings", required=settings_required, metavar="MODULE:NAME",
        help="the host's Settings object or a function returning one: a module "
             "(package.module:name, found from the current directory too) or a file "
             "(path/to/settings.py:name)" + ("" if settings_required else
                                              "; default: the HELPDESK_* environment"))
    parser.add_argument("--database-url", metavar="URL",
                        help="the database, instead of the settings' or HELPDESK_DATABASE_URL")


@attrs.frozen
class Target:
    """The settings a command runs with, and where their database URL came from."""

    settings: Settings
    source: str

    @property
    def database(self) -> str:
        return f"{safe_url(self.settings.database_url)} ({self.source})"


def target(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Target:
    from helpdesk_core.settings import DEFAULT_DATABASE_URL, Settings

    env = os.environ if environ is None else environ
    if args.settings:
        settings = load_settings(args.settings)
        source = f"from --settings {args.settings}"
    else:
        settings = Settings.from_env()
        source = ("from HELPDESK_DATABASE_URL" if env.get("HELPDESK_DATABASE_URL")
                  else f"the default {DEFAULT_DATABASE_URL}: HELPDESK_DATABASE_URL is not set")
    if args.database_url:
        settings = attrs.evolve(settings, database_url=args.database_url)
        source = "from --database-url"
    return Target(settings, source)


def load_settings(spec: str) -> Settings:
    """``package.module:name`` (the current directory is searched first, as ``python -m``
    does) or ``path/to/settings.py:name``; ``name`` may be a function returning Settings."""
    from helpdesk_core.settings import Settings

    where, colon, attribute = spec.rpartition(":")
    if not colon or not where or not all(p.isidentifier() for p in attribute.split(".")):
        raise CliError(f"--settings {spec!r} must look like package.module:name or "
                       "path/to/settings.py:name")
    module = _import_file(spec, where) if _is_path(where) else _import_module(spec, where)
    value: Any = module
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise CliError(f"cannot load {spec}: {module.__name__} has no {attribute!r}") from None
    if callable(value) and not isinstance(value, Settings):
        try:
            value = value()
        except Exception as exc:
            raise CliError(f"cannot load {spec}: {_one_line(exc)}") from None
    if not isinstance(value, Settings):
        raise CliError(f"{spec} is not a Settings object (nor a function returning one) "
                       f"but {type(value).__name__}")
    return value


def _is_path(where: str) -> bool:
    return where.endswith(".py") or "/" in where or os.sep in where


def _import_module(spec: str, name: str) -> ModuleType:
    if not all(part.isidentifier() for part in name.split(".")):
        raise CliError(f"--settings {spec!r}: {name!r} is neither a module name nor a .py file")
    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.insert(0, here)  # what `python -m` does; the helpdesk script's path has not
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(f"{exc.name}.")):
            raise CliError(f"cannot load {spec}: no module named {exc.name!r} in the current "
                           f"directory ({here}) or on the import path") from None
        raise CliError(f"cannot load {spec}: {_one_line(exc)}") from None
    except Exception as exc:
        raise CliError(f"cannot load {spec}: {_one_line(exc)}") from None


def _import_file(spec: str, where: str) -> ModuleType:
    path = Path(where).expanduser().resolve()
    if not path.is_file():
        raise CliError(f"cannot load {spec}: there is no file {path}")
    name = path.stem if path.stem.isidentifier() else "helpdesk_settings"
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__file__", None) != str(path):
        name = f"_helpdesk_settings_{abs(hash(str(path)))}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise CliError(f"cannot load {spec}: {path} is not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))  # its neighbours import, as for a script
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise CliError(f"cannot load {spec}: {_one_line(exc)}") from None
    return module


def _one_line(exc: BaseException) -> str:
    """``file, line N: Type: message`` — the place that matters, without a traceback."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, SyntaxError):
        text = f"{type(exc).__name__}: {exc.msg}"
        if exc.filename:
            return f"{exc.filename}, line {exc.lineno}: {text}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith("<")]
    library = _library_dirs()
    own = [f for f in frames if not os.path.abspath(f.filename).startswith(library)]
    chosen = (own or frames)[-1:]  # the innermost line of the host's code, if there is one
    if not chosen:
        return text
    return f"{chosen[0].filename}, line {chosen[0].lineno}: {text}"


def _library_dirs() -> tuple[str, ...]:
    """The standard library, installed packages and the helpdesk itself: not the place a
    mistake in the settings is."""
    paths = {sysconfig.get_path(kind) for kind in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.add(str(Path(__file__).parents[1]))
    return tuple(os.path.join(os.path.abspath(p), "") for p in paths if p)


def safe_url(url: str) -> str:
    """The URL without its password."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


# -- the database -----------------------------------------------------------------------------


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names, or None for another database or one in memory."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0].lower() != "sqlite":
        return None
    database = rest[1:] if rest.startswith("/") else rest  # sqlite:///x: empty host, then x
    database, _, query = database.partition("?")
    if database in ("", ":memory:") or "mode=memory" in query or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


def require_database(where: Target, *, code: int = USAGE) -> None:
    """Refuse a SQLite file that does not exist: connecting would create an empty one."""
    if where.settings.storage == "memory":  # the built-in storage has no database
        return
    path = sqlite_file(where.settings.database_url)
    if path is not None and not path.is_file():
        raise CliError(f"no database at {path} — {where.database}; name the database with "
                       "--database-url or HELPDESK_DATABASE_URL, or " + UPGRADE_HINT, code)


def revisions(storage: Storage) -> tuple[str | None, str] | None:
    """(current, newest) from a storage whose schema has versions, else None."""
    read = getattr(storage, "schema_revision", None)
    if not callable(read):
        return None
    current, head = read()
    return (None if current is None else str(current)), str(head)


def open_storage(settings: Settings) -> Storage:
    """The storage the settings name, built without bootstrap (and without migrating)."""
    from helpdesk_core.plugins import Hooks, make_plugin_manager
    from helpdesk_core.settings import AUTOLOAD_OFF, blocked_plugins_from

    autoload = settings.autoload_plugins and os.environ.get(AUTOLOAD_OFF, "").strip().lower() \
        not in {"1", "true", "yes", "on"}
    manager = make_plugin_manager(
        autoload=autoload, blocked=settings.blocked_plugins | blocked_plugins_from(os.environ))
    return Hooks(manager).register().storages.create(settings.storage, settings)


@contextlib.contextmanager
def existing_helpdesk(where: Target) -> Iterator[Helpdesk]:
    """The helpdesk on a database that exists and is up to date; never creates or migrates."""
    from helpdesk_core.bootstrap import bootstrap

    require_database(where)
    try:
        helpdesk = bootstrap(attrs.evolve(where.settings, migrate=False))
    except SchemaError as error:  # said the way the command line says it
        _refuse_schema(where, error.current, error.required)
    with helpdesk:
        found = revisions(helpdesk.storage)  # a storage that does not check at bootstrap
        if found is not None and found[0] != found[1]:
            _refuse_schema(where, *found)
        yield helpdesk


def _refuse_schema(where: Target, current: str | None, head: str | None) -> NoReturn:
    state = ("has no helpdesk schema" if current is None
             else f"is at revision {current}, this version needs {head}")
    raise CliError(f"the database {where.database} {state}; {UPGRADE_HINT}")


# -- feedback ---------------------------------------------------------------------------------


def _terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False


class Bar:
    """A progress bar on a terminal (stderr); nothing otherwise."""

    def __init__(self, progress: Progress | None = None, task: TaskID | None = None) -> None:
        self._progress = progress
        self._task = task

    def update(self, completed: int, total: int | None = None,
               description: str | None = None) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=completed, total=total,
                                  description=description)

    def advance(self, amount: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, amount)


@contextlib.contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Bar]:
    """A bar on stderr while the block runs, when stderr is a terminal; gone afterwards, so
    that the summary line the command prints is all that stays."""
    stream = sys.stderr
    if not _terminal(stream):
        yield Bar()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(file=stream, force_terminal=True),
                  transient=True) as bar:
        yield Bar(bar, bar.add_task(description, total=total))


# -- --loop -----------------------------------------------------------------------------------


def add_loop_options(parser: argparse.ArgumentParser, *, what: str, interval: float) -> None:
    parser.add_argument("--loop", action="store_true",
                        help=f"{what} again and again until SIGINT or SIGTERM (exit 0)")
    parser.add_argument("--interval", type=_seconds, default=interval, metavar="SECONDS",
                        help=f"pause between passes with --loop (default {interval:g})")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return value


class StopSignals:
    """SIGINT and SIGTERM ask a loop to stop after the pass it is in; a second one stops it
    at once (KeyboardInterrupt). The previous handlers come back afterwards."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        for number in self.SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self._stop.is_set():
            raise KeyboardInterrupt
        self._stop.set()
        warn(f"{signal.Signals(number).name}: stopping after this pass (again: at once)")

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep between passes; True when a signal asked to stop."""
        return self._stop.wait(seconds)
