"""A webhook receiver that fails gets the same event again, from a real rq worker, until it
takes it."""

from __future__ import annotations

import time

from tests.http_receiver import Receiver
from tests.workers import RqWorkers


def test_a_failing_receiver_gets_the_same_delivery_until_it_answers_2xx(clean_app, tmp_path):
    receiver = Receiver(statuses=[500, 503])
    workers = RqWorkers(tmp_path, {"CHOM_WEBHOOK_ALLOW_PRIVATE": "1"},
                        CHOM_NOTIFY_RETRY_INTERVALS=[1, 1, 1])
    workers.start(1)
    try:
        owner = workers.account("Retry Co")
        channel = owner.post("/api/v1/notification-channels", json={
            "kind": "webhook", "target": receiver.url + "/flaky"}).json["data"]
        delivery = owner.post(f"/api/v1/notification-channels/{channel['id']}/test"
                              ).json["data"]["delivery_id"]
        requests = receiver.wait_for(3, timeout=60)
        assert {r.headers["Chom-Delivery"] for r in requests} == {delivery}
        deadline = time.monotonic() + 10
        url = f"/api/v1/notification-channels/{channel['id']}"
        while owner.get(url).json["data"]["last_delivery_status"] != "delivered":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(1.5)  # delivered: no fourth attempt follows
        assert len(receiver.requests) == 3
    finally:
        workers.stop()
        receiver.close()
