"""Prometheus stopped mid-test: its breaker opens after 3 failures, the API answers the last
good values marked degraded (503 where it has none), the breaker half-opens after its timeout,
and closes once Prometheus is back. A Prometheus of this module's own, so stopping it troubles
no other test."""

from __future__ import annotations

import time

import pybreaker
import pytest

from chom import create_app
from chom.extensions import db
from chom.reliability.breakers import backend_breaker
from tests.conftest import TEST_REDIS_URL, base_config
from tests.observability.conftest import scrape, value
from tests.stack import prometheus, reset_backend_state, url_of

RESET_SECONDS = 1.5


class Transitions(pybreaker.CircuitBreakerListener):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def state_change(self, cb, old_state, new_state):
        self.seen.append(new_state.name)


@pytest.fixture(scope="module")
def own_prometheus(observability_stack, tmp_path_factory):
    node_target = observability_stack.node.ready_url.split("//")[1].split("/")[0]
    daemon = prometheus(tmp_path_factory.mktemp("prometheus-fault"), node_target, time.time())
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture
def fault_app(app, own_prometheus, tmp_path):
    reset_backend_state()
    faulty = create_app(base_config(
        tmp_path, CHOM_JOB_MODE="rq", REDIS_URL=TEST_REDIS_URL,
        CHOM_QUEUE_NAME="chom-test-fault", PROMETHEUS_URL=url_of(own_prometheus),
        CHOM_BREAKER_BACKEND_RESET_SECONDS=RESET_SECONDS, CHOM_BACKEND_RETRY_ATTEMPTS=2,
        CHOM_BACKEND_RETRY_BASE_SECONDS=0.01, CHOM_BACKEND_TIMEOUT_SECONDS=2))
    yield faulty
    reset_backend_state()
    with faulty.app_context():
        db.engine.dispose()


def _site(account, domain):
    created = account.create_site(domain)
    account.wait_for_operation(created.json["meta"]["operation_id"])
    return created.json["data"]["id"]


def _breaker_state(client) -> str:
    return client.get("/api/v1/observability/health/prometheus").json["breaker"]


def test_breaker_opens_serves_degraded_half_opens_and_closes(fault_app, own_prometheus,
                                                             register, local_vps):
    alice = register("Alice Co")
    site, uncached = _site(alice, "site-a.example.com"), _site(alice, "cold.example.com")
    client = fault_app.test_client()
    with fault_app.app_context():
        transitions = Transitions()
        backend_breaker("prometheus").add_listener(transitions)

    fresh = client.get(f"/api/v1/sites/{site}/metrics", headers=alice.headers)
    assert fresh.status_code == 200 and fresh.json["meta"] == {"degraded": False}
    assert fresh.json["data"]["series"]["requests"]

    own_prometheus.stop()
    for attempt in range(3):  # three failed calls (each retried once) open the breaker
        assert _breaker_state(client) == "closed", attempt
        answer = client.get(f"/api/v1/sites/{site}/metrics", headers=alice.headers)
        assert answer.status_code == 200
        assert answer.json["meta"]["degraded"] is True
        assert answer.json["meta"]["age_seconds"] >= 0
        assert "prometheus did not answer" in answer.json["meta"]["reason"]
        assert answer.json["data"] == fresh.json["data"]  # the last good answer, as it was
    # Open (checked first, well within the timeout): no call is made; cached answers are
    # still served, others are a 503 problem.
    open_answer = client.get(f"/api/v1/sites/{site}/metrics", headers=alice.headers).json
    assert open_answer["meta"]["degraded"] is True
    assert "circuit breaker of prometheus is open" in open_answer["meta"]["reason"]
    cold = client.get(f"/api/v1/sites/{uncached}/metrics", headers=alice.headers)
    assert cold.status_code == 503 and cold.mimetype == "application/problem+json"
    assert cold.json["type"].endswith("/observability-unavailable")
    assert transitions.seen == ["open"]
    # Reading the state makes no call, so it stays "open" until a call is let through.
    assert _breaker_state(client) == "open"
    assert value(scrape(client).get_data(as_text=True), "chom_circuit_breaker_state",
                 service="prometheus", name="prometheus") == 2
    health = client.get("/api/v1/observability/health").json
    assert health["status"] == "degraded"
    assert health["components"]["prometheus"]["status"] == "down"

    # After the timeout one call is let through (half-open); Prometheus still down: open again.
    time.sleep(RESET_SECONDS + 0.2)
    again = client.get(f"/api/v1/sites/{site}/metrics", headers=alice.headers).json
    assert again["meta"]["degraded"] is True
    assert transitions.seen == ["open", "half-open", "open"]

    # Prometheus back, and the timeout passed: the trial call succeeds and closes the breaker.
    own_prometheus.start()
    time.sleep(RESET_SECONDS + 0.2)
    back = client.get(f"/api/v1/sites/{site}/metrics", headers=alice.headers)
    assert back.status_code == 200 and back.json["meta"] == {"degraded": False}
    assert transitions.seen == ["open", "half-open", "open", "half-open", "closed"]
    assert _breaker_state(client) == "closed"
    assert client.get(f"/api/v1/sites/{uncached}/metrics",
                      headers=alice.headers).status_code == 200
    assert value(scrape(client).get_data(as_text=True), "chom_circuit_breaker_state",
                 service="prometheus", name="prometheus") == 0
