"""A plan compiled into ONE bash program, so applying it costs one remote invocation.

Each step becomes a function that checks before it changes and reports a marker line
`::chom-step <n> changed|unchanged`; the first failing step prints `::chom-step <n> failed`
and the program exits. Every value is quoted here with `shlex.quote` — the only place argv
and paths turn into shell text — and database identifiers must match a strict grammar.
"""

from __future__ import annotations

import base64
import posixpath
import re
import shlex
from collections.abc import Callable

from chom.log_context import correlation_id
from chom.plugin_api import (
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
)

MARKER = "::chom-step"
_SQL_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_MODE = re.compile(r"^[0-7]{3,4}$")
UMASK = "022"

DEFAULT_COMMANDS = {
    "nginx_test": ["nginx", "-t"],
    "nginx_reload": ["nginx", "-s", "reload"],
    "php_fpm_reload": ["systemctl", "reload", "php{php_version}-fpm"],
    "mysql": ["mysql"],
    "mysqldump": ["mysqldump"],
    "tar": ["tar"],
}


class UnsafeStep(ValueError):
    """A step carries a value that cannot be applied safely (a plugin bug, not user input)."""


def q(value: str) -> str:
    return shlex.quote(str(value))


def argv(words) -> str:
    return " ".join(q(word) for word in words)


def _mode(mode: str) -> str:
    if not _MODE.match(mode):
        raise UnsafeStep(f"bad file mode {mode!r}")
    return mode


def _sql_name(name: str) -> str:
    if not _SQL_NAME.match(name):
        raise UnsafeStep(f"bad database identifier {name!r}")
    return name


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _b64(data: str | bytes) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


class Profile:
    """The VPS profile a plan is compiled for: paths and service commands."""

    def __init__(self, settings: dict) -> None:
        self.settings = settings
        self.commands = {**DEFAULT_COMMANDS, **settings.get("commands", {})}
        self.manage_users = settings.get("manage_system_users", True)

    def command(self, name: str, **values) -> str:
        return argv(word.format(**values) for word in self.commands[name])

    def nginx_path(self, name: str) -> str:
        return f"{self.settings['nginx_sites_dir']}/{name}"

    def pool_path(self, name: str, php_version: str) -> str:
        pool_dir = self.settings.get("php_pool_dir", "/etc/php/{php_version}/fpm/pool.d")
        return f"{pool_dir.format(php_version=php_version)}/{name}.conf"


# Defined once at the top of every program: writing files is most of what a plan does, and each
# process costs about a millisecond on a VPS, so the common cases fork none (a new file: `mv`
# only; an unchanged one: `chmod`). The content arrives as an argument (quoted by `q`), is
# compared with the builtin `read` (which stops at a NUL byte, hence `read`'s status 1: the
# whole file was read) and written with the builtin `printf`, under `set -C` so the temporary
# name is created new (O_EXCL) and never written through a link someone planted. Where another
# user may rename entries (a file with an OWNER, or a directory root does not own), root never
# follows a link: `chown -h` only, and an unchanged file's mode is left as it is (a `chmod`
# could be pointed elsewhere by a link swapped in meanwhile). The drift probes
# (`chom.integration.drift`) use `chom_same` too.
SAME_FUNCTION = """chom_same() {  # PATH CONTENT: the file holds exactly CONTENT
  local LC_ALL=C chom_old chom_status
  [ -f "$1" ] || return 1
  IFS= read -r -d '' chom_old < "$1"; chom_status=$?
  [ "$chom_status" = 1 ] && [[ "$chom_old" == "$2" ]]
}"""
PUT_FUNCTION = f"""chom_put() {{  # PATH MODE UMASK OWNER CONTENT (UMASK empty: chmod after)
  local - chom_dir="${{1%/*}}" chom_new chom_status
  [ -d "${{chom_dir:-/}}" ] || mkdir -p -- "${{chom_dir:-/}}" || return 1
  for chom_new in "$1".chom-[0-9]*; do  # left by a program that was killed mid-write
    if [ -e "$chom_new" ] || [ -L "$chom_new" ]; then rm -f -- "$chom_new"; fi
  done
  if [ ! -L "$1" ] && chom_same "$1" "$5"; then
    if [ -n "$4" ]; then chown -h -- "$4" "$1"
    elif [ -O "${{chom_dir:-/}}" ]; then chmod -- "$2" "$1"
    fi
    return
  fi
  chom_new="$1.chom-$$-$RANDOM"
  chom_writing=$chom_new
  set -C
  umask "${{3:-077}}"
  printf %s "$5" > "$chom_new"; chom_status=$?
  umask {UMASK}
  [ "$chom_status" = 0 ] || return 1
  if {{ [ -n "$3" ] || chmod -- "$2" "$chom_new"; }} \\
      && {{ [ -z "$4" ] || chown -h -- "$4" "$chom_new"; }} && mv -f -- "$chom_new" "$1"; then
    chom_writing=
    chom_result=changed
  else
    rm -f -- "$chom_new"; chom_writing=; return 1
  fi
}}"""
# A program cut off by a signal (its SSH session dropped: SIGHUP) removes the file it was
# writing, if any: a stray copy of a server block in nginx's sites directory would be loaded by
# the next reload of any site's. What SIGKILL leaves, the next `chom_put` of that path removes.
CLEANUP_TRAPS = (
    "chom_writing=",
    "trap '[ -z \"$chom_writing\" ] || rm -f -- \"$chom_writing\"' EXIT",
    "trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM",
)


