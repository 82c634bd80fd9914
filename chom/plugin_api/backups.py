"""What a backup of a site is made of: declarative parts, each one object in backup storage.

A site type lists its parts (`SiteType.backup_parts`); the core turns each into the argv
command whose standard output is streamed from the VPS to storage, and the one that takes the
same bytes on standard input to restore it (`chom.integration.backup_commands`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackupPart:
    """Base of every part; `name` is the object's name inside the backup (unique in it)."""

    name: str

    def describe(self) -> str:
        return f"{type(self).__name__} {self.name}"


@dataclass(frozen=True)
class DatabaseDump(BackupPart):
    """The site's MariaDB database: `mysqldump --single-transaction` (a consistent snapshot of
    InnoDB tables without locking them); restoring replays the dump into the database."""

    database: str = ""

    def describe(self) -> str:
        return f"dump database {self.database} as {self.name}"


@dataclass(frozen=True)
class DirectoryArchive(BackupPart):
    """A directory (the web root) as a gzip-compressed tar archive; restoring unpacks it over
    the directory, bringing back every file the archive holds."""

    path: str = ""

    def describe(self) -> str:
        return f"archive {self.path} as {self.name}"
