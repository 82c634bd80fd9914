"""A VPS that is down opens its circuit breaker: the next operation fails at once without
connecting, and once the VPS is back and the breaker's timeout has passed a retry converges."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import redis
import requests
from sqlalchemy import select

from chom.extensions import db
from chom.models import VpsServer
from chom.reliability.breakers import make_breaker, state_value
from chom.services import fleet as fleet_service
from tests.conftest import TEST_REDIS_URL
from tests.workers import RqWorkers

RESET_SECONDS = 12


@pytest.fixture(scope="module")
def rq_workers(app, tmp_path_factory):
    """As in conftest, with a breaker timeout short enough to wait out in a test."""
    workers = RqWorkers(tmp_path_factory.mktemp("rq"),
                        extra_env={"CHOM_BREAKER_VPS_RESET_SECONDS": str(RESET_SECONDS)},
                        CHOM_JOB_RETRY_INTERVALS=[1, 1],
                        CHOM_BREAKER_VPS_RESET_SECONDS=RESET_SECONDS)
    workers.start(1)
    try:
        yield workers
    finally:
        workers.stop()


def _breaker_metric(rq_workers, name: str) -> str:
    text = rq_workers.app.test_client().get("/prometheus/metrics").get_data(as_text=True)
    prefix = f'chom_circuit_breaker_state{{name="{name}",service="vps"}} '
    return next(line[len(prefix):] for line in text.splitlines() if line.startswith(prefix))


def test_a_down_vps_opens_its_breaker_and_a_retry_converges_after_it(
        clean_app, register, rq_workers, fleet):
    host = fleet.hosts[0]
    with clean_app.app_context():
        fleet_service.add_vps(**host.add_vps_kwargs(settings={
            **host.profile, "ssh_key_path": host.client_key_path, "connect_timeout": 2}))
        vps = db.session.execute(select(VpsServer).where(VpsServer.name == host.name)).scalar_one()
        vps_id = str(vps.id)
    # The workers' breaker for this VPS, seen through Redis as any other process sees it.
    breaker = make_breaker(vps_id, host.name, reset_timeout=RESET_SECONDS,
                           redis=redis.Redis.from_url(TEST_REDIS_URL))
    host.stop()
    try:
        account = register("Breaker Co")
        response = account.create_site("breaker.example.com")
        # Three attempts (the job and its two retries), three connection failures: open.
        operation = account.wait_for_operation(response.json["meta"]["operation_id"], timeout=90)
        assert operation["status"] == "failed"
        assert host.name in operation["error"] and "circuit" not in operation["error"]
        assert state_value(breaker) == 2
        assert _breaker_metric(rq_workers, host.name) == "2.0"

        # The next operation is refused by the breaker, at once, on every attempt.
        site_id = response.json["data"]["id"]
        retried = account.post(f"/api/v1/sites/{site_id}/retry")
        assert retried.status_code == 202
        started = time.monotonic()
        operation = account.wait_for_operation(retried.json["data"]["id"], timeout=60)
        assert operation["status"] == "failed"
        assert f"circuit breaker of VPS {host.name} is open until" in operation["error"]
        assert time.monotonic() - started < RESET_SECONDS
        assert "refused" not in operation["error"] and "timed out" not in operation["error"]
        until = breaker.open_until
        assert until is not None and until > datetime.now(UTC)
    finally:
        host.start()

    # Back up, and the timeout passed: the next attempt half-opens the circuit and closes it.
    time.sleep(max(0.0, (breaker.open_until - datetime.now(UTC)).total_seconds()) + 1.5)
    retried = account.post(f"/api/v1/sites/{site_id}/retry")
    assert retried.status_code == 202
    assert account.wait_for_operation(retried.json["data"]["id"], timeout=120)["status"] \
        == "succeeded"
    assert state_value(breaker) == 0
    assert _breaker_metric(rq_workers, host.name) == "0.0"
    assert requests.get(f"{host.http_url}/", headers={"Host": "breaker.example.com"},
                        timeout=10).status_code == 200