def _creation_umask(mode: str) -> str:
    """The umask that creates a file with `mode` itself, or "" when only chmod can (x bits,
    set-id, sticky)."""
    bits = int(mode, 8)
    return "" if bits & 0o7111 else f"{0o666 ^ bits:03o}"


def write_file(path: str, content: str, mode: str, owner: str | None) -> list[str]:
    """Replace `path` only when its content differs (mode and owner always set)."""
    if not posixpath.isabs(path):
        raise UnsafeStep(f"file path {path!r} is not absolute")
    if "\x00" in content:
        raise UnsafeStep(f"the content for {path} holds a NUL byte")
    return [f"chom_put {q(path)} {_mode(mode)} {q(_creation_umask(mode))} {q(owner or '')} "
            f"{q(content)} || return 1"]


def remove_if_there(path: str) -> str:
    """`rm -f` only when there is something to remove (no process otherwise)."""
    return f"if [ -e {q(path)} ] || [ -L {q(path)} ]; then rm -f -- {q(path)}; fi"


def _ensure_directory(step: EnsureDirectory, profile: Profile) -> list[str]:
    mode, owned = _mode(step.mode), bool(step.owner and profile.manage_users)
    parent = q(posixpath.dirname(step.path.rstrip("/")) or "/")
    # An existing directory is `chmod`ed only where no one else can swap in a link: not when it
    # is owned (root only `chown -h`s it), and only inside a directory root owns.
    lines = [
        f"if [ ! -d {q(step.path)} ]; then mkdir -p -m {mode} -- {q(step.path)} || return 1; "
        "chom_result=changed"
        + ("" if owned else f"; elif [ -O {parent} ]; then chmod {mode} {q(step.path)} "
                            "|| return 1") + "; fi",
    ]
    if owned:
        lines.append(f"chown -h -- {q(step.owner)} {q(step.path)} || return 1")
    return lines


def _put_file(step: PutFile, profile: Profile) -> list[str]:
    lines = write_file(step.path, step.content, step.mode,
                       step.owner if profile.manage_users else None)
    if step.replace:
        return lines
    return [f"if [ ! -e {q(step.path)} ]; then", *lines, "fi"]


def _extract_archive(step: ExtractArchive, profile: Profile) -> list[str]:
    lines = [
        f"mkdir -p -- {q(step.path)} || return 1",
        f"printf %s {q(_b64(step.archive))} | base64 -d | tar --extract --file=- "
        f"--no-same-owner --no-same-permissions --directory={q(step.path)} || return 1",
        "chom_result=changed",
    ]
    if step.owner and profile.manage_users:
        lines.append(f"chown -R {q(step.owner)} {q(step.path)} || return 1")
    return lines


