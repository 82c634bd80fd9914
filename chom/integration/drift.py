"""Read-only probes: does a VPS still hold what a plan put there?

A plan's steps say what a site is on its VPS (a vhost, a pool, a database, files). Each step
type that leaves state behind has a probe here — a bash condition that is true when the VPS
holds that state — and the probes of many plans run as ONE program that changes nothing and
reports `::chom-drift <plan> <step> ok|drift` per probed step. Steps that leave no checkable
state (reloads, removals, commands without `creates`) are not probed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chom.integration.executor import run_program
from chom.integration.plan_script import SAME_FUNCTION, Profile, _b64, _sql_name, q
from chom.plugin_api import (
    EnsureDatabase,
    EnsureDirectory,
    EnsureNginxSite,
    EnsureOwner,
    EnsurePhpPool,
    EnsureSystemUser,
    Plan,
    PutFile,
    RemovePath,
    RunCommand,
    Step,
    Transport,
)

MARKER = "::chom-drift"


def _same_content(path: str, content: str) -> str:
    return f"chom_same {q(path)} {q(content)}"


def _directory(step: EnsureDirectory, profile: Profile) -> str:
    return f"[ -d {q(step.path)} ]"


def _file(step: PutFile, profile: Profile) -> str:
    # A file written once (replace=False) is the user's afterwards: only its presence counts.
    return _same_content(step.path, step.content) if step.replace else f"[ -e {q(step.path)} ]"


def _owner(step: EnsureOwner, profile: Profile) -> str | None:
    if not profile.manage_users:
        return None
    return f"[ -z \"$(find {q(step.path)} ! -user {q(step.owner)} -print -quit 2>/dev/null)\" ]"


def _command(step: RunCommand, profile: Profile) -> str | None:
    return f"[ -e {q(step.creates)} ]" if step.creates else None


def _system_user(step: EnsureSystemUser, profile: Profile) -> str | None:
    return f"id -u {q(step.name)} >/dev/null 2>&1" if profile.manage_users else None


def _database(step: EnsureDatabase, profile: Profile) -> str:
    name = _sql_name(step.name)
    probe = f"SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='{name}';"  # noqa: S608
    return (f"[ -n \"$(printf %s {q(_b64(probe))} | base64 -d | "
            f"{profile.command('mysql')} -N 2>/dev/null)\" ]")


def _php_pool(step: EnsurePhpPool, profile: Profile) -> str:
    return _same_content(profile.pool_path(step.name, step.php_version), step.config)


def _nginx_site(step: EnsureNginxSite, profile: Profile) -> str:
    return _same_content(profile.nginx_path(step.name), step.config)


PROBES: dict[type[Step], Callable[[Step, Profile], str | None]] = {
    EnsureDirectory: _directory,
    PutFile: _file,
    EnsureOwner: _owner,
    RunCommand: _command,
    EnsureSystemUser: _system_user,
    EnsureDatabase: _database,
    EnsurePhpPool: _php_pool,
    EnsureNginxSite: _nginx_site,
}


@dataclass(frozen=True)
class Finding:
    """One probed step of one plan: `plan` and `step` count from 1."""

    plan: int
    step: int
    drifted: bool


def _removed_later(plan: Plan, n: int, step: Step) -> bool:
    """Whether a later step of the plan removes what `step` made (a file used once, such as
    an install script): its absence is the plan's intent, not drift."""
    path = getattr(step, "path", None)
    return path is not None and any(
        isinstance(later, RemovePath) and later.path == path for later in plan.steps[n:])


def compile_probe(plans: list[Plan], profile: Profile) -> str:
    """The read-only bash program that probes every checkable step of `plans`."""
    lines = ["set -u", "cd /", SAME_FUNCTION]
    for g, plan in enumerate(plans, start=1):
        for n, step in enumerate(plan.steps, start=1):
            probe = PROBES.get(type(step))
            if probe is None or _removed_later(plan, n, step):
                continue
            condition = probe(step, profile)
            if condition is None:
                continue
            lines.append(f"if {condition}; then echo '{MARKER} {g} {n} ok'; "
                         f"else echo '{MARKER} {g} {n} drift'; fi")
    lines.append("exit 0")
    return "\n".join(lines) + "\n"


def probe_plans(transport: Transport, plans: list[Plan], settings: dict, *,
                timeout: float = 300) -> list[Finding]:
    """Probe `plans` on one VPS in one invocation; raises `TransportError` when the VPS is
    not reached."""
    findings: list[Finding] = []

    def read(line: str) -> None:
        words = line.split()
        if len(words) == 4 and words[0] == MARKER:
            findings.append(Finding(int(words[1]), int(words[2]), words[3] == "drift"))

    run_program(transport, compile_probe(plans, Profile(settings)), read, timeout)
    return findings
