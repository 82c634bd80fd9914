"""POST /api/v1/webhooks/stripe: signatures proved by the stripe library, each event once,
state from the subscription as Stripe holds it (never from arrival order), work in a job."""

import copy
import time

import pytest
from sqlalchemy import func, select

from chom.extensions import db
from chom.models import WebhookEvent
from tests.billing_helpers import WEBHOOK, deliver, drain, subscribe, usage


def _events(app) -> dict:
    with app.app_context():
        return {e.id: e.processed_at is not None for e in db.session.scalars(
            select(WebhookEvent))}


@pytest.fixture
def subscribed(clean_app, register, stripe_server):
    """An owner whose tenant Stripe bills on Pro, and that subscription."""
    owner = register("Acme")
    subscription = subscribe(clean_app, owner, stripe_server.fake, "pro")
    assert usage(owner)["status"] == "active"
    return owner, subscription


def test_a_valid_event_is_queued_and_applied(clean_app, subscribed, stripe_server):
    fake = stripe_server.fake
    owner, subscription = subscribed
    item = subscription["items"]["data"][0]
    fake.update_subscription(subscription["id"], {
        "items": [{"id": item["id"], "price": "price_chom_enterprise"}]})
    event = fake.event("customer.subscription.updated", fake.subscriptions[subscription["id"]])
    answer = deliver(owner.client, fake, event)
    assert answer.status_code == 200
    assert answer.json == {"received": True, "outcome": "queued"}
    drain(clean_app)
    assert usage(owner)["plan"] == "enterprise"
    assert _events(clean_app)[event["id"]] is True


@pytest.mark.parametrize("how", ["forged", "wrong secret", "stale", "unsigned", "garbage"])
def test_unproven_events_are_refused_and_change_nothing(clean_app, subscribed, stripe_server,
                                                        how):
    fake = stripe_server.fake
    owner, subscription = subscribed
    canceled = copy.deepcopy(fake.subscriptions[subscription["id"]])
    canceled["status"] = "canceled"
    event = fake.event("customer.subscription.deleted", canceled)
    if how == "forged":  # signed, then the body changed
        answer = deliver(owner.client, fake, event,
                         tamper=lambda body: body.replace(b'"livemode": false',
                                                          b'"livemode": true'))
    elif how == "wrong secret":
        answer = deliver(owner.client, fake, event, secret="whsec_someone_else")
    elif how == "stale":  # older than the 300 s tolerance
        answer = deliver(owner.client, fake, event, timestamp=int(time.time()) - 301)
    elif how == "unsigned":
        answer = owner.client.post(WEBHOOK, json=event)
    else:
        payload = b"not json at all"
        answer = owner.client.post(WEBHOOK, data=payload,
                                   headers={"Stripe-Signature": fake.sign(payload)})
    assert answer.status_code == 400, answer.json
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json["type"].endswith("/invalid-webhook")
    drain(clean_app)
    assert event["id"] not in _events(clean_app)
    assert usage(owner)["status"] == "active"


def test_a_replayed_event_is_ignored(clean_app, subscribed, stripe_server):
    fake = stripe_server.fake
    owner, subscription = subscribed
    event = fake.event("customer.subscription.updated", fake.subscriptions[subscription["id"]])
    assert deliver(owner.client, fake, event).json["outcome"] == "queued"
    drain(clean_app)
    # Stripe changes the subscription meanwhile; the replay must not be what applies it.
    fake.set_status(subscription["id"], "past_due")
    replay = deliver(owner.client, fake, event)
    assert replay.status_code == 200 and replay.json["outcome"] == "duplicate"
    drain(clean_app)
    assert usage(owner)["status"] == "active"
    with clean_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookEvent).where(
            WebhookEvent.id == event["id"])) == 1


def test_updated_before_created_ends_in_stripes_current_state(clean_app, register,
                                                              stripe_server):
    fake = stripe_server.fake
    owner = register("Acme")
    started = owner.post("/api/v1/billing/checkout", json={"plan": "starter"}).json["data"]
    created_snapshot = fake.complete_checkout(started["session_id"], status="incomplete")
    fake.set_status(created_snapshot["id"], "active")
    item = created_snapshot["items"]["data"][0]
    updated_snapshot = copy.deepcopy(fake.update_subscription(created_snapshot["id"], {
        "items": [{"id": item["id"], "price": "price_chom_pro"}]}))

    updated = fake.event("customer.subscription.updated", updated_snapshot)
    created = fake.event("customer.subscription.created", created_snapshot)
    assert deliver(owner.client, fake, updated).status_code == 200
    drain(clean_app)
    assert (usage(owner)["plan"], usage(owner)["status"]) == ("pro", "active")
    # The older `created` arrives last: its payload says incomplete/starter, Stripe says not.
    assert deliver(owner.client, fake, created).status_code == 200
    drain(clean_app)
    found = usage(owner)
    assert (found["plan"], found["status"], found["standing"]) == ("pro", "active", "ok")
    assert _events(clean_app) == {updated["id"]: True, created["id"]: True}


def test_an_unknown_event_type_is_acknowledged_and_does_nothing(clean_app, subscribed,
                                                                stripe_server):
    fake = stripe_server.fake
    owner, _ = subscribed
    event = fake.event("customer.tax_id.created", {"id": "txi_123", "object": "tax_id"})
    answer = deliver(owner.client, fake, event)
    assert answer.status_code == 200 and answer.json["outcome"] == "ignored"
    assert _events(clean_app)[event["id"]] is True
    assert usage(owner)["status"] == "active"


def test_a_subscription_of_another_customer_changes_nothing(clean_app, subscribed,
                                                            stripe_server):
    fake = stripe_server.fake
    owner, subscription = subscribed
    stranger = fake.create_customer({"name": "Not ours"})
    foreign = copy.deepcopy(fake.subscriptions[subscription["id"]])
    foreign.update(id="sub_test_foreign", customer=stranger["id"], status="canceled")
    fake.subscriptions[foreign["id"]] = foreign
    answer = deliver(owner.client, fake, fake.event("customer.subscription.deleted", foreign))
    assert answer.status_code == 200
    drain(clean_app)
    assert usage(owner)["status"] == "active"


def test_webhook_needs_no_token_and_no_csrf(clean_app, stripe_server):
    """The app under test has CSRF on here: the webhook is exempt, and anonymous."""
    fake = stripe_server.fake
    client = clean_app.test_client()
    clean_app.config["WTF_CSRF_ENABLED"] = True
    try:
        event = fake.event("customer.tax_id.created", {"id": "txi_1", "object": "tax_id"})
        answer = deliver(client, fake, event)
    finally:
        clean_app.config["WTF_CSRF_ENABLED"] = False
    assert answer.status_code == 200, answer.json


def test_concurrent_deliveries_of_one_event_store_it_once(clean_app, subscribed, stripe_server):
    from concurrent.futures import ThreadPoolExecutor

    fake = stripe_server.fake
    owner, subscription = subscribed
    event = fake.event("customer.subscription.updated", fake.subscriptions[subscription["id"]])

    def post(_):
        return deliver(clean_app.test_client(), fake, event).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(post, range(10)))
    drain(clean_app)
    assert statuses == [200] * 10
    with clean_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookEvent).where(
            WebhookEvent.id == event["id"])) == 1
    assert _events(clean_app)[event["id"]] is True
    assert usage(owner)["status"] == "active"
