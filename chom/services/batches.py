"""Ready operations of one VPS applied together, in one remote invocation.

Runs inside the VPS's lock (`provisioning.run_operation`), so nothing else applies a plan to
that VPS meanwhile. A site is ready when its oldest unfinished operation is the one taken:
a batch holds at most one operation per site, so a site's operations still run one at a time
and in order. An operation left `running` is one a killed job abandoned (its lock expired):
it is taken again, and re-applying converges.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from chom import tracing
from chom.extensions import db
from chom.integration.batch import apply_batch
from chom.integration.executor import PlanFailed, StepOutcome, TransportError
from chom.integration.transports.pool import transport_for
from chom.models import Operation, Site
from chom.models.base import utcnow
from chom.plugin_api import HostKeyMismatch, Plan
from chom.services.lifecycles import FINISHED, Lifecycle, announce, append_log, build_plan, finish
from chom.services.progress import ProgressWriter
from chom.services.site_profile import profile_of

log = logging.getLogger(__name__)

# How often the progress of a running batch is saved (from its own thread).
PROGRESS_COMMIT_SECONDS = 0.25

# Kinds applied alone: `issue_ssl` talks to the CA between its phases; a restore streams data
# from backup storage to the VPS.
ALONE = ("issue_ssl", "restore")
# Kinds that only read the VPS and run outside its lock (under a lock of their own, see
# `provisioning.run_operation`), so a long backup never holds up other sites' changes.
OUTSIDE_VPS_LOCK = ("backup",)


def ready_operations(vps_id) -> list[Operation]:
    """The oldest unfinished operation of every site on the VPS, oldest first."""
    rows = db.session.scalars(
        select(Operation).join(Site, Operation.site_id == Site.id)
        .where(Site.vps_id == vps_id, Operation.status.in_(("queued", "running")),
               Operation.kind.not_in(OUTSIDE_VPS_LOCK))
        .order_by(Operation.created_at, Operation.id)
    ).all()
    heads, seen = [], set()
    for operation in rows:
        if operation.site_id not in seen:
            seen.add(operation.site_id)
            heads.append(operation)
    return heads


def drain(operation_id, vps_id, run_alone: Callable[[Operation], None]) -> None:
    """Apply batches of ready operations until `operation_id` has finished.

    Each round finishes the head of the operation's own site, so this ends; the operations
    of other sites that are ready by then ride along (up to `CHOM_BATCH_SIZE`).
    """
    size = max(1, current_app.config["CHOM_BATCH_SIZE"])
    while True:
        own = db.session.get(Operation, operation_id, populate_existing=True)
        if own.status in FINISHED:
            return
        heads = ready_operations(vps_id)
        head = next((op for op in heads if op.site_id == own.site_id), own)
        if head.kind in ALONE:
            run_alone(head)
            continue
        others = [op for op in heads if op.kind not in ALONE and op is not head]
        run_batch([head, *others[: size - 1]])


@dataclass
class _Member:
    operation: Operation
    lifecycle: Lifecycle
    context: object
    plan: Plan


def _prepare(operations: list[Operation]) -> list[_Member]:
    members = []
    for operation in operations:
        try:
            members.append(_Member(operation, *build_plan(operation)))
        except Exception as error:  # a plugin's bug fails its own operation, not the batch
            log.exception("building the plan of operation %s failed", operation.id)
            operation.started_at = operation.started_at or utcnow()
            finish(operation, operation.site, "failed",
                   f"the plan could not be built: {type(error).__name__}: {error}", commit=False)
    return members


def _batch_span(vps, batch_id: str, members: list[_Member]):
    return tracing.span(
        "apply batch", attributes={
            "chom.vps.name": vps.name, "chom.batch.id": batch_id,
            "chom.batch.size": len(members),
            "chom.site.ids": [str(m.operation.site_id) for m in members],
            "chom.operation.ids": [str(m.operation.id) for m in members]})


def run_batch(operations: list[Operation]) -> None:
    """Claim `operations` (one per site, same VPS), apply their plans in one invocation and
    record each one's steps and outcome. Raises `TransportError` (all of them stay `running`,
    their jobs retry) when the program did not run to its end."""
    members = _prepare(operations)
    batch_id = uuid.uuid4().hex[:8]
    vps = operations[0].site.vps
    for m in members:
        m.operation.status = "running"
        m.operation.started_at = m.operation.started_at or utcnow()
        m.operation.step_count, m.operation.step_index = len(m.plan.steps), 0
        m.operation.error = None
        m.operation.site.status = m.lifecycle.running_status or m.operation.site.status
        append_log(m.operation, f"applying {m.lifecycle.action} plan ({len(m.plan.steps)} "
                                f"steps) on {vps.name} (batch {batch_id} of {len(members)})")
    db.session.commit()
    if not members:
        return

    progress = ProgressWriter(db.engine, PROGRESS_COMMIT_SECONDS)
    step_spans = tracing.StepSpans()

    def began(g: int, n: int) -> None:
        operation = members[g].operation
        step = members[g].plan.steps[n - 1]
        # The step's kind, never its description (a command's argv may hold a secret).
        step_spans.begin((g, n), f"step {type(step).__name__}", site_id=str(operation.site_id),
                         operation_id=str(operation.id), vps_name=vps.name,
                         **{"step.index": n, "step.name": type(step).__name__})
        operation.step_index = n
        operation.current_step = members[g].plan.steps[n - 1].describe()[:200]
        # Seen by the console and API while it runs, without a commit per step.
        progress.note(operation.id, n, operation.current_step)

    def stepped(g: int, outcome: StepOutcome) -> None:
        step_spans.end((g, outcome.index), outcome.result)
        # Saved with the outcomes when the batch ends (the live part is the step above).
        steps = members[g].plan.steps
        append_log(members[g].operation, f"[{outcome.index}/{len(steps)}] "
                                         f"{steps[outcome.index - 1].describe()}: {outcome.result}")

    try:
        # No autoflush while the batch runs: the session must not lock the rows the progress
        # writer updates (their changes go in with the final commit).
        with progress, db.session.no_autoflush, _batch_span(vps, batch_id, members), \
                tracing.for_invocations(**{"site.ids": [str(m.operation.site_id)
                                                        for m in members]}):
            try:
                results = apply_batch(transport_for(vps), [m.plan for m in members],
                                      profile_of(vps), on_begin=began, on_step=stepped)
            finally:
                step_spans.close()
    except (PlanFailed, HostKeyMismatch) as error:
        for m in members:
            finish(m.operation, m.operation.site, "failed", str(error), m.lifecycle,
                   commit=False)
        db.session.commit()
        return
    except TransportError as error:
        for m in members:
            append_log(m.operation, f"connection to {vps.name} lost: {error}; will retry")
            m.operation.error = str(error)
        db.session.commit()
        raise
    for m, result in zip(members, results, strict=True):
        if result.error is not None:
            finish(m.operation, m.operation.site, "failed", str(result.error), m.lifecycle,
                   commit=False)
        else:
            finish(m.operation, m.operation.site, "succeeded", None, m.lifecycle, commit=False)
    db.session.commit()
    for m, result in zip(members, results, strict=True):
        if result.error is None and m.lifecycle.hook:
            announce(m.lifecycle.hook, m.context)
