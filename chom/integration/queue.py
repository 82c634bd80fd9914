"""Where jobs run: RQ when Redis answers, else a worker thread inside this process.

Jobs are named by dotted path (`chom.jobs.provisioning.run_operation`), so the services that
enqueue them never import the job layer. Both ways run the same job function with ids only.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace

import redis
from opentelemetry.trace import SpanKind
from redis.exceptions import LockError
from rq import Callback, Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from werkzeug.utils import import_string

from chom import tracing

log = logging.getLogger(__name__)


class QueueUnavailable(RuntimeError):
    """Redis did not take the job: whatever the job was for must stay recorded elsewhere (an
    Operation row) so that it can be handed over again once Redis is back."""


class LockBusy(RuntimeError):
    """Another job holds the lock: retry later."""


@dataclass(frozen=True)
class JobCall:
    """One job of `enqueue_many`: its arguments (ids only), id and meta."""

    args: tuple
    job_id: str | None = None
    meta: dict | None = None


@contextlib.contextmanager
def _renewed_redis_lock(connection: redis.Redis, name: str, ttl: int, wait: float):
    """A Redis lock renewed while held, so a killed holder frees it within `ttl` seconds."""
    lock = connection.lock(name, timeout=ttl, blocking_timeout=wait, thread_local=False)
    if not lock.acquire():
        raise LockBusy(f"{name} is held by another job")
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl / 3):
            with contextlib.suppress(redis.RedisError):
                lock.reacquire()

    renewer = threading.Thread(target=renew, daemon=True, name=f"renew {name}")
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        with contextlib.suppress(redis.RedisError, LockError):
            lock.release()


def _enqueue_span(func_path: str, queue_name: str, job_id: str | None):
    return tracing.span(
        f"enqueue {func_path.rsplit('.', 1)[-1]}", kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "rq", "messaging.destination.name": queue_name,
                    "chom.job.function": func_path, "chom.job.id": job_id or ""})


class InProcessQueue:
    """The embedded default: one background thread, jobs in order, each in an app context."""

    mode = "thread"

    def __init__(self, app) -> None:
        self._app = app
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chom-job")
        self._lock = threading.Lock()
        self._pending = 0

    def enqueue(
        self,
        func_path: str,
        *args,
        job_id: str | None = None,
        on_failure: str | None = None,
        **_options,
    ) -> str:
        with self._lock:
            self._pending += 1
        with _enqueue_span(func_path, "thread", job_id):
            carrier = tracing.inject()
        self._pool.submit(self._run, func_path, args, on_failure, carrier, job_id)
        return job_id or ""

    def enqueue_many(self, func_path: str, calls: Sequence[JobCall], **options) -> list[str]:
        """`enqueue` for each call, in order."""
        return [self.enqueue(func_path, *call.args, job_id=call.job_id, meta=call.meta,
                             **options) for call in calls]

    def _run(self, func_path: str, args: tuple, on_failure: str | None, carrier: dict,
             job_id: str | None) -> None:
        with self._app.app_context():
            try:
                with tracing.job_span(func_path, carrier, job_id=job_id):
                    import_string(func_path)(*args)
            except Exception as error:
                log.exception("job %s%r failed", func_path, args)
                if on_failure:
                    # The same callback RQ would call, for a job with no retries left.
                    job = SimpleNamespace(args=args, retries_left=0)
                    import_string(on_failure)(job, None, type(error), error, None)
            finally:
                with self._lock:
                    self._pending -= 1

    def depth(self) -> int:
        return self._pending

    def failed_count(self) -> int:
        return 0

    def lock(self, name: str, *, ttl: int = 60, wait: float = 60):
        """Jobs run one at a time in one thread here: nothing to exclude."""
        return contextlib.nullcontext()

    def lock_is_held(self, name: str) -> bool:
        return False

    def job_is_pending(self, job_id: str | None) -> bool:
        """Jobs of a previous process are gone; this one's are run in order anyway."""
        return False

    def wait_idle(self, timeout: float = 30) -> None:
        """Block until every job submitted so far has finished."""
        self._pool.submit(lambda: None).result(timeout=timeout)

    def ping(self) -> bool:
        return True


