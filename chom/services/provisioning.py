"""Running an Operation: queued by id, applied under its VPS's lock (`services.batches`)."""

from __future__ import annotations

import logging
import uuid

from flask import current_app
from sqlalchemy import select

from chom import tracing
from chom.extensions import db
from chom.integration.executor import PlanFailed, TransportError
from chom.integration.queue import JobCall, QueueUnavailable, current_queue
from chom.log_context import correlation_id
from chom.models import Operation
from chom.models.base import utcnow
from chom.models.scoping import unscoped
from chom.plugin_api import HostKeyMismatch
from chom.services import backup_runs, batches, notifications, ssl
from chom.services.lifecycles import (  # noqa: F401  (re-exported: where they used to be)
    CORE_PLANS,
    FINISHED,
    LIFECYCLES,
    Lifecycle,
    append_log,
    finish,
)
from chom.services.lookup import get_or_not_found

log = logging.getLogger(__name__)


PROVISION_JOB = "chom.jobs.provisioning.run_operation"
PROVISION_FAILED = "chom.jobs.provisioning.operation_failed"


def enqueue_operation(operation: Operation) -> None:
    """Hand an Operation to the queue; the job carries only its id (`enqueue_operations`)."""
    enqueue_operations([operation])


def enqueue_operations(operations: list[Operation]) -> None:
    """Hand Operations to the queue, one job each (carrying only the operation's id), in one
    round trip.

    Transient failures (a connection lost, an earlier operation unfinished) are retried after
    `CHOM_JOB_RETRY_INTERVALS`; a step that fails on the VPS fails the operation at once.
    With Redis unreachable the operations stay `queued` in the database (already committed),
    and `resume_stalled_operations` (`flask chom reconcile`, scheduled) hands them over later.
    """
    intervals = current_app.config["CHOM_JOB_RETRY_INTERVALS"]
    calls = [JobCall((str(operation.id),), operation.job_id,
                     {"correlation_id": operation.correlation_id,
                      "site_id": str(operation.site_id)}) for operation in operations]
    try:
        current_queue().enqueue_many(PROVISION_JOB, calls, retries=len(intervals),
                                     retry_intervals=intervals, on_failure=PROVISION_FAILED)
    except QueueUnavailable as error:
        log.warning("operations %s stay queued until the queue is back: %s",
                    ", ".join(str(operation.id) for operation in operations), error)


def run_operation(operation_id: str) -> None:
    """Apply the operation's plan to its site's VPS; safe to run again (plans converge).

    Runs inside the VPS's lock, together with the other operations ready for that VPS (one
    per site, the oldest unfinished of each: `services.batches`), in one remote invocation
    with each reload once at the end. A site's operations run one at a time and in the order
    they were asked for; each operation keeps its own steps, log and outcome. A step failing
    on the VPS fails its own operation (and site). A lost connection raises `TransportError`,
    and a VPS lock held too long `LockBusy`, so the queue retries the job. An operation
    another job already finished returns at once. A backup only reads the VPS: it runs alone,
    outside the VPS's lock, under a lock of the site's own (`lock_for`), so a long one never
    holds up the other sites on that VPS.
    """
    with unscoped():
        operation = get_or_not_found(Operation, operation_id, "Operation")
        correlation_id.set(operation.correlation_id)  # this job's log lines name its request
        if operation.status in FINISHED:
            return
        own_id, vps_id = operation.id, operation.site.vps_id
        lock = lock_for(operation)
        db.session.rollback()  # the lock may take a while: hold no transaction meanwhile
    ttl = current_app.config["CHOM_SITE_LOCK_TTL"]
    with current_queue().lock(lock, ttl=ttl), unscoped():
        if lock != vps_lock(vps_id):  # a kind that only reads the VPS: run it alone
            operation = get_or_not_found(Operation, own_id, "Operation")
            if operation.status not in FINISHED:
                backup_runs.run_backup(operation)
            return
        batches.drain(own_id, vps_id, run_alone=_run_alone)


