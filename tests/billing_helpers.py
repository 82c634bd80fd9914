"""Playing Stripe's side in tests: signed webhook deliveries, paying a checkout, and waiting
for the jobs they start."""

from __future__ import annotations

import json
import time

WEBHOOK = "/api/v1/webhooks/stripe"


def deliver(client, fake, event: dict, *, secret: str | None = None,
            timestamp: int | None = None, tamper=None):
    """POST `event` to the webhook, signed as Stripe signs it (`tamper` edits the bytes after
    signing, as a forger would)."""
    payload = json.dumps(event).encode()
    signature = fake.sign(payload, secret=secret, timestamp=timestamp)
    if tamper is not None:
        payload = tamper(payload)
    return client.post(WEBHOOK, data=payload, headers={
        "Stripe-Signature": signature, "Content-Type": "application/json"})


def drain(app, timeout: float = 60) -> None:
    """Wait until the in-process queue has run every job, including jobs those jobs queued."""
    queue = app.extensions["chom_queue"]
    deadline = time.monotonic() + timeout
    while True:
        queue.wait_idle(timeout)
        if queue.depth() == 0 or time.monotonic() > deadline:
            return


def subscribe(app, account, fake, plan: str = "starter", *, headers=None) -> dict:
    """The owner checks out `plan` for a tenant and pays; Stripe's webhook is delivered and
    handled. Returns the Stripe subscription."""
    started = account.post("/api/v1/billing/checkout", json={"plan": plan}, headers=headers)
    assert started.status_code == 200, started.json
    assert started.json["data"]["action"] == "checkout"
    subscription = fake.complete_checkout(started.json["data"]["session_id"])
    session = fake.sessions[started.json["data"]["session_id"]]
    answer = deliver(account.client, fake, fake.event(
        "checkout.session.completed",
        {k: v for k, v in session.items() if not k.endswith("_requested")}))
    assert answer.status_code == 200, answer.json
    drain(app)
    return subscription


def usage(account, headers=None) -> dict:
    answer = account.get("/api/v1/billing/usage", headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json["data"]
