"""The steps a plan is made of: declarative, each checking before it changes (idempotent).

How a step becomes commands on a VPS is the core's business (`chom.integration.plan_script`);
a plugin only builds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    """Base of every step; `describe()` is the line shown in a plan and in progress logs."""

    def describe(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class EnsureDirectory(Step):
    path: str
    owner: str | None = None
    mode: str = "0755"

    def describe(self) -> str:
        return f"ensure directory {self.path}"


@dataclass(frozen=True)
class PutFile(Step):
    """Write a file when its content differs; with `replace=False`, only when it is missing
    (a default page the site's owner may have replaced since)."""

    path: str
    content: str = field(repr=False)  # may hold secrets (wp-config.php, .env)
    owner: str | None = None
    mode: str = "0644"
    replace: bool = True

    def describe(self) -> str:
        return f"put file {self.path}" + ("" if self.replace else " (when missing)")


@dataclass(frozen=True)
class ExtractArchive(Step):
    """Unpack a tar archive into a directory. CHOM builds the archive itself from an upload
    it has validated (regular files and directories only, no path leaves the directory)."""

    path: str
    archive: bytes = field(repr=False)
    owner: str | None = None

    def describe(self) -> str:
        return f"extract {len(self.archive)} bytes of content into {self.path}"


@dataclass(frozen=True)
class EnsureOwner(Step):
    """Give a tree to the site's user (and its group). Skipped on a VPS whose profile does not
    manage system users (a sandbox)."""

    path: str
    owner: str

    def describe(self) -> str:
        return f"ensure {self.path} belongs to {self.owner}"


@dataclass(frozen=True)
class RemovePath(Step):
    path: str

    def describe(self) -> str:
        return f"remove {self.path}"


@dataclass(frozen=True)
class RunCommand(Step):
    """An argv command (never a shell string). `creates`: skip when that path exists;
    `only_if_exists`: skip unless that path exists (say, `composer install` only for an app
    with a `composer.lock`)."""

    argv: tuple[str, ...]
    creates: str | None = None
    run_as: str | None = None
    only_if_exists: str | None = None

    def describe(self) -> str:
        return "run " + " ".join(self.argv)


@dataclass(frozen=True)
class EnsureSystemUser(Step):
    name: str
    home: str

    def describe(self) -> str:
        return f"ensure system user {self.name}"


@dataclass(frozen=True)
class RemoveSystemUser(Step):
    name: str

    def describe(self) -> str:
        return f"remove system user {self.name}"


@dataclass(frozen=True)
class EnsureDatabase(Step):
    """A MariaDB database and its user; the password comes from the core's secret store."""

    name: str
    user: str
    password: str = field(repr=False)

    def describe(self) -> str:
        return f"ensure database {self.name} (user {self.user})"


@dataclass(frozen=True)
class DropDatabase(Step):
    name: str
    user: str

    def describe(self) -> str:
        return f"drop database {self.name} and user {self.user}"


@dataclass(frozen=True)
class RunSql(Step):
    """SQL statements run in the site's database through the VPS's administrative client.

    Not idempotent by itself: a plugin writes statements that converge (or runs them only in
    a plan applied once, such as a restore). Quote values with `sql_string`."""

    database: str
    sql: str

    def describe(self) -> str:
        return f"run SQL in {self.database}"


def sql_string(value: str) -> str:
    """`value` as a MariaDB string literal (backslash and quote escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass(frozen=True)
class EnsurePhpPool(Step):
    name: str
    user: str
    php_version: str
    config: str

    def describe(self) -> str:
        return f"ensure php{self.php_version}-fpm pool {self.name}"


@dataclass(frozen=True)
class RemovePhpPool(Step):
    name: str
    php_version: str

    def describe(self) -> str:
        return f"remove php{self.php_version}-fpm pool {self.name}"


@dataclass(frozen=True)
class EnsureNginxSite(Step):
    """A server block; the executor runs `nginx -t` before reloading and rolls back on failure."""

    name: str
    config: str

    def describe(self) -> str:
        return f"ensure nginx site {self.name}"


@dataclass(frozen=True)
class RemoveNginxSite(Step):
    name: str

    def describe(self) -> str:
        return f"remove nginx site {self.name}"


@dataclass(frozen=True)
class ReloadService(Step):
    """Reload a service by its role (`nginx`, `php-fpm`); the VPS profile says how."""

    service: str
    php_version: str | None = None

    def describe(self) -> str:
        return f"reload {self.service}"


@dataclass(frozen=True)
class Plan:
    """An ordered list of steps for one action on one site."""

    action: str
    steps: tuple[Step, ...]

    def describe(self) -> list[str]:
        return [step.describe() for step in self.steps]
