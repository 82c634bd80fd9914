"""Backend breakers: one per service, only transient failures count, state shared in Redis by
every app (process) of a deployment."""

from __future__ import annotations

import pytest

from chom.plugin_api import BackendError, BackendUnavailable
from chom.reliability.breakers import (
    BackendCircuitOpen,
    backend_breaker,
    guarded_backend,
    state_name,
)
from tests.conftest import TEST_REDIS_URL
from tests.stack import reset_backend_state


def _raise(error):
    def call():
        raise error
    return call


@pytest.fixture
def two_apps(make_app):
    """Two apps in rq mode on the same Redis, as two gunicorn workers or an RQ worker."""
    reset_backend_state()
    made = [make_app(CHOM_JOB_MODE="rq", REDIS_URL=TEST_REDIS_URL,
                     CHOM_QUEUE_NAME="chom-test-breakers", CHOM_BREAKER_BACKEND_FAIL_MAX=3,
                     CHOM_BREAKER_BACKEND_RESET_SECONDS=60) for _ in range(2)]
    yield made
    reset_backend_state()


def test_an_open_breaker_is_seen_by_every_process(two_apps):
    first, second = two_apps
    with first.app_context():
        for _ in range(3):
            with pytest.raises(BackendUnavailable):
                guarded_backend("loki", _raise(BackendUnavailable("loki did not answer")))
    with second.app_context():
        assert state_name(backend_breaker("loki")) == "open"
        with pytest.raises(BackendCircuitOpen, match="circuit breaker of loki is open until"):
            guarded_backend("loki", lambda: "not called")
        assert state_name(backend_breaker("grafana")) == "closed"  # one breaker per service


def test_a_refused_query_does_not_count(two_apps):
    first, _ = two_apps
    with first.app_context():
        for _ in range(5):
            with pytest.raises(BackendError):
                guarded_backend("prometheus", _raise(BackendError("bad query (400)")))
        assert state_name(backend_breaker("prometheus")) == "closed"
        assert guarded_backend("prometheus", lambda: "answer") == "answer"
