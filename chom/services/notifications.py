"""Notifications: an organization's channels (webhooks, email) and the events sent to them.

`notify()` is called where something happens (a provisioning failed, a backup failed, a
certificate expires soon ...); it queues one delivery job per channel that wants the event,
and each job retries with growing intervals until the receiver takes it. A delivery carries
a stable id, so a receiver that sees one twice (a retry after a lost answer) can ignore it.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid

from flask import current_app
from sqlalchemy import select

from chom.extensions import db
from chom.integration import webhooks
from chom.integration.queue import QueueUnavailable, current_queue
from chom.models import NotificationChannel, Tenant
from chom.models.base import utcnow
from chom.models.scoping import unscoped
from chom.services import audit, mail
from chom.services.errors import MailUnavailable, ValidationFailed
from chom.services.lookup import get_or_not_found
from chom.services.tenancy import Actor

log = logging.getLogger(__name__)

# Every event a channel can ask for, and what it means (shown by the API and the console).
EVENTS = {
    "site.provisioning_failed": "A site's provisioning failed.",
    "site.down": "A site stopped answering its health check.",
    "ssl.expiring": "A site's certificate expires within 7 days.",
    "ssl.renewal_failed": "Renewing a site's certificate failed.",
    "backup.failed": "A site's backup failed.",
    "payment.failed": "A payment for the subscription failed.",
    "invitation.sent": "Someone was invited to the organization.",
    "test": "A test delivery asked for from the API or the console.",
}
DELIVER_JOB = "chom.jobs.notifications.deliver_notification"


def _check(kind: str, target: str, events: list[str]) -> None:
    errors: dict[str, list[str]] = {}
    if kind not in _DELIVERERS:
        errors["kind"] = [f"Must be one of: {', '.join(_DELIVERERS)}."]
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        errors["events"] = [f"Unknown events: {', '.join(unknown)}."]
    if kind == "email" and ("@" not in target or any(c.isspace() for c in target)):
        errors["target"] = ["Not a valid email address."]
    if kind == "webhook":
        try:
            webhooks.check_destination(target, allow_private=_allow_private())
        except webhooks.UnsafeDestination as error:
            errors["target"] = [str(error)]
    if errors:
        raise ValidationFailed(errors)


def _allow_private() -> bool:
    return bool(current_app.config["CHOM_WEBHOOK_ALLOW_PRIVATE"])


def list_channels(actor: Actor) -> list[NotificationChannel]:
    """The organization's channels."""
    actor.require("notifications:manage")
    return list(db.session.scalars(select(NotificationChannel)
                                   .order_by(NotificationChannel.created_at)))


def create_channel(actor: Actor, *, kind: str, target: str, events: list[str] | None = None
                   ) -> tuple[NotificationChannel, str | None]:
    """A new channel; for a webhook also its signing secret, returned this once."""
    actor.require("notifications:manage")
    events = list(events or [])
    _check(kind, target, events)
    secret = f"whsec_{secrets.token_urlsafe(32)}" if kind == "webhook" else None
    channel = NotificationChannel(
        organization_id=actor.organization_id, kind=kind, target=target, events=events,
        secret_encrypted=current_app.extensions["chom_secrets"].encrypt(secret)
        if secret else None)
    db.session.add(channel)
    db.session.flush()
    audit.record(actor, "notification_channel.created", channel, kind=kind, url=target)
    db.session.commit()
    return channel, secret


def get_channel(actor: Actor, channel_id) -> NotificationChannel:
    """One of the organization's channels (looked up first: another's is a 404, not a 403)."""
    channel = get_or_not_found(NotificationChannel, channel_id, "Notification channel")
    actor.require("notifications:manage")
    return channel


def update_channel(actor: Actor, channel_id, **changes) -> NotificationChannel:
    """Change a channel's target, events or whether it is enabled."""
    channel = get_channel(actor, channel_id)
    target = changes.get("target", channel.target)
    events = list(changes.get("events", channel.events))
    _check(channel.kind, target, events)
    channel.target, channel.events = target, events
    channel.enabled = changes.get("enabled", channel.enabled)
    audit.record(actor, "notification_channel.updated", channel, url=target, events=events,
                 enabled=channel.enabled)
    db.session.commit()
    return channel


