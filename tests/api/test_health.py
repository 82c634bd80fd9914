"""GET /api/v1/health: real checks of the database, Redis and the job queue."""

from __future__ import annotations

import uuid

import pytest

from chom import create_app
from tests.conftest import TEST_REDIS_URL, base_config

CLOSED_REDIS = "redis://127.0.0.1:1/0"
CLOSED_DATABASE = "postgresql://postgres@127.0.0.1:1/x"


def _health(app):
    response = app.test_client().get("/api/v1/health")
    assert response.mimetype == "application/json"
    return response, response.get_json()


def test_health_is_ok_with_every_check(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis", "queue"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    assert body["checks"]["queue"]["mode"] == "thread"
    assert body["checks"]["redis"]["configured"] is False


def test_health_needs_no_token(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert "WWW-Authenticate" not in response.headers


@pytest.fixture
def rq_app(app, tmp_path):
    """An app whose jobs go to RQ on the test Redis, in a queue of its own."""
    queue_name = f"health-{uuid.uuid4().hex[:8]}"
    rq_app = create_app(base_config(
        tmp_path, REDIS_URL=TEST_REDIS_URL, CHOM_JOB_MODE="rq", CHOM_QUEUE_NAME=queue_name,
        CHOM_HEALTH_QUEUE_DEGRADED_AT=2,
    ))
    yield rq_app
    queue = rq_app.extensions["chom_queue"]
    queue.queue.empty()
    queue.queue.delete(delete_jobs=True)
    queue.connection.close()


def test_health_is_ok_with_redis_and_rq(rq_app):
    response, body = _health(rq_app)
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "ok"
    assert body["checks"]["redis"]["configured"] is True
    assert body["checks"]["queue"]["mode"] == "rq"
    assert body["checks"]["queue"]["depth"] == 0


def test_health_is_degraded_when_the_queue_backs_up(rq_app):
    queue = rq_app.extensions["chom_queue"]
    for _ in range(2):  # nobody works this queue: the jobs wait in Redis
        queue.enqueue("chom.jobs.provisioning.run_operation", str(uuid.uuid4()))
    response, body = _health(rq_app)
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["queue"]["status"] == "degraded"
    assert body["checks"]["queue"]["depth"] == 2
    assert body["checks"]["database"]["status"] == "ok"


def test_health_is_degraded_when_redis_is_configured_but_silent(app, tmp_path):
    silent = create_app(base_config(tmp_path, REDIS_URL=CLOSED_REDIS, CHOM_JOB_MODE="thread"))
    response, body = _health(silent)
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["redis"]["configured"] is True
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["queue"]["status"] == "ok"


def test_health_is_down_503_when_the_database_is_unreachable(tmp_path):
    broken = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=CLOSED_DATABASE))
    response, body = _health(broken)
    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["checks"]["database"]["status"] == "down"
    assert body["checks"]["database"]["error"]
    # The other checks still ran and answered.
    assert body["checks"]["redis"]["status"] == "ok"
    assert body["checks"]["queue"]["status"] == "ok"
    with broken.app_context():
        from chom.extensions import db

        db.engine.dispose()


def test_health_answers_again_after_a_database_failure(tmp_path):
    """A failed check rolls back: the next request on the same app is not poisoned."""
    broken = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=CLOSED_DATABASE))
    first, _ = _health(broken)
    second, body = _health(broken)
    assert (first.status_code, second.status_code) == (503, 503)
    assert body["checks"]["database"]["status"] == "down"