def vps_lock(vps_id) -> str:
    """The lock every job applying plans to that VPS holds."""
    return f"vps:{vps_id}"


def lock_for(operation: Operation) -> str:
    """The lock a live job running `operation` holds: its VPS's, or, for a kind that only
    reads the VPS (a backup), one of the site's own for that kind."""
    if operation.kind in batches.OUTSIDE_VPS_LOCK:
        return f"site:{operation.site_id}:{operation.kind}"
    return vps_lock(operation.site.vps_id if operation.site else None)


def resume_stalled_operations() -> list[Operation]:
    """Enqueue again every unfinished operation no live job is working on.

    A worker killed mid-plan leaves its operation `running`; its VPS lock, renewed while the
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
            if queue.lock_is_held(lock_for(operation)):
                continue
            if operation.status == "queued" and queue.job_is_pending(operation.job_id):
                continue
            operation.job_id = f"op-{operation.id}-{uuid.uuid4().hex[:8]}"
            append_log(operation, "resumed: the job working on it had stopped")
            resumed.append(operation)
        db.session.commit()
    for operation in resumed:
        enqueue_operation(operation)
    return resumed


def _run_alone(operation: Operation) -> None:
    """The kinds `services.batches` applies one at a time, each by its own service."""
    runners = {"issue_ssl": _issue_ssl, "restore": backup_runs.run_restore}
    runners[operation.kind](operation)


def _issue_ssl(operation: Operation) -> None:
    site = operation.site
    operation.status = "running"
    operation.started_at = operation.started_at or utcnow()
    operation.step_count, operation.error = len(ssl.PHASES), None
    db.session.commit()

    phase_spans = tracing.StepSpans(current=True)

    def progress(index: int, phase: str) -> None:
        phase_spans.end(index - 1, "done")
        phase_spans.begin(index, f"phase {phase}", site_id=str(site.id), vps_name=site.vps.name,
                          operation_id=str(operation.id),
                          **{"step.index": index, "step.name": phase})
        operation.step_index, operation.current_step = index, phase
        append_log(operation, f"[{index}/{len(ssl.PHASES)}] {phase}")
        db.session.commit()

    try:
        with tracing.for_invocations(**{"site.ids": [str(site.id)]}):
            try:
                ssl.issue_certificate(operation, site, progress)
            except Exception:
                phase_spans.close("failed")
                raise
            phase_spans.close("done")
    except (ssl.CertificateFailed, PlanFailed, HostKeyMismatch) as error:
        # The site keeps serving as it did: a certificate that failed does not fail the site.
        operation.status, operation.error = "failed", str(error)
        operation.finished_at = utcnow()
        append_log(operation, f"failed: {error}")
        db.session.commit()
        if site.ssl_expires_at is not None:  # a certificate to renew, and it was not
            notifications.notify_tenant(site.tenant_id, "ssl.renewal_failed", {
                "site_id": str(site.id), "domain": site.domain,
                "expires_at": site.ssl_expires_at.isoformat(), "error": str(error)[:1000]})
        return
    except TransportError as error:
        append_log(operation, f"connection to {site.vps.name} lost: {error}; will retry")
        operation.error = str(error)
        db.session.commit()
        raise
    operation.status, operation.finished_at = "succeeded", utcnow()
    append_log(operation, f"certificate installed; valid until {site.ssl_expires_at:%Y-%m-%d}")
    db.session.commit()


def mark_failed(operation_id: str, reason: str) -> None:
    """Mark an operation (and its site) failed after its job exhausted its retries.

    Not one a live job is applying right now (its VPS lock is held): that job records the
    outcome, and if it dies, `resume_stalled_operations` takes the operation up again."""
    with unscoped():
        operation = get_or_not_found(Operation, operation_id, "Operation")
        if operation.status in FINISHED:
            return
        if operation.status == "running" and operation.site is not None and \
                current_queue().lock_is_held(lock_for(operation)):
            return
        finish(operation, operation.site, "failed", reason)
        if operation.kind == "backup":
            backup_runs.backup_failed(operation, reason)
