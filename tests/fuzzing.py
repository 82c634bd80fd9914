"""What the generated-request tests share (`tests/api/test_schema_fuzz.py`,
`tests/web/test_console_fuzz.py`): an app whose jobs are never run, an owner, and real rows of
the owner's for generated paths to name.

The fuzzed app is on the suite's database, but its jobs go to a Redis queue of its own that no
worker reads: what generated requests set in motion (provisioning, webhook deliveries, backups)
never runs, so nothing generated reaches the fleet or leaves the machine."""

from __future__ import annotations

import uuid

import pytest
import redis
from rq import Queue

from chom import create_app
from tests.conftest import TEST_REDIS_URL, base_config, stripe_config


@pytest.fixture
def unworked_app(app, stripe_server, tmp_path):
    """An app on the suite's database whose jobs wait in a queue of their own, never run."""
    name = f"chom-fuzz-unworked-{uuid.uuid4().hex[:8]}"
    fuzzed = create_app(base_config(tmp_path, CHOM_JOB_MODE="rq", REDIS_URL=TEST_REDIS_URL,
                                    CHOM_QUEUE_NAME=name, **stripe_config(stripe_server)))
    yield fuzzed
    connection = redis.Redis.from_url(TEST_REDIS_URL)
    queue = Queue(name, connection=connection)
    assert queue.count > 0  # work was accepted, and its jobs stayed unrun
    queue.empty()
    queue.delete(delete_jobs=True)
    connection.close()


@pytest.fixture
def fuzz_owner(register):
    return register("Fuzz")


@pytest.fixture
def known_ids(fuzz_owner, local_vps) -> dict[str, str]:
    """Real rows of the owner's for the generated paths to name, made on the suite's app (its
    jobs do run: the site is provisioned on a local VPS)."""
    site = fuzz_owner.create_site("fuzz.example.com")
    assert site.status_code == 202, site.json
    operation_id = site.json["meta"]["operation_id"]
    assert fuzz_owner.wait_for_operation(operation_id)["status"] == "succeeded"
    channel = fuzz_owner.post("/api/v1/notification-channels",
                              json={"kind": "webhook", "target": "http://127.0.0.1:9/fuzz"})
    assert channel.status_code == 201, channel.json
    spare = fuzz_owner.post("/api/v1/tokens", json={"name": "spare", "abilities": ["*"]})
    assert spare.status_code == 201, spare.json
    return {"site_id": site.json["data"]["id"], "operation_id": operation_id,
            "tenant_id": fuzz_owner.tenant_id, "channel_id": channel.json["data"]["id"],
            "token_id": spare.json["data"]["id"]}