def _ensure_owner(step: EnsureOwner, profile: Profile) -> list[str]:
    if not profile.manage_users:
        return [":"]
    # Only files owned by someone else are changed, so a converged tree reports unchanged.
    return [f"if [ -n \"$(find {q(step.path)} ! -user {q(step.owner)} -print -quit)\" ]; then "
            f"chown --recursive -- {q(step.owner + ':')} {q(step.path)} "
            "|| return 1; chom_result=changed; fi"]


def _remove_path(step: RemovePath, profile: Profile) -> list[str]:
    return [f"if [ -e {q(step.path)} ] || [ -L {q(step.path)} ]; then "
            f"rm -rf -- {q(step.path)} || return 1; chom_result=changed; fi"]


def _run_command(step: RunCommand, profile: Profile) -> list[str]:
    words = list(step.argv)
    if step.run_as and profile.manage_users:
        words = ["runuser", "-u", step.run_as, "--", *words]
    run = f"{argv(words)} || return 1; chom_result=changed"
    guards = [f"[ ! -e {q(step.creates)} ]"] if step.creates else []
    if step.only_if_exists:
        guards.append(f"[ -e {q(step.only_if_exists)} ]")
    if guards:
        return [f"if {' && '.join(guards)}; then {run}; fi"]
    return [run]


def _ensure_system_user(step: EnsureSystemUser, profile: Profile) -> list[str]:
    if not profile.manage_users:
        return [":"]
    return [f"if ! id -u {q(step.name)} >/dev/null 2>&1; then useradd --system --home-dir "
            f"{q(step.home)} --shell /usr/sbin/nologin {q(step.name)} || return 1; "
            "chom_result=changed; fi"]


def _remove_system_user(step: RemoveSystemUser, profile: Profile) -> list[str]:
    if not profile.manage_users:
        return [":"]
    return [f"if id -u {q(step.name)} >/dev/null 2>&1; then userdel {q(step.name)} "
            "|| return 1; chom_result=changed; fi"]


def _mysql(sql: str, profile: Profile) -> str:
    return f"printf %s {q(_b64(sql))} | base64 -d | {profile.command('mysql')} || return 1"


def _ensure_database(step: EnsureDatabase, profile: Profile) -> list[str]:
    name, user = _sql_name(step.name), _sql_name(step.user)
    account = f"{_sql_string(user)}@'localhost'"
    password = _sql_string(step.password)
    sql = (
        f"CREATE DATABASE IF NOT EXISTS `{name}`;\n"
        f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY {password};\n"
        f"ALTER USER {account} IDENTIFIED BY {password};\n"
        f"GRANT ALL PRIVILEGES ON `{name}`.* TO {account};\n"
    )
    # `name` matched _SQL_NAME above: no quote can be in it.
    probe = f"SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='{name}';"  # noqa: S608
    return [
        f"chom_had=$(printf %s {q(_b64(probe))} | base64 -d | {profile.command('mysql')} -N) "
        "|| return 1",
        _mysql(sql, profile),
        '[ -n "$chom_had" ] || chom_result=changed',
    ]


def _drop_database(step: DropDatabase, profile: Profile) -> list[str]:
    name, user = _sql_name(step.name), _sql_name(step.user)
    sql = (f"DROP DATABASE IF EXISTS `{name}`;\n"
           f"DROP USER IF EXISTS {_sql_string(user)}@'localhost';\n")
    return [_mysql(sql, profile), "chom_result=changed"]


def _run_sql(step: RunSql, profile: Profile) -> list[str]:
    name = _sql_name(step.database)
    return [_mysql(f"USE `{name}`;\n{step.sql}\n", profile), "chom_result=changed"]


def _ensure_php_pool(step: EnsurePhpPool, profile: Profile) -> list[str]:
    return write_file(profile.pool_path(step.name, step.php_version), step.config, "0644", None)


