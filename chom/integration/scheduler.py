"""Recurring work on rq's built-in cron scheduler (`rq.cron`, rq >= 2.5), made safe to run in
several processes at once.

rq's `CronScheduler` enqueues each registered function on its queue every `interval` seconds,
and runs a never-run job at once; it keeps its timings in its own process. Two things are added
here, in a subclass:

* one leader: a Redis lock (`chom:scheduler:leader`) taken without waiting and renewed on every
  loop (the loop never sleeps longer than a third of its ttl). Only the holder enqueues; the
  others keep trying, and one takes over within the ttl when the leader dies;
* last runs that outlive the process: each enqueue is recorded in the Redis hash
  `chom:scheduler:last_run`, and whoever becomes leader loads it first. A job whose interval
  has passed since its last run (the scheduler was down, or the leader died) runs at once:
  caught up, not skipped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from datetime import datetime

import redis
from redis.exceptions import LockError
from rq.cron import CronScheduler

LEADER_KEY = "chom:scheduler:leader"
LAST_RUN_KEY = "chom:scheduler:last_run"
#: the latest enqueues (job, when, by which scheduler), newest last, for operators and tests
HISTORY_KEY = "chom:scheduler:history"
HISTORY_LENGTH = 500

log = logging.getLogger(__name__)


class LeaderCronScheduler(CronScheduler):
    def __init__(self, connection: redis.Redis, *, lock_ttl: int, tick: float,
                 name: str = "") -> None:
        super().__init__(connection, name=name)
        self.lock = connection.lock(LEADER_KEY, timeout=lock_ttl, thread_local=False)
        self.tick = min(tick, lock_ttl / 3)
        self.leading = False

    def load_last_runs(self) -> None:
        """Take each job's last run from Redis (a job never run runs at once)."""
        stored = self.connection.hgetall(LAST_RUN_KEY)
        for job in self.get_jobs():
            raw = stored.get(job.name.encode())
            if raw is None:
                job.latest_enqueue_time = job.next_enqueue_time = None
            else:
                job.set_enqueue_time(datetime.fromisoformat(json.loads(raw)["at"]))

    def lead(self) -> bool:
        """Hold (or renew) the leader lock; whether this process leads now."""
        if self.leading:
            try:
                self.lock.reacquire()
                return True
            except LockError:
                log.warning("scheduler %s lost the leader lock", self.name)
                self.leading = False
        if self.lock.acquire(blocking=False):
            log.info("scheduler %s leads", self.name)
            self.leading = True
            self.load_last_runs()
        return self.leading

    def enqueue_jobs(self):
        enqueued = super().enqueue_jobs()
        for job in enqueued:
            at = job.latest_enqueue_time.isoformat()
            record = json.dumps({"at": at, "by": self.name})
            with self.connection.pipeline() as pipeline:
                pipeline.hset(LAST_RUN_KEY, job.name, record)
                pipeline.rpush(HISTORY_KEY, json.dumps({"job": job.name, "at": at,
                                                        "by": self.name}))
                pipeline.ltrim(HISTORY_KEY, -HISTORY_LENGTH, -1)
                pipeline.execute()
        return enqueued

    def run(self, stop: threading.Event) -> None:
        """Lead (or wait to) and enqueue what is due until `stop` is set."""
        self.register_birth()
        try:
            while not stop.is_set():
                if self.lead():
                    self.enqueue_jobs()
                self.heartbeat()
                wait = self.tick
                if self.leading:
                    wait = min(wait, max(self.calculate_sleep_interval(), 0.05))
                stop.wait(wait)
        finally:
            if self.leading:
                with contextlib.suppress(LockError):
                    self.lock.release()
            self.register_death()