class RQQueue:
    """Jobs in Redis, run by `flask chom worker` processes."""

    mode = "rq"

    def __init__(self, connection: redis.Redis, name: str) -> None:
        self.connection = connection
        self.queue = Queue(name, connection=connection)

    def enqueue(
        self,
        func_path: str,
        *args,
        job_id: str | None = None,
        meta: dict | None = None,
        **options,
    ) -> str:
        """One job (`enqueue_many`'s options)."""
        return self.enqueue_many(func_path, [JobCall(args, job_id, meta)], **options)[0]

    def enqueue_many(
        self,
        func_path: str,
        calls: Sequence[JobCall],
        *,
        retries: int = 0,
        retry_intervals: list[int] | None = None,
        timeout: int = 1800,
        on_failure: str | None = None,
    ) -> list[str]:
        """Jobs calling `func_path`, one per call, handed to Redis in one round trip; all or
        none (`QueueUnavailable`)."""
        retry = Retry(max=retries, interval=retry_intervals or [10]) if retries else None
        job_id = calls[0].job_id if len(calls) == 1 else f"{len(calls)} jobs"
        with _enqueue_span(func_path, self.queue.name, job_id):
            # Each job's span continues this trace (`chom.jobs.worker.AppWorker`).
            carrier = tracing.inject()
            datas = [Queue.prepare_data(
                func_path, call.args, job_id=call.job_id,
                meta={**(call.meta or {}), tracing.CARRIER_KEY: carrier}, retry=retry,
                timeout=timeout, on_failure=Callback(on_failure) if on_failure else None,
            ) for call in calls]
            try:
                jobs = self.queue.enqueue_many(datas)
            except redis.RedisError as error:
                raise QueueUnavailable(f"Redis did not take {job_id}: {error}") from error
        return [job.id for job in jobs]

    def depth(self) -> int:
        return self.queue.count

    def lock(self, name: str, *, ttl: int = 60, wait: float = 60):
        """A lock across every worker process; `LockBusy` when not had within `wait` s."""
        return _renewed_redis_lock(self.connection, f"chom:lock:{name}", ttl, wait)

    def lock_is_held(self, name: str) -> bool:
        """Whether a live job holds `name` (a killed holder's lock expires within its ttl)."""
        return bool(self.connection.exists(f"chom:lock:{name}"))

    def job_is_pending(self, job_id: str | None) -> bool:
        """Whether the job is still waiting to run (queued, scheduled for a retry, deferred)."""
        if not job_id:
            return False
        try:
            status = Job.fetch(job_id, connection=self.connection).get_status()
        except NoSuchJobError:
            return False
        return status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)

    def failed_count(self) -> int:
        return self.queue.failed_job_registry.count

    def ping(self) -> bool:
        return bool(self.connection.ping())


def redis_answers(url: str | None) -> redis.Redis | None:
    """A connection to `url` when a Redis server answers there, else None."""
    if not url:
        return None
    connection = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
    try:
        connection.ping()
    except redis.RedisError:
        return None
    return connection


def build_queue(app):
    """Pick the queue for this app from `CHOM_JOB_MODE` (auto | rq | thread)."""
    mode = app.config["CHOM_JOB_MODE"]
    connection = redis_answers(app.config.get("REDIS_URL")) if mode in ("auto", "rq") else None
    if connection is not None:
        return RQQueue(connection, app.config["CHOM_QUEUE_NAME"])
    if mode == "rq":
        raise RuntimeError("CHOM_JOB_MODE=rq but REDIS_URL does not answer")
    return InProcessQueue(app)


def current_queue():
    """The queue bound to the current app."""
    from flask import current_app

    return current_app.extensions["chom_queue"]
