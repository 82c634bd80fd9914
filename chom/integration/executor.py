"""Applying a plan to a VPS over its transport: one invocation, progress read from markers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chom.integration.plan_script import MARKER, Profile, compile_plan
from chom.plugin_api import HostKeyMismatch, Plan, Transport, TransportUnavailable

STEP_OUTCOMES = ("changed", "unchanged", "failed")


class TransportError(RuntimeError):
    """The VPS could not be reached or the connection dropped: worth a retry."""


class PlanFailed(RuntimeError):
    """A step failed on the VPS: retrying the same plan will not help by itself."""

    def __init__(self, step_index: int, message: str) -> None:
        super().__init__(message)
        self.step_index = step_index


@dataclass(frozen=True)
class StepOutcome:
    index: int
    result: str  # one of STEP_OUTCOMES
    output: str


def _parse(stdout: str) -> tuple[list[StepOutcome], int | None]:
    outcomes: list[StepOutcome] = []
    current: int | None = None
    output: list[str] = []
    failed_at = None
    for line in stdout.splitlines():
        if line.startswith(MARKER + " "):
            _, index, state = line.split(" ", 2)
            if state == "begin":
                current, output = int(index), []
            elif state in STEP_OUTCOMES:
                outcomes.append(StepOutcome(int(index), state, "\n".join(output)))
                if state == "failed":
                    failed_at = int(index)
            continue
        if current is not None:
            output.append(line)
    return outcomes, failed_at


def apply_plan(
    transport: Transport,
    plan: Plan,
    settings: dict,
    *,
    on_step: Callable[[StepOutcome], None] = lambda outcome: None,
    timeout: float = 1800,
) -> list[StepOutcome]:
    """Apply `plan` in one remote invocation; call `on_step` for each step's outcome.

    Raises `PlanFailed` naming the failing step, or `TransportError` when the VPS was not
    reached (or the connection broke before the program finished).
    """
    script = compile_plan(plan, Profile(settings))
    try:
        result = transport.run(["bash", "-s"], input=script.encode(), timeout=timeout)
    except HostKeyMismatch as error:
        raise PlanFailed(0, str(error)) from error
    except (TransportUnavailable, OSError, EOFError, TimeoutError) as error:
        raise TransportError(f"{type(error).__name__}: {error}") from error
    outcomes, failed_at = _parse(result.stdout)
    for outcome in outcomes:
        on_step(outcome)
    if failed_at is not None:
        detail = (result.stderr.strip() or outcomes[-1].output.strip() or "no output")[-2000:]
        raise PlanFailed(failed_at, f"step {failed_at} ({plan.steps[failed_at - 1].describe()}) "
                                    f"failed: {detail}")
    if result.exit_status != 0 or len(outcomes) != len(plan.steps):
        raise TransportError(
            f"the plan stopped after {len(outcomes)} of {len(plan.steps)} steps "
            f"(exit {result.exit_status}): {result.stderr.strip()[-500:]}"
        )
    return outcomes
