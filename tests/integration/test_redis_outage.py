"""Redis stopped and started again under a running app and worker: no job is lost.

The test runs a Redis server of its own (the shared one serves everyone else's tests), with no
persistence, as this machine's: whatever was queued in it is gone when it stops, the harshest
case. Operations are rows in PostgreSQL first, so `flask chom reconcile` hands them over again.
"""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
import redis

from chom.services import fleet, operators
from tests.workers import RqWorkers


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    def __init__(self, workdir) -> None:
        self.port, self.workdir, self.process = _free_port(), workdir, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "the private Redis did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def _sites(account) -> dict:
    return {s["domain"]: s["status"] for s in account.get("/api/v1/sites").json["data"]}


def test_jobs_queued_before_and_during_a_redis_outage_all_run_once_it_is_back(
        clean_app, tmp_path, private_redis):
    workers = RqWorkers(tmp_path, redis_url=private_redis.url,
                        RATELIMIT_STORAGE_URI=private_redis.url)
    app = workers.app
    settings = operators.local_vps_settings(str(tmp_path / "vps"))
    # A slow `nginx -t`: the worker is still busy with the first site when Redis goes away.
    settings["commands"]["nginx_test"] = ["sleep", "2"]
    with app.app_context():
        fleet.add_vps(name="outage-local", host="localhost", transport="local", capacity=10,
                      ssh_user="", settings=settings)
    account = workers.account("Outage Co")
    workers.start(1)
    try:
        running = account.create_site("running.example.com")
        queued = account.create_site("queued.example.com")  # waits in Redis behind it
        deadline = time.monotonic() + 30
        while account.get(f"/api/v1/operations/{running.json['meta']['operation_id']}"
                          ).json["data"]["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        private_redis.stop()  # the queued job is lost with it (no persistence)

        during = account.create_site("during.example.com")  # Redis down: still taken
        assert during.status_code == 202, during.json
        health = account.get("/api/v1/health").json
        assert health["checks"]["redis"]["status"] == "down"
        assert health["status"] == "degraded"
        assert account.get("/api/v1/sites").status_code == 200  # rate limits fall back to memory

        time.sleep(3)  # the running job ends meanwhile, its worker unable to tell Redis
        private_redis.start()
        deadline = time.monotonic() + 60
        while "operation(s) resumed" not in (result := app.test_cli_runner().invoke(
                args=["chom", "reconcile"])).output:
            assert time.monotonic() < deadline, result.output
            time.sleep(0.5)
        for created in (running, queued, during):
            operation = account.wait_for_operation(created.json["meta"]["operation_id"],
                                                   timeout=90)
            assert operation["status"] == "succeeded", operation["log"]
        assert workers.processes[0].poll() is None  # the same worker went on
        assert _sites(account) == {"running.example.com": "active",
                                   "queued.example.com": "active",
                                   "during.example.com": "active"}
        assert (tmp_path / "vps/var/www/during.example.com/index.html").exists()
    finally:
        workers.stop()
