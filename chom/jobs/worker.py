"""An RQ worker whose jobs run inside the Flask app context."""

from __future__ import annotations

import logging
import time

import redis
from opentelemetry.trace import Status, StatusCode
from redis.backoff import FullJitterBackoff
from rq import SimpleWorker

from chom import tracing
from chom.extensions import db
from chom.integration.queue import current_queue

log = logging.getLogger(__name__)

# Waiting for Redis to come back: full jitter, from 0.5 s up to 30 s between attempts.
REDIS_BACKOFF = FullJitterBackoff(cap=30, base=0.5)


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


def _wait_for_redis(connection: redis.Redis) -> None:
    failures = 0
    while True:
        try:
            connection.ping()
            return
        except (redis.ConnectionError, redis.TimeoutError):
            failures += 1
            time.sleep(REDIS_BACKOFF.compute(failures))


def run_worker(app, *, burst: bool = False) -> bool:
    """Work on CHOM's queue until stopped (or, with `burst`, until it is empty).

    rq gives up when Redis goes away under a job it is finishing; this worker then waits for
    Redis and works on in the same process. What Redis lost meanwhile is recorded as
    Operations in the database, and `flask chom reconcile` (scheduled) hands it over again.
    """
    queue = current_queue()
    if queue.mode != "rq":
        raise SystemExit("No Redis answers at REDIS_URL: jobs run inside the web process.")
    AppWorker.app = app
    # The worker's own service name (unless OTEL_SERVICE_NAME says otherwise); the app's engines
    # were made before, so they are handed over to be traced too.
    tracing.configure(tracing.SERVICE_WORKER, engines=tuple(db.engines.values()))
    while True:
        worker = AppWorker([queue.queue], connection=queue.connection)
        try:
            return worker.work(burst=burst, with_scheduler=True)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            log.warning("lost Redis (%s); working on once it answers again", error)
            _wait_for_redis(queue.connection)
