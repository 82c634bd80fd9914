"""The public plugin API: everything a CHOM plugin may import, and nothing else.

A site-type plugin implements hooks from `chom.hookspecs` with the `hookimpl` marker and
returns `SiteType` objects that turn a site into a `Plan` of declarative, idempotent steps.
The core decides how steps reach a VPS (a `Transport`); plugins never open connections.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import pluggy

from chom.plugin_api.backups import BackupPart, DatabaseDump, DirectoryArchive
from chom.plugin_api.observability import (
    AlertsBackend,
    BackendError,
    BackendUnavailable,
    DashboardsBackend,
    LogsBackend,
    MetricsBackend,
    ObservabilityBackend,
    SiteRef,
    TenantRef,
    Window,
)
from chom.plugin_api.steps import (
    DropDatabase,
    EnsureDatabase,
    EnsureDirectory,
    EnsureNginxSite,
    EnsureOwner,
    EnsurePhpPool,
    EnsureSystemUser,
    ExtractArchive,
    Plan,
    PutFile,
    ReloadService,
    RemoveNginxSite,
    RemovePath,
    RemovePhpPool,
    RemoveSystemUser,
    RunCommand,
    RunSql,
    Step,
    sql_string,
)

hookimpl = pluggy.HookimplMarker("chom")

PLAN_ACTIONS = ("provision", "deprovision", "suspend", "resume", "issue_ssl", "deploy")


# --- What a plugin is told about a site -----------------------------------------------------


@dataclass(frozen=True)
class SitePaths:
    """Where a site lives on its VPS; derived from the VPS profile, never from user input."""

    web_root: str
    nginx_site_name: str
    system_user: str
    php_pool_name: str
    php_socket: str
    database_name: str
    database_user: str
    #: where HTTP-01 challenge files go; served at /.well-known/acme-challenge/
    acme_challenge_dir: str
    #: where the site's certificate (full chain) and private key go once issued
    tls_certificate: str
    tls_key: str
    #: the site's own nginx logs (the log shipper takes the site from the file name)
    access_log: str = ""
    error_log: str = ""
    #: the site's own PHP error log, written by its pool's workers (PHP site types)
    php_error_log: str = ""
    #: where the VPS's logrotate reads its configuration
    logrotate_dir: str = "/etc/logrotate.d"


@dataclass(frozen=True)
class SiteContext:
    """A site as a plugin sees it: validated values only."""

    id: str
    domain: str
    type: str
    php_version: str | None
    options: Mapping[str, Any]
    paths: SitePaths
    database_password: str | None = field(default=None, repr=False)
    #: whether the site has a certificate at `paths.tls_certificate` (serve HTTPS too)
    tls_enabled: bool = False


def server_block_common(site: SiteContext, indent: str = "    ") -> str:
    """The lines every server block of a site must include, inside `server { ... }`: the
    site's own access and error logs, the location that answers ACME HTTP-01 challenges and,
    once the site has a certificate, the HTTPS listener. Site types that write their own
    server blocks put this in each one (and `remove_site_logs` in their deprovision plan)."""
    logs = [f"access_log {site.paths.access_log};", f"error_log {site.paths.error_log};"] \
        if site.paths.access_log else []
    lines = [
        *logs,
        "location ^~ /.well-known/acme-challenge/ {",
        f"    alias {site.paths.acme_challenge_dir}/;",
        "    default_type text/plain;",
        "}",
    ]
    if site.tls_enabled:
        lines = [
            "listen 443 ssl;",
            f"ssl_certificate {site.paths.tls_certificate};",
            f"ssl_certificate_key {site.paths.tls_key};",
            *lines,
        ]
    return "".join(f"{indent}{line}\n" for line in lines)


def remove_site_logs(site: SiteContext) -> tuple[Step, ...]:
    """The steps that remove the site's logs, for the end of a deprovision plan (after the
    reloads that stop nginx and PHP-FPM writing them)."""
    paths = site.paths
    return tuple(RemovePath(path) for path in (paths.access_log, paths.error_log,
                                               paths.php_error_log) if path)


# PHP logs its workers' errors where the pool says; logrotate truncates in place, as PHP keeps
# the file open. One file for every site of the VPS, the same bytes from each plan.
PHP_LOGROTATE = """{directory}/*.log {{
    weekly
    rotate 8
    compress
    delaycompress
    missingok
    notifempty
    copytruncate
}}
"""


def php_pool_logging(site: SiteContext) -> str:
    """The lines a PHP site type's pool configuration ends with: its workers' errors go to the
    site's own log (`php_site_log_steps` makes it)."""
    if not site.paths.php_error_log:
        return ""
    return (f"php_admin_value[error_log] = {site.paths.php_error_log}\n"
            "php_admin_flag[log_errors] = on\n")


def php_pool_config(site: SiteContext) -> str:
    """A php-fpm pool for the site: its own user, a socket only nginx may use, workers on
    demand, errors to the site's own log. For `EnsurePhpPool`."""
    paths = site.paths
    return (
        f"[{paths.php_pool_name}]\n"
        f"user = {paths.system_user}\n"
        f"group = {paths.system_user}\n"
        f"listen = {paths.php_socket}\n"
        "listen.owner = www-data\n"
        "listen.group = www-data\n"
        "listen.mode = 0660\n"
        "pm = ondemand\n"
        "pm.max_children = 5\n"
        "pm.process_idle_timeout = 10s\n"
        "pm.max_requests = 500\n"
        f"{php_pool_logging(site)}"
    )


def php_site_log_steps(site: SiteContext) -> tuple[Step, ...]:
    """The steps that make the site's PHP error log, writable by its user only, and keep the
    VPS's logs of this kind rotated; for a PHP site type's provision plan, after its user."""
    log = site.paths.php_error_log
    if not log:
        return ()
    directory = log.rsplit("/", 1)[0]
    return (
        EnsureDirectory(directory),
        PutFile(log, "", owner=site.paths.system_user, mode="0640", replace=False),
        PutFile(f"{site.paths.logrotate_dir}/chom-php-sites",
                PHP_LOGROTATE.format(directory=directory)),
    )


@dataclass(frozen=True)
class HealthProbe:
    """How to tell the site answers: an HTTP GET on the site's domain."""

    path: str = "/"
    expect_status: int = 200
    expect_text: str | None = None


class SiteType(ABC):
    """A kind of site (HTML, WordPress, Laravel, ...). Subclass it and return an instance
    from `chom_register_site_types`."""

    #: machine name, used in the API (`"type": "html"`)
    name: str
    #: what the console shows
    label: str
    #: whether sites of this type run PHP (and so take a `php_version`)
    uses_php: bool = False
    #: JSON Schema (draft 2020-12) of the `options` a site of this type accepts
    options_schema: Mapping[str, Any] = {"type": "object", "additionalProperties": False}
    #: whether the site needs a database (the core generates and stores its password)
    needs_database: bool = False
    #: whether owners may upload content (an archive unpacked into the web root)
    accepts_content: bool = False

    @abstractmethod
    def provision_plan(self, site: SiteContext) -> Plan:
        """Steps that bring the site to serving state."""

    @abstractmethod
    def deprovision_plan(self, site: SiteContext) -> Plan:
        """Steps that remove every trace of the site from its VPS."""

    def suspend_plan(self, site: SiteContext) -> Plan:
        """Steps that make the VPS answer a suspended page for the site."""
        return Plan("suspend", ())

    def resume_plan(self, site: SiteContext) -> Plan:
        """Steps that undo `suspend_plan`."""
        return self.provision_plan(site)

    def deploy_plan(self, site: SiteContext) -> Plan | None:
        """Steps that bring the site's code up to date from where it comes from (a git
        repository, say) and put it to work; None (the default) when the site has nothing to
        deploy. A failed deploy fails only itself: the site keeps serving what it served."""
        return None

    def health_probe(self, site: SiteContext) -> HealthProbe:
        return HealthProbe()

    def backup_parts(self, site: SiteContext) -> tuple[BackupPart, ...]:
        """What a backup of the site holds: by default its database (when the type has one)
        and its web root. Each part is streamed from the VPS to storage as one object."""
        parts: list[BackupPart] = []
        if self.needs_database:
            parts.append(DatabaseDump("database.sql", database=site.paths.database_name))
        parts.append(DirectoryArchive("webroot.tar.gz", path=site.paths.web_root))
        return tuple(parts)

    def restore_plan(self, site: SiteContext, *, source_domain: str) -> Plan:
        """Steps applied once a backup's parts are back on the VPS: by default the provision
        plan (it rewrites the site's own configuration over the restored files and converges
        owners, pools and server blocks). `source_domain` is the domain of the site the backup
        was taken from: another one when restoring into a clone, whose URLs a type may rewrite.
        """
        return Plan("restore", self.provision_plan(site).steps)

    def plan_for(self, action: str, site: SiteContext) -> Plan | None:
        """The plan for one of `PLAN_ACTIONS` (None: `deploy` on a site with nothing to
        deploy)."""
        builders = {
            "provision": self.provision_plan,
            "deprovision": self.deprovision_plan,
            "suspend": self.suspend_plan,
            "resume": self.resume_plan,
            "deploy": self.deploy_plan,
        }
        return builders[action](site)


# --- Transports (built-ins use the same hooks); observability backends: observability.py ---


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str


class TransportUnavailable(RuntimeError):
    """The VPS could not be reached, or the connection dropped: a retry may succeed."""


class HostKeyMismatch(RuntimeError):
    """The VPS presented a host key other than the pinned one: never connect, never retry."""


class Transport(ABC):
    """How commands reach a VPS. One instance serves one VPS and may be reused across jobs.

    `run` raises `TransportUnavailable` when the VPS cannot be reached (the job is retried) and
    `HostKeyMismatch` when its identity changed (the operation fails at once).
    """

    #: the name a VPS row refers to in its `transport` column
    name: str

    @abstractmethod
    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float = 300,
        on_line: Callable[[str], None] | None = None,
    ) -> CommandResult:
        """Run an argv command on the VPS; quoting happens here, at the boundary, only.

        `on_line`, when given, is called with each line of standard output as it arrives (the
        executor reads progress markers from it); the result still holds all the output.
        """

    def stream(
        self,
        argv: Sequence[str],
        *,
        stdin: BinaryIO | None = None,
        on_stdout: Callable[[bytes], None] | None = None,
        timeout: float = 3600,
    ) -> CommandResult:
        """Run an argv command with its standard streams as byte streams, never held whole.

        `stdin`, when given, is read in chunks (`read(n)`) and fed to the command; each chunk
        of standard output is handed to `on_stdout` as it arrives. The result's `stdout` is
        empty and its `stderr` holds the end of the command's standard error. When `on_stdout`
        raises, the command is stopped (its channel closed) and the exception propagates.
        Raises `TransportUnavailable` when the connection drops.
        """
        raise NotImplementedError(f"the {self.name} transport cannot stream")

    def close(self) -> None:  # noqa: B027  (optional for transports without a connection)
        """Release any connection held."""


__all__ = [
    "AlertsBackend",
    "BackendError",
    "BackendUnavailable",
    "DashboardsBackend",
    "LogsBackend",
    "MetricsBackend",
    "SiteRef",
    "TenantRef",
    "Window",
    "PLAN_ACTIONS",
    "BackupPart",
    "DatabaseDump",
    "DirectoryArchive",
    "RunSql",
    "sql_string",
    "CommandResult",
    "DropDatabase",
    "EnsureDatabase",
    "ExtractArchive",
    "EnsureDirectory",
    "EnsureNginxSite",
    "EnsureOwner",
    "EnsurePhpPool",
    "EnsureSystemUser",
    "HealthProbe",
    "HostKeyMismatch",
    "ObservabilityBackend",
    "Plan",
    "PutFile",
    "ReloadService",
    "RemoveNginxSite",
    "RemovePath",
    "RemovePhpPool",
    "RemoveSystemUser",
    "RunCommand",
    "SiteContext",
    "SitePaths",
    "SiteType",
    "Step",
    "Transport",
    "TransportUnavailable",
    "hookimpl",
    "php_pool_config",
    "php_pool_logging",
    "php_site_log_steps",
    "remove_site_logs",
    "server_block_common",
]
