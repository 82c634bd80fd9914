"""Certificates renewed before they expire."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from chom.extensions import db
from chom.models import Operation, Site
from chom.services.site_operations import start_operation

RENEW_BEFORE = timedelta(days=30)


def renew_expiring_certificates(now: datetime) -> list[Operation]:
    """Start `issue_ssl` for every active site whose certificate expires within 30 days and
    that has no certificate operation under way (system scope); returns the operations."""
    busy = select(Operation.site_id).where(Operation.kind == "issue_ssl",
                                           Operation.status.in_(("queued", "running")))
    sites = db.session.scalars(select(Site).where(
        Site.status == "active", Site.deleted_at.is_(None), Site.ssl_enabled.is_(True),
        Site.ssl_expires_at <= now + RENEW_BEFORE, Site.id.not_in(busy))).all()
    return [start_operation(None, site, "issue_ssl") for site in sites]