def _remove_php_pool(step: RemovePhpPool, profile: Profile) -> list[str]:
    path = q(profile.pool_path(step.name, step.php_version))
    return [f"if [ -e {path} ]; then rm -f -- {path} || return 1; chom_result=changed; fi"]


def _ensure_nginx_site(step: EnsureNginxSite, profile: Profile) -> list[str]:
    path = profile.nginx_path(step.name)
    backup = q(path + ".chom-previous")
    # Write, test the whole nginx config, and put the previous file back if the test fails.
    return [
        f"{remove_if_there(path + '.chom-previous')}; if [ -e {q(path)} ]; then "
        f"cp -p -- {q(path)} {backup} || return 1; fi",
        *write_file(path, step.config, "0644", None),
        f"if ! {profile.command('nginx_test')}; then "
        f"if [ -e {backup} ]; then mv -f -- {backup} {q(path)}; else rm -f -- {q(path)}; fi; "
        "echo 'nginx -t rejected the new server block; the previous one is back' >&2; "
        "return 1; fi",
        remove_if_there(path + ".chom-previous"),
    ]


def _remove_nginx_site(step: RemoveNginxSite, profile: Profile) -> list[str]:
    path = q(profile.nginx_path(step.name))
    return [f"if [ -e {path} ]; then rm -f -- {path} || return 1; chom_result=changed; fi"]


def _reload_service(step: ReloadService, profile: Profile) -> list[str]:
    name = {"nginx": "nginx_reload", "php-fpm": "php_fpm_reload"}.get(step.service)
    if name is None:
        raise UnsafeStep(f"unknown service role {step.service!r}")
    return [f"{profile.command(name, php_version=step.php_version or '')} || return 1",
            "chom_result=changed"]


RENDERERS: dict[type[Step], Callable[[Step, Profile], list[str]]] = {
    EnsureDirectory: _ensure_directory,
    PutFile: _put_file,
    ExtractArchive: _extract_archive,
    EnsureOwner: _ensure_owner,
    RemovePath: _remove_path,
    RunCommand: _run_command,
    EnsureSystemUser: _ensure_system_user,
    RemoveSystemUser: _remove_system_user,
    EnsureDatabase: _ensure_database,
    DropDatabase: _drop_database,
    RunSql: _run_sql,
    EnsurePhpPool: _ensure_php_pool,
    RemovePhpPool: _remove_php_pool,
    EnsureNginxSite: _ensure_nginx_site,
    RemoveNginxSite: _remove_nginx_site,
    ReloadService: _reload_service,
}


def step_function(name: str, step: Step, profile: Profile) -> str:
    """The bash function `name` that applies `step` (checks first, sets `chom_result`)."""
    renderer = RENDERERS.get(type(step))
    if renderer is None:
        raise UnsafeStep(f"no executor for step {type(step).__name__}")
    body = "\n  ".join(renderer(step, profile))
    return f"{name}() {{\n  {body}\n}}"


def prelude() -> list[str]:
    """The lines every program starts with. The correlation id of the request or job that
    runs it goes into its environment, so what the commands log on the VPS can be traced back."""
    lines = ["set -u", f"umask {UMASK}", "cd /", *CLEANUP_TRAPS, SAME_FUNCTION, PUT_FUNCTION]
    if (current := correlation_id.get()) is not None:
        lines.append(f"export CHOM_CORRELATION_ID={q(current)}")
    return lines


def compile_plan(plan: Plan, profile: Profile) -> str:
    """The bash program that applies `plan` on a VPS with this profile."""
    parts = prelude()
    for index, step in enumerate(plan.steps, start=1):
        parts.append(
            f"{step_function(f'chom_step_{index}', step, profile)}\n"
            f"echo {q(f'{MARKER} {index} begin')}\n"
            f"chom_result=unchanged\n"
            f"if ! chom_step_{index}; then echo \"{MARKER} {index} failed\"; exit 3; fi\n"
            f"echo \"{MARKER} {index} $chom_result\""
        )
    parts.append("exit 0")
    return "\n".join(parts) + "\n"