def delete_channel(actor: Actor, channel_id) -> None:
    channel = get_channel(actor, channel_id)
    audit.record(actor, "notification_channel.deleted", channel, url=channel.target)
    db.session.delete(channel)
    db.session.commit()


def send_test(actor: Actor, channel_id) -> str:
    """Queue a `test` event to one channel; returns the delivery id."""
    channel = get_channel(actor, channel_id)
    payload = _payload(actor.organization_id, "test", {"message": "CHOM test delivery"}, None)
    _enqueue(channel.id, payload)
    return payload["id"]


def _payload(organization_id, event: str, data: dict, tenant_id) -> dict:
    return {"id": f"evt_{uuid.uuid4().hex}", "type": event, "created_at": utcnow().isoformat(),
            "organization_id": str(organization_id),
            "tenant_id": str(tenant_id) if tenant_id else None, "data": data}


def _enqueue(channel_id, payload: dict) -> None:
    intervals = current_app.config["CHOM_NOTIFY_RETRY_INTERVALS"]
    try:
        current_queue().enqueue(DELIVER_JOB, str(channel_id), payload,
                                job_id=f"notify-{payload['id']}-{channel_id}",
                                retries=len(intervals), retry_intervals=intervals)
    except QueueUnavailable as error:
        log.warning("notification %s to channel %s not queued: %s", payload["type"],
                    channel_id, error)


def notify(organization_id, event: str, data: dict, *, tenant_id=None) -> int:
    """Queue `event` for every enabled channel of the organization that wants it; returns
    how many deliveries were queued. Called by the platform, whatever the request's scope."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    payload = _payload(organization_id, event, data, tenant_id)
    with unscoped():
        channels = db.session.scalars(select(NotificationChannel).where(
            NotificationChannel.organization_id == organization_id,
            NotificationChannel.enabled.is_(True))).all()
        wanted = [c.id for c in channels if not c.events or event in c.events]
    for channel_id in wanted:
        _enqueue(channel_id, payload)
    return len(wanted)


def notify_tenant(tenant_id, event: str, data: dict) -> int:
    """`notify()` the organization that holds the tenant, naming the tenant."""
    with unscoped():
        organization_id = db.session.scalar(
            select(Tenant.organization_id).where(Tenant.id == tenant_id))
    if organization_id is None:
        return 0
    return notify(organization_id, event, data, tenant_id=tenant_id)


def deliver(channel_id: str, payload: dict) -> None:
    """Send one event to one channel (the job's body). Raises when the receiver did not take
    it, so the queue tries again later; the channel records the last outcome either way."""
    with unscoped():
        channel = db.session.get(NotificationChannel, uuid.UUID(channel_id))
        if channel is None or not channel.enabled:
            return  # deleted or switched off since: nothing to send
        body = json.dumps(payload, separators=(",", ":")).encode()
        status = "failed"
        try:
            _DELIVERERS[channel.kind](channel, payload, body)
            status = "delivered"
        except (webhooks.DeliveryFailed, webhooks.UnsafeDestination, MailUnavailable) as error:
            status = f"failed: {error}"[:200]
            raise
        finally:
            channel.last_delivery_at, channel.last_delivery_status = utcnow(), status
            db.session.commit()


def _deliver_webhook(channel: NotificationChannel, payload: dict, body: bytes) -> None:
    secret = current_app.extensions["chom_secrets"].decrypt(channel.secret_encrypted)
    webhooks.post(channel.target, body, {"Chom-Event": payload["type"],
                                         "Chom-Delivery": payload["id"]},
                  secret=secret, allow_private=_allow_private())


def _deliver_email(channel: NotificationChannel, payload: dict, body: bytes) -> None:
    lines = [EVENTS[payload["type"]], ""]
    lines += [f"{key}: {value}" for key, value in payload["data"].items()]
    lines += ["", f"Event {payload['id']} at {payload['created_at']}.",
              f"Notification settings: {mail.link('/notifications')}"]
    mail.send(to=channel.target, subject=f"[CHOM] {EVENTS[payload['type']]}",
              text="\n".join(lines))


_DELIVERERS = {"webhook": _deliver_webhook, "email": _deliver_email}
