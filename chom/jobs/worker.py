"""An RQ worker whose jobs run inside the Flask app context."""

from __future__ import annotations

from opentelemetry.trace import Status, StatusCode
from rq import SimpleWorker

from chom import tracing
from chom.extensions import db
from chom.integration.queue import current_queue


class AppWorker(SimpleWorker):
    """Runs every job inside `app.app_context()`, so jobs use the app's settings and db.

    Jobs run in the worker process itself (no fork per job), so its database pool and its
    pooled SSH connections outlive a job: a new connection per job cost ~80 ms of SSH set-up
    and a new PostgreSQL session (docs/performance.md). Scale out with more worker processes.
    """

    app = None

    def perform_job(self, job, queue, *args, **kwargs) -> bool:
        meta = job.meta or {}
        with self.app.app_context(), tracing.job_span(
            job.func_name, meta.get(tracing.CARRIER_KEY), job_id=job.id, queue=queue.name,
            correlation_id=meta.get("correlation_id"), site_id=meta.get("site_id"),
        ) as span:
            ok = super().perform_job(job, queue, *args, **kwargs)
            if not ok and span.is_recording():
                # rq has recorded the failure; only its kind goes on the span.
                span.set_status(Status(StatusCode.ERROR, "job failed"))
            return ok


def run_worker(app, *, burst: bool = False) -> bool:
    queue = current_queue()
    if queue.mode != "rq":
        raise SystemExit("No Redis answers at REDIS_URL: jobs run inside the web process.")
    AppWorker.app = app
    # The worker's own service name (unless OTEL_SERVICE_NAME says otherwise); the app's engines
    # were made before, so they are handed over to be traced too.
    tracing.configure(tracing.SERVICE_WORKER, engines=tuple(db.engines.values()))
    worker = AppWorker([queue.queue], connection=queue.connection)
    return worker.work(burst=burst, with_scheduler=True)
