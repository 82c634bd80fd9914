"""Usage snapshots: what each tenant uses, recorded for billing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from chom.extensions import db
from chom.models import Backup, Site, Tenant, UsageSnapshot


def record_usage(now: datetime) -> list[UsageSnapshot]:
    """One snapshot per tenant (system scope): live sites, and bytes of succeeded backups
    (as `services.backups.storage_used` counts them), taken at `now`."""
    sites = dict(db.session.execute(
        select(Site.tenant_id, func.count(Site.id)).where(Site.deleted_at.is_(None))
        .group_by(Site.tenant_id)).all())
    storage = dict(db.session.execute(
        select(Backup.tenant_id, func.sum(Backup.size_bytes))
        .where(Backup.status == "succeeded").group_by(Backup.tenant_id)).all())
    snapshots = [UsageSnapshot(tenant_id=tenant_id, taken_at=now, sites=sites.get(tenant_id, 0),
                               storage_bytes=int(storage.get(tenant_id) or 0))
                 for tenant_id in db.session.scalars(select(Tenant.id))]
    db.session.add_all(snapshots)
    db.session.commit()
    return snapshots
