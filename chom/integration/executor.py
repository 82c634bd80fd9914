"""Applying a plan to a VPS over its transport: one invocation, progress read from markers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chom.integration.plan_script import MARKER, Profile, compile_plan
from chom.plugin_api import (
    CommandResult,
    HostKeyMismatch,
    Plan,
    Transport,
    TransportUnavailable,
)

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


class MarkerReader:
    """Turns the program's stdout, line by line, into step begin and outcome events."""

    def __init__(self, on_begin: Callable[[int], None], on_step: Callable[[StepOutcome], None]):
        self.on_begin, self.on_step = on_begin, on_step
        self.outcomes: list[StepOutcome] = []
        self.failed_at: int | None = None
        self._current: int | None = None
        self._output: list[str] = []

    def feed(self, line: str) -> None:
        if not line.startswith(MARKER + " "):
            if self._current is not None:
                self._output.append(line)
            return
        _, index, state = line.split(" ", 2)
        if state == "begin":
            self._current, self._output = int(index), []
            self.on_begin(int(index))
        elif state in STEP_OUTCOMES:
            outcome = StepOutcome(int(index), state, "\n".join(self._output))
            self.outcomes.append(outcome)
            if state == "failed":
                self.failed_at = int(index)
            self.on_step(outcome)


def run_program(transport: Transport, script: str, on_line: Callable[[str], None],
                timeout: float) -> CommandResult:
    """Run a compiled program with `bash -s`: a host key that changed is a `PlanFailed`,
    a VPS not reached (or lost mid-way) a `TransportError`."""
    try:
        return transport.run(["bash", "-s"], input=script.encode(), timeout=timeout,
                             on_line=on_line)
    except HostKeyMismatch as error:
        raise PlanFailed(0, str(error)) from error
    except (TransportUnavailable, OSError, EOFError, TimeoutError) as error:
        raise TransportError(f"{type(error).__name__}: {error}") from error


def apply_plan(
    transport: Transport,
    plan: Plan,
    settings: dict,
    *,
    on_step: Callable[[StepOutcome], None] = lambda outcome: None,
    on_begin: Callable[[int], None] = lambda index: None,
    timeout: float = 1800,
) -> list[StepOutcome]:
    """Apply `plan` in one remote invocation; `on_begin(i)` and `on_step(outcome)` are called
    as each step starts and ends, while the program runs.

    Raises `PlanFailed` naming the failing step, or `TransportError` when the VPS was not
    reached (or the connection broke before the program finished).
    """
    script = compile_plan(plan, Profile(settings))
    reader = MarkerReader(on_begin, on_step)
    result = run_program(transport, script, reader.feed, timeout)
    outcomes, failed_at = reader.outcomes, reader.failed_at
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
