"""Real `flask chom worker` processes for tests: started, stopped, or killed outright."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import redis

from chom import create_app
from tests.conftest import PASSWORD, TEST_DATABASE_URL, TEST_REDIS_URL, Account, base_config

ROOT = Path(__file__).resolve().parents[1]


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def acme_env(pebble) -> dict:
    """What a worker process needs to ask pebble for certificates."""
    return {"ACME_DIRECTORY_URL": pebble.directory_url, "ACME_CA_BUNDLE": str(pebble.ca_bundle)}


class RqWorkers:
    """An app in rq mode on a queue of its own, and the worker processes that serve it."""

    def __init__(self, tmp_path: Path, extra_env: dict | None = None, *,
                 redis_url: str = TEST_REDIS_URL, **config) -> None:
        self.extra_env = extra_env or {}
        self.redis_url = redis_url
        self.queue_name = f"chom-test-{uuid.uuid4().hex[:8]}"
        self.config = base_config(tmp_path, CHOM_JOB_MODE="rq", REDIS_URL=redis_url,
                                  CHOM_QUEUE_NAME=self.queue_name, **config)
        self.app = create_app(self.config)
        assert self.app.extensions["chom_queue"].mode == "rq"
        self.logs = tmp_path
        self.processes: list[subprocess.Popen] = []

    def env(self) -> dict:
        return {
            **os.environ,
            "FLASK_APP": "wsgi",
            "DATABASE_URL": TEST_DATABASE_URL,
            "REDIS_URL": self.redis_url,
            "CHOM_JOB_MODE": "rq",
            "CHOM_QUEUE_NAME": self.queue_name,
            "CHOM_ENCRYPTION_KEYS": self.config["CHOM_ENCRYPTION_KEYS"],
            "CHOM_SITE_LOCK_TTL": str(self.config.get("CHOM_SITE_LOCK_TTL", 60)),
            "CHOM_INSTANCE_PATH": self.config["INSTANCE_PATH"],
            "SECRET_KEY": "test-secret",
            **self.extra_env,
        }

    def start(self, count: int = 1) -> None:
        for _ in range(count):
            n = len(self.processes)
            with (self.logs / f"worker{n}.log").open("wb") as log:
                # Its own session: killing the group takes the work horse with it, as a crash would.
                self.processes.append(subprocess.Popen(
                    [sys.executable, "-m", "flask", "chom", "worker"], cwd=ROOT, env=self.env(),
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                ))

    @contextlib.contextmanager
    def running(self, count: int = 1):
        """`count` workers for the block, stopped after it whatever happens."""
        self.start(count)
        try:
            yield self
        finally:
            self.stop()

    def kill_all(self) -> None:
        """SIGKILL every worker and its work horse (rq gives the horse a session of its own,
        so the whole process tree is found through /proc): no clean-up of any kind runs."""
        for process in self.processes:
            if process.poll() is None:
                for pid in [*_descendants(process.pid), process.pid]:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                process.wait()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        for n in range(len(self.processes)):  # shown by pytest when a test fails
            print((self.logs / f"worker{n}.log").read_text()[-3000:])
        connection = redis.Redis.from_url(self.redis_url)
        with contextlib.suppress(redis.RedisError):  # a test may have stopped its Redis
            for key in connection.scan_iter(f"rq:*{self.queue_name}*"):
                connection.delete(key)

    def account(self, organization: str = "Queue Co") -> Account:
        client = self.app.test_client()
        response = client.post("/api/v1/auth/register", json={
            "organization": organization, "name": "Q",
            "email": f"q{uuid.uuid4().hex[:6]}@queue.test", "password": PASSWORD})
        return Account(client, response.json["data"], PASSWORD)
