"""Provisioning through Redis and a real `flask chom worker` process (rq)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

from chom import create_app
from chom.services import fleet, operators
from tests.conftest import PASSWORD, TEST_DATABASE_URL, TEST_REDIS_URL, Account, base_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rq_setup(clean_app, tmp_path):
    """An app in rq mode on its own queue, and a worker process serving that queue."""
    queue_name = f"chom-test-{uuid.uuid4().hex[:8]}"
    config = base_config(tmp_path, CHOM_JOB_MODE="rq", REDIS_URL=TEST_REDIS_URL,
                         CHOM_QUEUE_NAME=queue_name)
    app = create_app(config)
    assert app.extensions["chom_queue"].mode == "rq"
    env = {
        **os.environ,
        "FLASK_APP": "wsgi",
        "DATABASE_URL": TEST_DATABASE_URL,
        "REDIS_URL": TEST_REDIS_URL,
        "CHOM_JOB_MODE": "rq",
        "CHOM_QUEUE_NAME": queue_name,
        "CHOM_ENCRYPTION_KEYS": config["CHOM_ENCRYPTION_KEYS"],
        "SECRET_KEY": "test-secret",
    }
    workers = []
    for n in range(2):  # two workers: a site's operations must still run one at a time, in order
        with (tmp_path / f"worker{n}.log").open("wb") as log:
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "flask", "chom", "worker"], cwd=ROOT, env=env,
                stdout=log, stderr=subprocess.STDOUT,
            ))
    try:
        yield app, tmp_path
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        for n in range(2):  # shown by pytest when a test fails
            print((tmp_path / f"worker{n}.log").read_text()[-3000:])
        connection = redis.Redis.from_url(TEST_REDIS_URL)
        for key in connection.scan_iter(f"rq:*{queue_name}*"):
            connection.delete(key)


def _account(app) -> Account:
    client = app.test_client()
    response = client.post("/api/v1/auth/register", json={
        "organization": "Queue Co", "name": "Q", "email": f"q{uuid.uuid4().hex[:6]}@q.test",
        "password": PASSWORD})
    return Account(client, response.json["data"], PASSWORD)


def _add_vps(app, root: Path, name: str, **commands) -> None:
    settings = operators.local_vps_settings(str(root))
    settings["commands"].update(commands)
    with app.app_context():
        fleet.add_vps(name=name, host="localhost", transport="local", capacity=10, ssh_user="",
                      settings=settings)


def test_site_is_provisioned_and_deleted_by_a_real_rq_worker(rq_setup):
    app, tmp_path = rq_setup
    _add_vps(app, tmp_path / "vps", "rq-local")
    account = _account(app)
    created = account.create_site("queued.example.com")
    assert created.status_code == 202
    operation = account.wait_for_operation(created.json["meta"]["operation_id"], timeout=60)
    assert operation["status"] == "succeeded", operation
    assert operation["step_index"] == operation["step_count"] > 0
    assert operation["correlation_id"] == created.headers["X-Correlation-ID"]
    index = tmp_path / "vps/var/www/queued.example.com/index.html"
    assert "queued.example.com" in index.read_text()

    deleted = account.delete(f"/api/v1/sites/{created.json['data']['id']}")
    operation = account.wait_for_operation(deleted.json["data"]["id"], timeout=60)
    assert operation["status"] == "succeeded", operation
    assert not index.exists()


def test_a_failing_step_marks_operation_and_site_failed_and_rolls_back_nginx(rq_setup):
    app, tmp_path = rq_setup
    _add_vps(app, tmp_path / "vps", "broken-nginx", nginx_test=["false"])
    account = _account(app)
    created = account.create_site("broken.example.com")
    operation = account.wait_for_operation(created.json["meta"]["operation_id"], timeout=60)
    assert operation["status"] == "failed"
    assert "nginx" in operation["error"]
    site = account.get(f"/api/v1/sites/{created.json['data']['id']}").json["data"]
    assert site["status"] == "failed"
    assert not (tmp_path / "vps/etc/nginx/sites-enabled/broken.example.com.conf").exists()


def test_create_then_delete_at_once_run_in_order_across_workers(rq_setup):
    app, tmp_path = rq_setup
    _add_vps(app, tmp_path / "vps", "rq-order")
    account = _account(app)
    created = account.create_site("order.example.com")
    deleted = account.delete(f"/api/v1/sites/{created.json['data']['id']}")
    assert deleted.status_code == 202
    last = account.wait_for_operation(deleted.json["data"]["id"], timeout=90)
    first = account.wait_for_operation(created.json["meta"]["operation_id"], timeout=5)
    assert (first["status"], last["status"]) == ("succeeded", "succeeded"), (first, last)
    assert first["finished_at"] <= last["started_at"]
    assert not (tmp_path / "vps/var/www/order.example.com").exists()
    assert not (tmp_path / "vps/etc/nginx/sites-enabled/order.example.com.conf").exists()
