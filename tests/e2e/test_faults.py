"""Faults mid-provisioning, with real RQ workers and the real fleet: the site still converges."""

from __future__ import annotations

import time

import pytest
import requests

from chom.services import fleet as fleet_service
from tests.workers import RqWorkers

SLOW_STEP_SECONDS = 4


@pytest.fixture
def workers(clean_app, tmp_path):
    # A short site-lock ttl, so a killed job's site frees within seconds.
    workers = RqWorkers(tmp_path, CHOM_SITE_LOCK_TTL=3)
    try:
        yield workers
    finally:
        workers.stop()


def _add_slow_vps(app, host) -> None:
    """The host, with `nginx -t` made slow so a fault can be landed while the plan runs."""
    profile = {**host.profile, "ssh_key_path": host.client_key_path}
    nginx_test = profile["commands"]["nginx_test"]
    profile["commands"] = {**profile["commands"], "nginx_test": [
        "bash", "-c", f'sleep {SLOW_STEP_SECONDS}; exec "$@"', "slow-nginx-test", *nginx_test]}
    with app.app_context():
        fleet_service.add_vps(**host.add_vps_kwargs(settings=profile))


def _wait_for_step(account, operation_id: str, prefix: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        operation = account.get(f"/api/v1/operations/{operation_id}").json["data"]
        if (operation["current_step"] or "").startswith(prefix):
            return operation
        assert operation["status"] in ("queued", "running"), operation
        time.sleep(0.05)
    raise AssertionError(f"the plan never reached {prefix!r}")


def _get(host, domain):
    return requests.get(host.http_url, headers={"Host": domain}, timeout=10)


def test_worker_killed_mid_wordpress_provision_resumes_into_one_working_site(workers, fleet):
    host = fleet.hosts[0]
    _add_slow_vps(workers.app, host)
    workers.start(1)
    databases_before = set(host.sql("SHOW DATABASES LIKE 'chom\\_%'").split())
    account = workers.account("Crash Co")
    created = account.create_site("crash.example.com", type="wordpress", options={
        "site_title": "Survived", "admin_email": "a@example.com",
        "admin_password": "a long admin passphrase"})
    operation_id = created.json["meta"]["operation_id"]
    during = _wait_for_step(account, operation_id, "ensure nginx site")
    assert 1 < during["step_index"] < during["step_count"]

    workers.kill_all()
    assert account.get(f"/api/v1/operations/{operation_id}").json["data"]["status"] == "running"

    workers.start(1)
    runner = workers.app.test_cli_runner()
    deadline = time.monotonic() + 30
    while "1 operation(s) resumed" not in (output := runner.invoke(
            args=["chom", "reconcile"]).output):
        assert time.monotonic() < deadline, output  # the dead job's site lock must expire
        time.sleep(0.5)
    operation = account.wait_for_operation(operation_id, timeout=120)
    assert operation["status"] == "succeeded", operation["log"]
    assert "resumed" in operation["log"]

    page = _get(host, "crash.example.com")
    assert page.status_code == 200 and "Survived" in page.text
    short = created.json["data"]["id"].replace("-", "")[:12]
    # One database for the one site, however often its plan ran (other tests' may be there).
    made = set(host.sql("SHOW DATABASES LIKE 'chom\\_%'").split()) - databases_before
    assert made == {f"chom_{short}"}
    assert account.get("/api/v1/sites").json["meta"]["total"] == 1


def test_ssh_connection_dropped_mid_plan_is_retried_and_converges(workers, fleet):
    host = fleet.hosts[0]
    _add_slow_vps(workers.app, host)
    workers.start(1)
    account = workers.account("Flaky Co")
    created = account.create_site("flaky.example.com")
    operation_id = created.json["meta"]["operation_id"]
    _wait_for_step(account, operation_id, "ensure nginx site")

    host.kill_sshd(drop_sessions=True)
    host.start_sshd()
    operation = account.wait_for_operation(operation_id, timeout=120)
    assert operation["status"] == "succeeded", operation["log"]
    assert "lost" in operation["log"] and "will retry" in operation["log"]
    assert _get(host, "flaky.example.com").status_code == 200
