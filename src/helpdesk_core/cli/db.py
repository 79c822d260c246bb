"""``helpdesk db``: create or upgrade the schema; show the revision it is at."""

from __future__ import annotations

import argparse

import attrs

from helpdesk_core.cli._shared import (
    FAILED,
    OK,
    UPGRADE_HINT,
    CliError,
    add_database_options,
    open_storage,
    require_database,
    revisions,
    say,
    target,
)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="the database schema: upgrade, current",
                             description="The helpdesk's database schema.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = db_commands.add_parser(
        "upgrade", help="create the schema, or bring it to the newest revision",
        description="Create the database and its schema, or bring the schema to the newest "
                    "revision. The only command that creates a database.")
    add_database_options(upgrade, settings_required=False)
    upgrade.set_defaults(run=_upgrade)
    current = db_commands.add_parser(
        "current", help="show the schema's revision and the newest (exit 1 when behind)",
        description="Show the revision the database's schema is at and the newest one this "
                    "version knows. Exit 1 when the database or its schema is missing or "
                    "behind. Reads only.")
    add_database_options(current, settings_required=False)
    current.set_defaults(run=_current)


def _upgrade(args: argparse.Namespace) -> int:
    from helpdesk_core.bootstrap import bootstrap

    where = target(args)
    storage = open_storage(where.settings)
    try:
        before = revisions(storage)
        # bootstrap migrates the storage and, when it is another adapter's, the template store
        with bootstrap(attrs.evolve(where.settings, migrate=True), storage=storage):
            after = revisions(storage)
    finally:
        storage.close()
    if before is None or after is None:
        say(f"the {where.settings.storage} storage keeps no schema versions: nothing to do")
    elif before[0] is None:
        say(f"created the schema at revision {after[0]} in {where.database}")
    elif before[0] != after[0]:
        say(f"upgraded {where.database} from revision {before[0]} to {after[0]}")
    else:
        say(f"{where.database} is at revision {after[0]}, the newest")
    return OK


def _current(args: argparse.Namespace) -> int:
    where = target(args)
    say(f"database: {where.database}")
    require_database(where, code=FAILED)
    storage = open_storage(where.settings)
    try:
        found = revisions(storage)
    finally:
        storage.close()
    if found is None:
        raise CliError(f"the {where.settings.storage} storage keeps no schema versions")
    current, head = found
    say(f"current:  {current or 'none (no helpdesk schema)'}")
    say(f"newest:   {head}")
    if current == head:
        return OK
    state = "has no helpdesk schema" if current is None else "is not at the newest revision"
    raise CliError(f"the database {state}; {UPGRADE_HINT}", FAILED)
