"""An RQ worker whose jobs run inside the Flask app context."""

from __future__ import annotations

from rq import SimpleWorker

from chom.integration.queue import current_queue


class AppWorker(SimpleWorker):
    """Runs every job inside `app.app_context()`, so jobs use the app's settings and db.

    Jobs run in the worker process itself (no fork per job), so its database pool and its
    pooled SSH connections outlive a job: a new connection per job cost ~80 ms of SSH set-up
    and a new PostgreSQL session (docs/performance.md). Scale out with more worker processes.
    """

    app = None

    def perform_job(self, *args, **kwargs) -> bool:
        with self.app.app_context():
            return super().perform_job(*args, **kwargs)


def run_worker(app, *, burst: bool = False) -> bool:
    queue = current_queue()
    if queue.mode != "rq":
        raise SystemExit("No Redis answers at REDIS_URL: jobs run inside the web process.")
    AppWorker.app = app
    worker = AppWorker([queue.queue], connection=queue.connection)
    return worker.work(burst=burst, with_scheduler=True)
