"""Scheduled backups and retention: each site backed up daily at a time of its own, and only
the newest backups its plan keeps."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from chom.extensions import db
from chom.models import Backup, Site, Tenant
from chom.services.backups import (
    IN_FLIGHT,
    new_backup,
    remove_backup,
    restore_in_flight,
    storage_used,
)
from chom.services.provisioning import enqueue_operation
from chom.services.sites import plan_limits

log = logging.getLogger(__name__)

DAY = timedelta(days=1)


def daily_slot(site_id, now: datetime) -> datetime:
    """The most recent moment (at or before `now`) of the site's daily backup: a time of day
    derived from the site id, so a fleet's backups spread over the day instead of all at
    midnight."""
    offset = int.from_bytes(hashlib.sha256(str(site_id).encode()).digest()[:8]) % 86_400
    slot = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(seconds=offset)
    return slot if slot <= now else slot - DAY


def _over_quota(tenant: Tenant) -> bool:
    limit_gb = plan_limits(tenant).get("storage_gb")
    return limit_gb is not None and storage_used(tenant) >= limit_gb * 1024**3


def start_due_backups(now: datetime) -> list[Backup]:
    """Start the scheduled backup of every active site whose daily slot has passed with no
    backup since (system scope). A slot missed while nothing ran is caught up at the next
    call, once; a tenant over its storage quota is skipped (and logged)."""
    last_backup = (select(Backup.site_id, func.max(Backup.created_at).label("at"))
                   .group_by(Backup.site_id).subquery())
    rows = db.session.execute(
        select(Site, last_backup.c.at).outerjoin(last_backup, last_backup.c.site_id == Site.id)
        .where(Site.status == "active", Site.deleted_at.is_(None))).all()
    started = []
    for site, last_at in rows:
        slot = daily_slot(site.id, now)
        if site.created_at > slot or (last_at is not None and last_at >= slot) \
                or restore_in_flight(site):
            continue  # not due (a restore under way: caught up at the next call)
        tenant = db.session.get(Tenant, site.tenant_id)
        if _over_quota(tenant):
            log.warning("scheduled backup of %s skipped: backup storage quota used up", site.id)
            continue
        started.append(new_backup(site, trigger="scheduled", correlation_id=None))
    db.session.commit()
    for backup in started:
        enqueue_operation(backup.operation)
    return started


def retention_for(tenant: Tenant) -> int:
    """How many backups per site the tenant's plan keeps (`CHOM_BACKUP_RETENTION`)."""
    table = current_app.config["CHOM_BACKUP_RETENTION"]
    return table.get(tenant.plan, min(table.values()))


def prune_backups(now: datetime) -> int:
    """Delete, for every site, the finished backups beyond the newest its plan keeps, and for
    a deleted site also those older than that many days (system scope: a deleted site's last
    backups stay restorable as long as its daily ones would have); returns how many went.
    Backups in progress are never touched."""
    rank = func.row_number().over(partition_by=Backup.site_id,
                                  order_by=(Backup.created_at.desc(), Backup.id)).label("rank")
    ranked = (select(Backup.id, Backup.tenant_id, Backup.created_at, Site.deleted_at, rank)
              .join(Site, Site.id == Backup.site_id)
              .where(Backup.status.not_in(IN_FLIGHT)).subquery())
    rows = db.session.execute(
        select(ranked.c.id, ranked.c.rank, ranked.c.created_at, ranked.c.deleted_at, Tenant)
        .join(Tenant, Tenant.id == ranked.c.tenant_id)).all()
    doomed = [backup_id for backup_id, position, created_at, deleted_at, tenant in rows
              if position > retention_for(tenant) or (
                  deleted_at is not None
                  and created_at < now - retention_for(tenant) * DAY)]
    for backup in db.session.scalars(select(Backup).where(Backup.id.in_(doomed))):
        remove_backup(backup)
    db.session.commit()
    return len(doomed)
