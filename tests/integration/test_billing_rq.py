"""A Stripe webhook answered at once by the web app and applied by a real `flask chom worker`
process (rq), which fetches the subscription from the (fake) Stripe API itself."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from chom.extensions import db
from chom.models import WebhookEvent
from tests.billing_helpers import deliver, usage
from tests.conftest import stripe_config
from tests.workers import RqWorkers


@pytest.fixture
def billing_workers(clean_app, tmp_path, stripe_server):
    settings = stripe_config(stripe_server)
    workers = RqWorkers(tmp_path, extra_env=settings, **settings)
    workers.start(1)
    try:
        yield workers
    finally:
        workers.stop()


def _processed(app, event_id: str) -> bool:
    with app.app_context():
        return db.session.scalar(select(WebhookEvent.processed_at).where(
            WebhookEvent.id == event_id)) is not None


def _wait_for(check, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.1)
    return check()


def test_checkout_completed_is_applied_by_an_rq_worker(billing_workers, stripe_server):
    fake = stripe_server.fake
    owner = billing_workers.account("Queue Co")
    started = owner.post("/api/v1/billing/checkout", json={"plan": "pro"})
    assert started.status_code == 200, started.json
    session_id = started.json["data"]["session_id"]
    fake.complete_checkout(session_id)
    session = {k: v for k, v in fake.sessions[session_id].items()
               if not k.endswith("_requested")}
    event = fake.event("checkout.session.completed", session)
    answer = deliver(owner.client, fake, event)
    assert answer.status_code == 200 and answer.json["outcome"] == "queued"
    assert _wait_for(lambda: usage(owner)["plan"] == "pro")
    assert usage(owner)["status"] == "active"
    assert _wait_for(lambda: _processed(billing_workers.app, event["id"]))
    assert deliver(owner.client, fake, event).json["outcome"] == "duplicate"
