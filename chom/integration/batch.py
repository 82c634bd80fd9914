"""Several plans for one VPS applied in ONE remote invocation, reloads de-duplicated.

Each plan is a group. Its steps report `::chom-step <g>.<n> begin|changed|unchanged|failed`;
a failing step ends its own group only, and the program goes on with the next group. The
reloads a plan ends with (its trailing `ReloadService` steps) are deferred: each distinct
reload runs once, after every group, for the groups still standing, and is reported as each
of those groups' own step. A reload in the middle of a plan (say before removing files nginx
served) stays where it is. Reloads always run, so applying again after an interrupted run
still reloads. A server block a plan's body ends with is written after every group, and all
of them are checked by ONE `nginx -t`; when it fails they are put back and applied again one
by one, each tested alone, so only the groups nginx rejects fail (`_blocks`). Every step's
stderr is folded into its output, so a failure names its cause without another group's noise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from chom.integration.executor import PlanFailed, StepOutcome, TransportError, run_program
from chom.integration.plan_script import (
    MARKER,
    Profile,
    UnsafeStep,
    prelude,
    q,
    remove_if_there,
    step_function,
    write_file,
)
from chom.plugin_api import EnsureNginxSite, Plan, ReloadService, Transport


def trailing_reloads(plan: Plan) -> int:
    """How many `ReloadService` steps the plan ends with (those are deferred in a batch)."""
    count = 0
    for step in reversed(plan.steps):
        if not isinstance(step, ReloadService):
            break
        count += 1
    return count


def _body(plan: Plan) -> tuple:
    return plan.steps[: len(plan.steps) - trailing_reloads(plan)]


def _deferred_block(plan: Plan) -> EnsureNginxSite | None:
    """The server block the plan's body ends with: written with the others, tested once."""
    body = _body(plan)
    return body[-1] if body and isinstance(body[-1], EnsureNginxSite) else None


def _group(g: int, plan: Plan, profile: Profile) -> str:
    body_steps = _body(plan)
    if _deferred_block(plan):
        body_steps = body_steps[:-1]
    functions, calls = [], []
    for n, step in enumerate(body_steps, start=1):
        functions.append(step_function(f"chom_g{g}_s{n}", step, profile))
        calls.append(
            f"  echo {q(f'{MARKER} {g}.{n} begin')}\n"
            f"  chom_result=unchanged\n"
            f"  if ! chom_g{g}_s{n} 2>&1; then echo {q(f'{MARKER} {g}.{n} failed')}; "
            "return 3; fi\n"
            f"  echo \"{MARKER} {g}.{n} $chom_result\""
        )
    return "\n".join([*functions, f"chom_group_{g}() {{", *calls, "  :", "}",
                      f"if chom_group_{g}; then chom_ok_{g}=1; else chom_ok_{g}=0; fi"])


def _blocks(groups: list[tuple[int, Plan]], profile: Profile) -> list[str]:
    """Every group's last server block written, then ONE `nginx -t` for all of them.

    When that test fails, every block goes back to what it was and each is applied again as
    its own step (written, tested, rolled back when rejected), so only the groups whose
    block nginx rejects fail."""
    blocks = [(g, len(_body(plan)), _deferred_block(plan)) for g, plan in groups
              if _deferred_block(plan)]
    if not blocks:
        return []
    parts = []
    for g, n, step in blocks:
        path = q(profile.nginx_path(step.name))
        backup = q(profile.nginx_path(step.name) + ".chom-previous")
        write = "\n  ".join([
            f"{remove_if_there(profile.nginx_path(step.name) + '.chom-previous')}; "
            f"if [ -e {path} ]; then cp -p -- {path} {backup} || return 1; fi",
            *write_file(profile.nginx_path(step.name), step.config, "0644", None)])
        restore = (f"if [ -e {backup} ]; then mv -f -- {backup} {path}; "
                   f"else rm -f -- {path}; fi")
        parts.append(
            f"chom_g{g}_write() {{\n  {write}\n}}\n"
            f"chom_g{g}_restore() {{ {restore}; }}\n"
            f"{step_function(f'chom_g{g}_s{n}', step, profile)}\n"
            f"chom_wrote_{g}=0\n"
            f'if [ "$chom_ok_{g}" = 1 ]; then\n'
            f"  echo {q(f'{MARKER} {g}.{n} begin')}\n"
            f"  chom_result=unchanged\n"
            f"  if chom_g{g}_write 2>&1; then chom_wrote_{g}=1; chom_res_{g}=$chom_result\n"
            f"  else chom_g{g}_restore; echo {q(f'{MARKER} {g}.{n} failed')}; chom_ok_{g}=0; fi\n"
            "fi"
        )
    wrote = " || ".join(f'[ "$chom_wrote_{g}" = 1 ]' for g, _, _ in blocks)
    passed = "\n  ".join(
        f'if [ "$chom_wrote_{g}" = 1 ]; then '
        f'{remove_if_there(profile.nginx_path(step.name) + ".chom-previous")}; '
        f'echo "{MARKER} {g}.{n} $chom_res_{g}"; fi' for g, n, step in blocks)
    undo = "\n  ".join(f'[ "$chom_wrote_{g}" = 1 ] && chom_g{g}_restore'
                       for g, _, _ in blocks)
    one_by_one = "\n  ".join(
        f'if [ "$chom_wrote_{g}" = 1 ]; then echo {q(f"{MARKER} {g}.{n} begin")}; '
        f"chom_result=unchanged; if chom_g{g}_s{n} 2>&1; then "
        f'echo "{MARKER} {g}.{n} $chom_result"; else echo {q(f"{MARKER} {g}.{n} failed")}; '
        f"chom_ok_{g}=0; fi; fi" for g, n, _ in blocks)
    parts.append(
        f"if {wrote}; then\n"
        f"  if {profile.command('nginx_test')} >/dev/null 2>&1; then\n  {passed}\n"
        f"  else\n  {undo}\n  {one_by_one}\n  fi\nfi"
    )
    return parts


