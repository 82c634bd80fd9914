"""An RQ worker whose jobs run inside the Flask app context."""

from __future__ import annotations

from rq import Worker

from chom.integration.queue import current_queue


class AppWorker(Worker):
    """Runs every job inside `app.app_context()`, so jobs use the app's settings and db."""

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
