"""Degraded answers for logs and alerts too, and from the cache another process filled: an app
whose Loki and Alertmanager do not answer serves what the stack-connected app last fetched
(the cache is in Redis, shared by every process), marked degraded."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_REDIS_URL
from tests.stack import free_port


@pytest.fixture
def cut_off_client(make_app, observed_client):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = make_app(CHOM_JOB_MODE="rq", REDIS_URL=TEST_REDIS_URL,
                   CHOM_QUEUE_NAME="chom-test-cut-off", LOKI_URL=dead, ALERTMANAGER_URL=dead,
                   CHOM_BACKEND_RETRY_ATTEMPTS=1)
    return app.test_client()


def test_logs_and_alerts_degrade_to_the_shared_cache(observed_client, cut_off_client, register,
                                                     local_vps):
    alice = register("Alice Co")
    created = alice.create_site("degrade.example.com")
    alice.wait_for_operation(created.json["meta"]["operation_id"])
    site = created.json["data"]["id"]
    paths = (f"/api/v1/sites/{site}/logs?since=15m", f"/api/v1/sites/{site}/alerts",
             f"/api/v1/sites/{site}/silences")
    fresh = {path: observed_client.get(path, headers=alice.headers) for path in paths}
    assert all(r.status_code == 200 and r.json["meta"] == {"degraded": False}
               for r in fresh.values())

    for path in paths:
        answer = cut_off_client.get(path, headers=alice.headers)
        assert answer.status_code == 200, (path, answer.json)
        assert answer.json["data"] == fresh[path].json["data"]
        meta = answer.json["meta"]
        assert meta["degraded"] is True and meta["age_seconds"] >= 0
        assert "did not answer" in meta["reason"]

    # A query never answered before has nothing to fall back on.
    cold = cut_off_client.get(f"/api/v1/sites/{site}/logs?since=24h&q=cold",
                              headers=alice.headers)
    assert cold.status_code == 503
    assert cold.json["type"].endswith("/observability-unavailable")
    assert "loki is not available" in cold.json["detail"]
