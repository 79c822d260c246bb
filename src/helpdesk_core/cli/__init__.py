"""The ``helpdesk`` command line: the operator's tools (``python -m helpdesk_core.cli`` too).

::

    helpdesk --version
    helpdesk mail inspect FILE ...            what the parser makes of raw mails; no database
    helpdesk mail fetch --settings M:N        every configured mail account once (or --loop)
    helpdesk mail quarantine                  quarantined mail and why; mail not acknowledged
    helpdesk mail reprocess [--key KEY ...]   run quarantined mail again
    helpdesk outbox dispatch --settings M:N   send what is due (or --loop)
    helpdesk sla sweep --settings M:N         fire due escalations (--until-done: all of them)
    helpdesk sla recompute --settings M:N     rebuild deadlines after a policy change
    helpdesk db upgrade                       create the schema or bring it up to date
    helpdesk db current                       the schema's revision and the newest

``--settings package.module:name`` (or ``path/to/settings.py:name``) loads the host's
``Settings`` — or a function returning them — for the commands that need Python values (SLA
policies, mail accounts, senders); the current directory is searched first, as ``python -m``
does. The commands that need only the database take ``--settings``, or ``--database-url``, or
the ``HELPDESK_*`` environment (``HELPDESK_DATABASE_URL`` ...). Only ``db upgrade`` creates or
migrates a database: every other command refuses a SQLite file that does not exist and a schema
that is missing or behind, naming the database it looked for.

Long work shows a progress bar on stderr when it is a terminal; every command ends with a
summary on stdout. Exit codes: 0 done; 1 the work failed, something asked for was not found, or
(``db current``) the schema is missing or behind; 2 the command line, the settings or the
database named cannot be used; 130 interrupted. Every error is one line on stderr starting
with ``helpdesk:``. The reference: docs/reference/cli.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from helpdesk_core.cli import db, mail, outbox, sla
from helpdesk_core.cli._shared import FAILED, INTERRUPTED, USAGE, CliError, warn
from helpdesk_core.errors import ConfigurationError, HelpdeskError, PluginError

__all__ = ["main"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"helpdesk-core {version('helpdesk-core')}"
    except PackageNotFoundError:
        return "helpdesk-core (not installed: version unknown)"


def parser() -> argparse.ArgumentParser:
    """The whole command line; each group module adds its commands."""
    top = argparse.ArgumentParser(
        prog="helpdesk", description="helpdesk_core operator tools",
        epilog="exit codes: 0 done, 1 the work failed or was not found, 2 wrong command line, "
               "settings or database, 130 interrupted")
    top.add_argument("--version", action="version", version=_version())
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (mail, outbox, sla, db):
        group.add_commands(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code.
    A usage error exits through argparse with 2."""
    args = parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except CliError as exc:
        warn(str(exc))
        return exc.code
    except (ConfigurationError, PluginError) as exc:
        warn(str(exc))
        return USAGE
    except HelpdeskError as exc:
        warn(f"{exc}")
        return FAILED
    except KeyboardInterrupt:
        warn("interrupted")
        return INTERRUPTED


if __name__ == "__main__":  # pragma: no cover - python -m runs __main__.py
    sys.exit(main())
