"""Alertmanager's webhook: a site that stopped answering becomes a `site.down` notification.

Alertmanager sends each group of alerts to its webhook receivers (JSON, version 4) again every
`repeat_interval` while they fire; one firing of one alert (its fingerprint and start time) is
announced once (`services.once`). Alerts name their
site by the `site_id` label (the alert rules keep it from the probed targets, which CHOM labels).
"""

from __future__ import annotations

import hmac
import uuid

from flask import current_app

from chom.extensions import db
from chom.models import Site
from chom.models.scoping import unscoped
from chom.services import notifications
from chom.services.errors import NotAuthenticated
from chom.services.once import first_time

# Which alerts become which notification event.
ALERT_EVENTS = {"SiteDown": "site.down"}


def check_token(presented: str | None) -> None:
    """`NotAuthenticated` unless the bearer token is `CHOM_ALERTMANAGER_WEBHOOK_TOKEN` (with
    the setting unset, every call is refused)."""
    expected = current_app.config.get("CHOM_ALERTMANAGER_WEBHOOK_TOKEN")
    if not expected or not presented or not hmac.compare_digest(presented, expected):
        raise NotAuthenticated("A valid bearer token is required.")


def receive(alerts: list[dict]) -> int:
    """Announce each newly firing site alert; returns how many notifications were queued."""
    announced = 0
    with unscoped():
        for alert in alerts:
            labels = alert.get("labels") or {}
            event = ALERT_EVENTS.get(labels.get("alertname"))
            if alert.get("status") != "firing" or event is None:
                continue
            try:
                site = db.session.get(Site, uuid.UUID(str(labels.get("site_id"))))
            except ValueError:
                continue
            if site is None or site.deleted_at is not None:
                continue
            if not first_time(f"am:{alert.get('fingerprint')}:{alert.get('startsAt')}",
                              "alertmanager"):
                continue
            announced += notifications.notify_tenant(site.tenant_id, event, {
                "site_id": str(site.id), "domain": site.domain,
                "alert": labels.get("alertname"), "since": alert.get("startsAt"),
                "summary": (alert.get("annotations") or {}).get("summary")})
    return announced
