"""Alerts and silences of a tenant's sites, from the alerts backend (Alertmanager).

The sites come from the tenant scope; the backend is asked for those sites' alerts only, and a
silence given by id is acted on only when it silences exactly one of them, and the site named
in the path — another tenant's silence is a 404 like any other tenant's resource.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from chom.extensions import db
from chom.models import Site
from chom.plugin_api import BackendError
from chom.reliability.degradation import Answer
from chom.services import audit
from chom.services.errors import NotFound
from chom.services.lookup import get_or_not_found
from chom.services.observability import (
    backend_of,
    call_backend,
    degradable,
    site_ref,
    unavailable,
)
from chom.services.tenancy import Actor


def _live_site_ids() -> list[str]:
    """The current tenant's live sites (through the scope)."""
    return [str(i) for i in db.session.scalars(
        select(Site.id).where(Site.deleted_at.is_(None)))]


def tenant_alerts(actor: Actor) -> Answer:
    """Active alerts of every site of the current tenant; degraded when Alertmanager is down."""
    actor.require("monitoring:read")
    site_ids = _live_site_ids()
    backend = backend_of("alerts")
    return degradable(backend, ("tenant-alerts", str(actor.tenant_id), sorted(site_ids)),
                      lambda: backend.alerts(site_ids))


def site_alerts(actor: Actor, site_id) -> Answer:
    """Active alerts of one site."""
    actor.require("monitoring:read")
    site = get_or_not_found(Site, site_id, "Site")
    backend = backend_of("alerts")
    return degradable(backend, ("site-alerts", str(site.id)),
                      lambda: backend.alerts([str(site.id)]))


def site_silences(actor: Actor, site_id) -> Answer:
    """The site's active and pending silences."""
    actor.require("monitoring:read")
    site = get_or_not_found(Site, site_id, "Site")
    backend = backend_of("alerts")
    return degradable(backend, ("site-silences", str(site.id)),
                      lambda: backend.silences([str(site.id)]))


def create_silence(actor: Actor, site_id, *, minutes: int, comment: str,
                   alertname: str | None = None) -> dict:
    """Silence the site's alerts (or one alert name) for `minutes`; returns the silence."""
    actor.require("alerts:silence")
    site = get_or_not_found(Site, site_id, "Site")
    backend = backend_of("alerts")
    ends_at = datetime.now(UTC) + timedelta(minutes=minutes)
    try:
        # Not retried: a create that timed out may have happened.
        silence_id = call_backend(backend, lambda: backend.create_silence(
            site_ref(site), ends_at=ends_at, created_by=actor.user.email, comment=comment,
            alertname=alertname), retry=False)
        silence = call_backend(backend, lambda: backend.get_silence(silence_id))
    except BackendError as error:
        raise unavailable(backend, error) from error
    audit.record(actor, "alerts.silence.create", site, silence_id=silence_id,
                 minutes=minutes, alertname=alertname)
    db.session.commit()
    return silence or {"id": silence_id, "site_id": str(site.id)}


def expire_silence(actor: Actor, site_id, silence_id: str) -> None:
    """End one of the site's silences now."""
    actor.require("alerts:silence")
    site = get_or_not_found(Site, site_id, "Site")
    try:
        uuid.UUID(str(silence_id))
    except ValueError:
        raise NotFound("Silence not found.") from None
    backend = backend_of("alerts")
    try:
        silence = call_backend(backend, lambda: backend.get_silence(str(silence_id)))
        if silence is None or silence["site_id"] != str(site.id):
            raise NotFound("Silence not found.")
        call_backend(backend, lambda: backend.expire_silence(str(silence_id)))
    except BackendError as error:
        raise unavailable(backend, error) from error
    audit.record(actor, "alerts.silence.expire", site, silence_id=str(silence_id))
    db.session.commit()