def _reloads(groups: list[tuple[int, Plan]], profile: Profile) -> list[str]:
    """Each distinct deferred reload once, for the groups that reach it."""
    users: dict[ReloadService, list[tuple[int, int]]] = {}
    for g, plan in groups:
        first = len(plan.steps) - trailing_reloads(plan)
        for n in range(first + 1, len(plan.steps) + 1):
            users.setdefault(plan.steps[n - 1], []).append((g, n))
    parts = []
    for r, (reload, steps) in enumerate(users.items(), start=1):
        ok = " || ".join(f'[ "$chom_ok_{g}" = 1 ]' for g, _ in steps)
        begins = "\n  ".join(f'[ "$chom_ok_{g}" = 1 ] && echo {q(f"{MARKER} {g}.{n} begin")}'
                             for g, n in steps)
        ends = "\n  ".join(f'if [ "$chom_ok_{g}" = 1 ]; then echo "{MARKER} {g}.{n} '
                           f'$chom_state"; [ "$chom_state" = failed ] && chom_ok_{g}=0; fi'
                           for g, n in steps)
        parts.append(
            f"{step_function(f'chom_reload_{r}', reload, profile)}\n"
            f"if {ok}; then\n  {begins}\n  chom_result=unchanged\n"
            f"  if chom_reload_{r} 2>&1; then chom_state=$chom_result; "
            "else chom_state=failed; fi\n"
            f"  {ends}\nfi"
        )
    return parts


def compile_batch(plans: list[tuple[int, Plan]], profile: Profile) -> str:
    """The bash program applying every `(group number, plan)` in order, reloads at the end."""
    parts = prelude()
    parts += [_group(g, plan, profile) for g, plan in plans]
    parts += _blocks(plans, profile)
    parts += _reloads(plans, profile)
    parts.append("exit 0")
    return "\n".join(parts) + "\n"


@dataclass
class GroupResult:
    plan: Plan
    outcomes: list[StepOutcome] = field(default_factory=list)
    error: PlanFailed | None = None


class BatchMarkerReader:
    """Routes `<g>.<n>` markers to `on_begin(g, n)` / `on_step(g, outcome)`."""

    def __init__(self, results: dict[int, GroupResult],
                 on_begin: Callable[[int, int], None],
                 on_step: Callable[[int, StepOutcome], None]) -> None:
        self.results, self.on_begin, self.on_step = results, on_begin, on_step
        self._output: list[str] = []

    def feed(self, line: str) -> None:
        if not line.startswith(MARKER + " "):
            self._output.append(line)
            return
        _, where, state = line.split(" ", 2)
        g, n = (int(part) for part in where.split(".", 1))
        result = self.results[g]
        if state == "begin":
            self._output = []
            self.on_begin(g, n)
            return
        outcome = StepOutcome(n, state, "\n".join(self._output))
        result.outcomes.append(outcome)
        if state == "failed":
            detail = (outcome.output.strip() or "no output")[-2000:]
            result.error = PlanFailed(n, f"step {n} ({result.plan.steps[n - 1].describe()}) "
                                         f"failed: {detail}")
        self.on_step(g, outcome)


def apply_batch(
    transport: Transport,
    plans: list[Plan],
    settings: dict,
    *,
    on_begin: Callable[[int, int], None] = lambda g, n: None,
    on_step: Callable[[int, StepOutcome], None] = lambda g, outcome: None,
    timeout: float = 1800,
) -> list[GroupResult]:
    """Apply `plans` (groups 0..len-1 to the callbacks) in one remote invocation.

    Each result has the group's outcomes and, when one of its steps failed (or the plan could
    not be compiled), its `PlanFailed`. Raises `TransportError` when the program did not run to
    its end: then no group's result can be trusted and the whole batch is worth a retry.
    """
    profile = Profile(settings)
    results = {g: GroupResult(plan) for g, plan in enumerate(plans)}
    runnable = []
    for g, plan in enumerate(plans):
        try:
            compile_batch([(g, plan)], profile)
        except UnsafeStep as error:
            results[g].error = PlanFailed(0, f"the plan cannot be applied: {error}")
            continue
        runnable.append((g, plan))
    if not runnable:
        return list(results.values())
    reader = BatchMarkerReader(results, on_begin, on_step)
    result = run_program(transport, compile_batch(runnable, profile), reader.feed, timeout)
    unfinished = [g for g, plan in runnable
                  if results[g].error is None and len(results[g].outcomes) != len(plan.steps)]
    if result.exit_status != 0 or unfinished:
        raise TransportError(
            f"the batch stopped before its end (exit {result.exit_status}; groups "
            f"{unfinished} unfinished): {result.stderr.strip()[-500:]}")
    return list(results.values())
