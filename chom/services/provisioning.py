"""Running an Operation: build the site type's plan, apply it, record progress and outcome."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from chom.extensions import db
from chom.integration.executor import PlanFailed, StepOutcome, TransportError, apply_plan
from chom.integration.queue import current_queue
from chom.integration.transports.pool import transport_for
from chom.models import Operation
from chom.models.base import utcnow
from chom.models.scoping import unscoped
from chom.plugin_api import EnsureDirectory, ExtractArchive, HostKeyMismatch, Plan
from chom.plugins import current_site_types
from chom.services import ssl
from chom.services.lookup import get_or_not_found
from chom.services.site_profile import profile_of, site_context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lifecycle:
    """How an operation kind moves its site, and which hook announces the result.

    A `None` status leaves the site's status as it is; `fails_site=False` means a failure
    fails the operation only (the site keeps serving what it served)."""

    action: str
    running_status: str | None
    done_status: str | None
    hook: str | None
    fails_site: bool = True


LIFECYCLES = {
    "provision": Lifecycle("provision", "provisioning", "active", "chom_site_provisioned"),
    "deprovision": Lifecycle("deprovision", "deleting", "deleted", "chom_site_deleted"),
    "suspend": Lifecycle("suspend", "suspended", "suspended", "chom_site_suspended"),
    "resume": Lifecycle("resume", "provisioning", "active", None),
    "deploy_content": Lifecycle("deploy_content", None, None, None, fails_site=False),
}


def _content_plan(operation: Operation, context) -> Plan:
    """Uploaded content, already validated and repacked (`services.content`)."""
    return Plan("deploy_content", (
        EnsureDirectory(context.paths.web_root, owner=context.paths.system_user),
        ExtractArchive(context.paths.web_root, operation.payload,
                       owner=context.paths.system_user),
    ))


# Plans the core builds itself; every other action's plan comes from the site type.
CORE_PLANS = {"deploy_content": _content_plan}


PROVISION_JOB = "chom.jobs.provisioning.run_operation"
PROVISION_FAILED = "chom.jobs.provisioning.operation_failed"


def enqueue_operation(operation: Operation) -> None:
    """Hand an Operation to the queue; the job carries only its id.

    Transient failures (a connection lost, an earlier operation unfinished) are retried after
    `CHOM_JOB_RETRY_INTERVALS`; a step that fails on the VPS fails the operation at once.
    """
    intervals = current_app.config["CHOM_JOB_RETRY_INTERVALS"]
    current_queue().enqueue(
        PROVISION_JOB,
        str(operation.id),
        job_id=operation.job_id,
        retries=len(intervals),
        retry_intervals=intervals,
        meta={"correlation_id": operation.correlation_id, "site_id": str(operation.site_id)},
        on_failure=PROVISION_FAILED,
    )


class OperationDeferred(RuntimeError):
    """An earlier operation on the same site has not finished: the job is retried later."""


def _append_log(operation: Operation, line: str) -> None:
    operation.log = (operation.log or "") + line + "\n"


def run_operation(operation_id: str) -> None:
    """Apply the operation's plan to its site's VPS; safe to run again (plans converge).

    A site's operations run one at a time and in the order they were asked for. A step failing
    on the VPS marks the operation and site `failed` (a retry converges). A lost connection
    raises `TransportError`, and an unfinished earlier operation `OperationDeferred`, so the
    queue retries the job.
    """
    with unscoped():
        operation = get_or_not_found(Operation, operation_id, "Operation")
        site_id = operation.site_id
    ttl = current_app.config["CHOM_SITE_LOCK_TTL"]
    with current_queue().lock(f"site:{site_id}", ttl=ttl):
        _run_locked(operation_id)


def resume_stalled_operations() -> list[Operation]:
    """Enqueue again every unfinished operation no live job is working on.

    A worker killed mid-plan leaves its operation `running`; its site lock, renewed while the
    job lives, expires within `CHOM_SITE_LOCK_TTL` seconds, and then the operation is resumed
    here. Re-running is always safe: plans converge and a site's operations are serialised.
    """
    queue = current_queue()
    with unscoped():
        unfinished = db.session.scalars(
            select(Operation).where(Operation.status.in_(("queued", "running")))
            .order_by(Operation.created_at)
        ).all()
        resumed = []
        for operation in unfinished:
            if queue.lock_is_held(f"site:{operation.site_id}"):
                continue
            if operation.status == "queued" and queue.job_is_pending(operation.job_id):
                continue
            operation.job_id = f"op-{operation.id}-{uuid.uuid4().hex[:8]}"
            _append_log(operation, "resumed: the job working on it had stopped")
            resumed.append(operation)
        db.session.commit()
    for operation in resumed:
        enqueue_operation(operation)
    return resumed


def _earlier_unfinished(operation: Operation) -> Operation | None:
    return db.session.scalar(
        select(Operation).where(
            Operation.site_id == operation.site_id,
            Operation.created_at < operation.created_at,
            Operation.status.in_(("queued", "running")),
        ).limit(1)
    )


def _run_locked(operation_id: str) -> None:
    with unscoped():
        operation = get_or_not_found(Operation, operation_id, "Operation")
        if operation.status in ("succeeded", "failed"):
            return
        earlier = _earlier_unfinished(operation)
        if earlier is not None:
            raise OperationDeferred(f"waiting for {earlier.kind} operation {earlier.id}")
        if operation.kind == "issue_ssl":
            _issue_ssl(operation)
            return
        site = operation.site
        lifecycle = LIFECYCLES[operation.kind]
        site_type = current_site_types()[site.type]
        secret_box = current_app.extensions["chom_secrets"]
        password = secret_box.decrypt(site.db_password_encrypted) \
            if site.db_password_encrypted else None
        context = site_context(site, site.vps, password)
        core_plan = CORE_PLANS.get(lifecycle.action)
        plan = (core_plan(operation, context) if core_plan
                else site_type.plan_for(lifecycle.action, context))

        operation.status = "running"
        operation.started_at = operation.started_at or utcnow()
        operation.step_count = len(plan.steps)
        operation.step_index = 0
        operation.error = None
        site.status = lifecycle.running_status or site.status
        _append_log(operation, f"applying {lifecycle.action} plan ({len(plan.steps)} steps) "
                               f"on {site.vps.name}")
        db.session.commit()

        def started(index: int) -> None:
            operation.step_index = index
            operation.current_step = plan.steps[index - 1].describe()[:200]
            db.session.commit()  # the console and API see "step i of n" while it runs

        def finished(outcome: StepOutcome) -> None:
            step = plan.steps[outcome.index - 1]
            _append_log(operation, f"[{outcome.index}/{len(plan.steps)}] {step.describe()}: "
                                   f"{outcome.result}")
            db.session.commit()

        try:
            apply_plan(transport_for(site.vps), plan, profile_of(site.vps), on_step=finished,
                       on_begin=started)
        except (PlanFailed, HostKeyMismatch) as error:
            _finish(operation, site, "failed", str(error))
            return
        except TransportError as error:
            _append_log(operation, f"connection to {site.vps.name} lost: {error}; will retry")
            operation.error = str(error)
            db.session.commit()
            raise
        _finish(operation, site, "succeeded", None, lifecycle)
    if lifecycle.hook:
        _announce(lifecycle.hook, context)


def _issue_ssl(operation: Operation) -> None:
    site = operation.site
    operation.status = "running"
    operation.started_at = operation.started_at or utcnow()
    operation.step_count, operation.error = len(ssl.PHASES), None
    db.session.commit()

    def progress(index: int, phase: str) -> None:
        operation.step_index, operation.current_step = index, phase
        _append_log(operation, f"[{index}/{len(ssl.PHASES)}] {phase}")
        db.session.commit()

    try:
        ssl.issue_certificate(operation, site, progress)
    except (ssl.CertificateFailed, PlanFailed, HostKeyMismatch) as error:
        # The site keeps serving as it did: a certificate that failed does not fail the site.
        operation.status, operation.error = "failed", str(error)
        operation.finished_at = utcnow()
        _append_log(operation, f"failed: {error}")
        db.session.commit()
        return
    except TransportError as error:
        _append_log(operation, f"connection to {site.vps.name} lost: {error}; will retry")
        operation.error = str(error)
        db.session.commit()
        raise
    operation.status, operation.finished_at = "succeeded", utcnow()
    _append_log(operation, f"certificate installed; valid until {site.ssl_expires_at:%Y-%m-%d}")
    db.session.commit()


def _finish(operation, site, status, error, lifecycle: Lifecycle | None = None) -> None:
    lifecycle = lifecycle or LIFECYCLES.get(operation.kind)
    operation.status = status
    operation.error = error
    operation.finished_at = utcnow()
    if status == "failed":
        if lifecycle is None or lifecycle.fails_site:
            site.status = "failed"
        _append_log(operation, f"failed: {error}")
    else:
        site.status = lifecycle.done_status or site.status
        if lifecycle.done_status == "deleted":
            site.deleted_at = utcnow()
        _append_log(operation, "done")
    db.session.commit()


def _announce(hook_name: str, context) -> None:
    hook = getattr(current_app.extensions["chom_plugins"].hook, hook_name)
    try:
        hook(site=context)
    except Exception:  # a plugin's listener must not undo a finished operation
        log.exception("%s listener failed", hook_name)


def mark_failed(operation_id: str, reason: str) -> None:
    """Mark an operation (and its site) failed after its job exhausted its retries."""
    with unscoped():
        operation = get_or_not_found(Operation, operation_id, "Operation")
        if operation.status in ("succeeded", "failed"):
            return
        _finish(operation, operation.site, "failed", reason)
