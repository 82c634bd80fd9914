"""`flask chom scheduler` as real processes on real Redis: one leader among several, a dead
leader replaced, and a run missed while no scheduler ran caught up at start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import redis
from rq import Queue
from sqlalchemy import select

from chom.extensions import db
from chom.integration.scheduler import HISTORY_KEY, LAST_RUN_KEY, LEADER_KEY
from chom.models import Tenant, UsageSnapshot
from chom.models.base import utcnow
from chom.models.scoping import unscoped
from tests.conftest import TEST_REDIS_URL
from tests.workers import ROOT, RqWorkers

FAST = {"CHOM_SCHEDULER_TICK_SECONDS": "0.1", "CHOM_SCHEDULER_LOCK_TTL": "2"}
EVERY_SECOND = ",".join(f"{name}=1" for name in (
    "daily-backups", "certificate-renewals", "reconcile", "backup-retention", "usage-snapshots",
    "certificate-expiry-warnings", "billing-standing"))


@pytest.fixture
def connection():
    connection = redis.Redis.from_url(TEST_REDIS_URL)
    connection.delete(LEADER_KEY, LAST_RUN_KEY, HISTORY_KEY)
    yield connection
    connection.delete(LEADER_KEY, LAST_RUN_KEY, HISTORY_KEY)


class Schedulers:
    def __init__(self, workers: RqWorkers, env: dict) -> None:
        self.workers, self.env, self.processes = workers, env, []

    def start(self) -> subprocess.Popen:
        log = (self.workers.logs / f"scheduler{len(self.processes)}.log").open("wb")
        process = subprocess.Popen([sys.executable, "-m", "flask", "chom", "scheduler"],
                                   cwd=ROOT, env={**self.workers.env(), **self.env},
                                   stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=20)


@pytest.fixture
def schedulers(clean_app, tmp_path):
    made = []

    def _make(**env) -> Schedulers:
        workers = RqWorkers(tmp_path)
        made.append(workers)
        running = Schedulers(workers, {**FAST, **env})
        made.append(running)
        return running

    yield _make
    for item in reversed(made):
        item.stop()


def _history(connection) -> list[dict]:
    return [json.loads(raw) for raw in connection.lrange(HISTORY_KEY, 0, -1)]


def _wait_for(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)
    return found


def test_one_scheduler_leads_and_another_takes_over_when_it_dies(schedulers, connection):
    running = schedulers(CHOM_SCHEDULE_INTERVALS=EVERY_SECOND)
    first, second = running.start(), running.start()
    # Both run; every job is enqueued again and again, always by the same one.
    _wait_for(lambda: len(_history(connection)) >= 15, "15 enqueues")
    leaders = {entry["by"] for entry in _history(connection)}
    assert len(leaders) == 1
    [leader] = leaders
    leader_pid = int(leader.split(":")[1])
    assert leader_pid in (first.pid, second.pid)
    assert first.poll() is None and second.poll() is None  # the other one is alive, waiting

    # The leader dies without letting go; the other takes over once the lock expires.
    dead = first if first.pid == leader_pid else second
    os.kill(dead.pid, signal.SIGKILL)
    dead.wait()
    seen = len(_history(connection))
    _wait_for(lambda: any(e["by"] != leader for e in _history(connection)[seen:]), "a new leader")
    after = _history(connection)[seen:]
    takeover = next(i for i, e in enumerate(after) if e["by"] != leader)
    # Once the survivor leads, it alone enqueues.
    assert {e["by"] for e in after[takeover:]} == {after[takeover]["by"]}
    assert int(after[takeover]["by"].split(":")[1]) == (second if dead is first else first).pid


def test_a_missed_run_is_caught_up_at_start_and_a_recent_one_is_not_repeated(
        clean_app, schedulers, connection, register, tmp_path):
    account = register("Usage Co")
    now = utcnow()
    last_runs = {
        "usage-snapshots": now - timedelta(hours=2),       # hourly: overdue
        "backup-retention": now - timedelta(hours=1),      # every 6 h: not due
        "certificate-renewals": now - timedelta(hours=1),  # every 6 h: not due
        "daily-backups": now,                              # every 10 min: not due
        "reconcile": now,                                  # every 5 min: not due
        "certificate-expiry-warnings": now,                # every 6 h: not due
        "billing-standing": now,                           # hourly: not due
    }
    for name, at in last_runs.items():
        connection.hset(LAST_RUN_KEY, name, json.dumps({"at": at.isoformat(), "by": "before"}))
    running = schedulers()
    process = running.start()
    _wait_for(lambda: _history(connection), "the first enqueue")
    running.stop()  # SIGTERM: the pass under way finishes, then it exits
    assert process.returncode == 0
    assert [e["job"] for e in _history(connection)] == ["usage-snapshots"]
    caught_up = json.loads(connection.hget(LAST_RUN_KEY, "usage-snapshots"))
    assert caught_up["by"] != "before" and caught_up["at"] > now.isoformat()

    # The enqueued job is a real RQ job: a worker runs it and the usage is recorded.
    queue = Queue(running.workers.queue_name, connection=connection)
    assert [job.func_name for job in queue.jobs] == ["chom.jobs.scheduled.usage_snapshots"]
    subprocess.run([sys.executable, "-m", "flask", "chom", "worker", "--burst"], cwd=ROOT,
                   env=running.workers.env(), check=True, capture_output=True, timeout=120)
    with clean_app.app_context(), unscoped():
        snapshot = db.session.scalar(select(UsageSnapshot))
        tenant = db.session.scalar(select(Tenant))
        assert snapshot.tenant_id == tenant.id and str(tenant.id) == account.tenant_id
        assert (snapshot.sites, snapshot.storage_bytes) == (0, 0)
