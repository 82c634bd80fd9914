"""Stripe webhook intake: prove the signature, remember the event id once, hand the work to a
job, answer at once.

An event already processed is ignored; one received but not yet processed (its job was lost)
is queued again. The job fetches the subscription the event is about and applies it
(`billing_sync.handle_event`), so the event's own payload never decides any state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from chom.extensions import db
from chom.integration.queue import current_queue
from chom.integration.stripe_gateway import WebhookRejected, current_gateway
from chom.models import WebhookEvent
from chom.models.base import utcnow
from chom.models.scoping import unscoped
from chom.services.errors import InvalidWebhook

log = logging.getLogger(__name__)


def _invoice_subscription(invoice: dict) -> str | None:
    # API versions from 2025-03 name it under `parent`; older ones at the top level.
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return details.get("subscription") or invoice.get("subscription")


def _own_id(obj: dict) -> str | None:
    return obj.get("id")


def _subscription_field(obj: dict) -> str | None:
    return obj.get("subscription")


# Event type → where its object names the subscription to sync. Other types are recorded and
# acknowledged, nothing more.
SUBSCRIPTION_OF_EVENT: dict[str, Callable[[dict], str | None]] = {
    "customer.subscription.created": _own_id,
    "customer.subscription.updated": _own_id,
    "customer.subscription.deleted": _own_id,
    "customer.subscription.paused": _own_id,
    "customer.subscription.resumed": _own_id,
    "checkout.session.completed": _subscription_field,
    "invoice.paid": _invoice_subscription,
    "invoice.payment_failed": _invoice_subscription,
    "invoice.payment_succeeded": _invoice_subscription,
}

JOB = "chom.jobs.billing.sync_subscription"


def receive_event(payload: bytes, signature: str | None) -> str:
    """Take one webhook delivery. Returns `queued`, `duplicate` (already processed) or
    `ignored` (a type CHOM does not act on). Raises `InvalidWebhook` (400) when the signature
    is missing, forged, for another secret or older than the tolerance."""
    try:
        event = current_gateway().verify_event(payload, signature)
    except WebhookRejected as error:
        raise InvalidWebhook(str(error)) from error
    event_id, event_type = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not isinstance(event_type, str):
        raise InvalidWebhook("The event has no id or type.")
    find = SUBSCRIPTION_OF_EVENT.get(event_type)
    obj = (event.get("data") or {}).get("object") or {}
    subscription_id = find(obj) if find else None
    with unscoped():
        try:
            with db.session.begin_nested():
                db.session.add(WebhookEvent(id=event_id[:100], type=event_type[:100]))
        except IntegrityError:
            seen = db.session.scalar(select(WebhookEvent).where(WebhookEvent.id == event_id))
            if seen is None or seen.processed_at is not None:
                db.session.rollback()
                return "duplicate"
        else:
            if not subscription_id:
                db.session.scalar(select(WebhookEvent).where(WebhookEvent.id == event_id)
                                  ).processed_at = utcnow()
        db.session.commit()
    if not subscription_id:
        log.info("stripe event %s (%s) acknowledged, nothing to do", event_id, event_type)
        return "ignored"
    current_queue().enqueue(JOB, event_id, subscription_id, job_id=f"stripe-{event_id}",
                            retries=len(current_app.config["CHOM_JOB_RETRY_INTERVALS"]),
                            retry_intervals=current_app.config["CHOM_JOB_RETRY_INTERVALS"])
    return "queued"
