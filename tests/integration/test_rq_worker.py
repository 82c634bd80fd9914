"""Provisioning through Redis and a real `flask chom worker` process (rq)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chom.services import fleet, operators
from tests.workers import RqWorkers


@pytest.fixture
def rq_setup(clean_app, tmp_path):
    """An app in rq mode on its own queue, served by two worker processes (a site's
    operations must still run one at a time, in order)."""
    workers = RqWorkers(tmp_path)
    workers.start(2)
    try:
        yield workers, tmp_path
    finally:
        workers.stop()


def _add_vps(app, root: Path, name: str, **commands) -> None:
    settings = operators.local_vps_settings(str(root))
    settings["commands"].update(commands)
    with app.app_context():
        fleet.add_vps(name=name, host="localhost", transport="local", capacity=10, ssh_user="",
                      settings=settings)


def test_site_is_provisioned_and_deleted_by_a_real_rq_worker(rq_setup):
    workers, tmp_path = rq_setup
    app = workers.app
    _add_vps(app, tmp_path / "vps", "rq-local")
    account = workers.account()
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
    workers, tmp_path = rq_setup
    app = workers.app
    _add_vps(app, tmp_path / "vps", "broken-nginx", nginx_test=["false"])
    account = workers.account()
    created = account.create_site("broken.example.com")
    operation = account.wait_for_operation(created.json["meta"]["operation_id"], timeout=60)
    assert operation["status"] == "failed"
    assert "nginx" in operation["error"]
    site = account.get(f"/api/v1/sites/{created.json['data']['id']}").json["data"]
    assert site["status"] == "failed"
    assert not (tmp_path / "vps/etc/nginx/sites-enabled/broken.example.com.conf").exists()


def test_create_then_delete_at_once_run_in_order_across_workers(rq_setup):
    workers, tmp_path = rq_setup
    app = workers.app
    _add_vps(app, tmp_path / "vps", "rq-order")
    account = workers.account()
    created = account.create_site("order.example.com")
    deleted = account.delete(f"/api/v1/sites/{created.json['data']['id']}")
    assert deleted.status_code == 202
    last = account.wait_for_operation(deleted.json["data"]["id"], timeout=90)
    first = account.wait_for_operation(created.json["meta"]["operation_id"], timeout=5)
    assert (first["status"], last["status"]) == ("succeeded", "succeeded"), (first, last)
    assert first["finished_at"] <= last["started_at"]
    assert not (tmp_path / "vps/var/www/order.example.com").exists()
    assert not (tmp_path / "vps/etc/nginx/sites-enabled/order.example.com.conf").exists()
