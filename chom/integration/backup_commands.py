"""How each kind of backup part is read from and written back to a VPS: argv commands only.

The database is dumped and replayed through the VPS profile's administrative client (the
`mysqldump` and `mysql` commands of its profile, the same connection plans use), so a VPS whose
MariaDB listens on a socket of its own (the test fleet) is reached the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from chom.integration.plan_script import DEFAULT_COMMANDS, _sql_name
from chom.plugin_api import BackupPart, DatabaseDump, DirectoryArchive


def _commands(profile: dict) -> dict:
    return {**DEFAULT_COMMANDS, **profile.get("commands", {})}


def _dump_database(part: DatabaseDump, profile: dict) -> list[str]:
    # --single-transaction: one consistent InnoDB snapshot, no table locks; --quick: rows are
    # written as they are read, never buffered whole by mysqldump itself.
    return [*_commands(profile)["mysqldump"], "--single-transaction", "--quick",
            "--routines", "--triggers", _sql_name(part.database)]


def _restore_database(part: DatabaseDump, profile: dict) -> list[str]:
    return [*_commands(profile)["mysql"], _sql_name(part.database)]


def _archive_directory(part: DirectoryArchive, profile: dict) -> list[str]:
    return [*_commands(profile)["tar"], "--create", "--gzip", "--file=-",
            "--directory", part.path, "."]


def _unpack_directory(part: DirectoryArchive, profile: dict) -> list[str]:
    return [*_commands(profile)["tar"], "--extract", "--gzip", "--file=-",
            "--directory", part.path, "--no-same-owner"]


# part type → (command writing it to stdout, command reading it from stdin)
COMMANDS: dict[type[BackupPart], tuple[Callable, Callable]] = {
    DatabaseDump: (_dump_database, _restore_database),
    DirectoryArchive: (_archive_directory, _unpack_directory),
}


def dump_argv(part: BackupPart, profile: dict) -> list[str]:
    """The command whose standard output is the part's content."""
    return COMMANDS[type(part)][0](part, profile)


def restore_argv(part: BackupPart, profile: dict) -> list[str]:
    """The command that puts the part's content (on its standard input) back in place."""
    return COMMANDS[type(part)][1](part, profile)
