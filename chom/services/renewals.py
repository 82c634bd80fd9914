"""Certificates renewed before they expire."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select

from chom.extensions import db
from chom.models import Operation, Site
from chom.services.provisioning import enqueue_operation

RENEW_BEFORE = timedelta(days=30)


def renew_expiring_certificates(now: datetime) -> list[Operation]:
    """Start `issue_ssl` for every active site whose certificate expires within 30 days and
    that has no certificate operation under way (system scope); returns the operations."""
    busy = select(Operation.site_id).where(Operation.kind == "issue_ssl",
                                           Operation.status.in_(("queued", "running")))
    sites = db.session.scalars(select(Site).where(
        Site.status == "active", Site.deleted_at.is_(None), Site.ssl_enabled.is_(True),
        Site.ssl_expires_at <= now + RENEW_BEFORE, Site.id.not_in(busy))).all()
    operations = []
    for site in sites:
        operation = Operation(id=uuid.uuid4(), tenant_id=site.tenant_id, site_id=site.id,
                              kind="issue_ssl", status="queued")
        operation.job_id = f"op-{operation.id}"
        operations.append(operation)
    db.session.add_all(operations)
    db.session.commit()
    for operation in operations:
        enqueue_operation(operation)
    return operations
