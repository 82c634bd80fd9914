"""Backups of sites: asking for one, listing, downloading, restoring, deleting; storage used.

A backup runs as an Operation (`backup`) on its site's VPS, like every other change to a site
(`services.backup_runs` does the streaming); a restore is a `restore` Operation, on the site
itself or on a new site (a clone with its own domain, on any VPS the plan may use).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import BinaryIO

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select

from chom.extensions import db
from chom.models import Backup, Operation, Site, Tenant
from chom.models.scoping import unscoped
from chom.services import audit
from chom.services.backup_store import storage
from chom.services.domains import InvalidDomain, normalize_domain
from chom.services.errors import Conflict, NotFound, QuotaExceeded, ValidationFailed
from chom.services.lookup import get_or_not_found, newest_first_page
from chom.services.provisioning import enqueue_operation
from chom.services.sites import create_site, plan_limits
from chom.services.tenancy import Actor

BACKED_UP_STATUSES = ("active", "suspended")
IN_FLIGHT = ("pending", "running")


def storage_used(tenant: Tenant) -> int:
    """Bytes of backup storage `tenant` uses: its succeeded backups (a failed or unfinished
    backup never counts). What the plan's storage quota is measured against."""
    with unscoped():  # billing asks for any tenant, whatever the caller's scope
        return int(db.session.scalar(
            select(func.coalesce(func.sum(Backup.size_bytes), 0))
            .where(Backup.tenant_id == tenant.id, Backup.status == "succeeded")) or 0)


def restore_in_flight(site: Site) -> bool:
    """Whether a restore into `site` is queued or running (a backup then would copy a
    half-restored site)."""
    return db.session.scalar(select(Operation.id).where(
        Operation.site_id == site.id, Operation.kind == "restore",
        Operation.status.in_(("queued", "running"))).limit(1)) is not None


def _check_storage_quota(tenant: Tenant) -> None:
    limit_gb = plan_limits(tenant).get("storage_gb")
    if limit_gb is None:
        return
    used, limit = storage_used(tenant), limit_gb * 1024**3
    if used >= limit:
        raise QuotaExceeded(
            f"The {tenant.plan} plan allows {limit_gb} GB of backups and {used} bytes are used.",
            limit=limit, used=used)


def _live_site(site_id) -> Site:
    site = get_or_not_found(Site, site_id, "Site")
    if site.deleted_at is not None:
        raise NotFound("Site not found.")
    return site


def _backup_of(site: Site, backup_id) -> Backup:
    backup = get_or_not_found(Backup, backup_id, "Backup")
    if backup.site_id != site.id:
        raise NotFound("Backup not found.")
    return backup


def storage_prefix(site: Site, backup_id: uuid.UUID) -> str:
    """Where a backup's objects go: one prefix per organization, then tenant, site, backup."""
    tenant = db.session.get(Tenant, site.tenant_id)
    return (f"org-{tenant.organization_id}/tenant-{site.tenant_id}/site-{site.id}/"
            f"backup-{backup_id}")


def new_backup(site: Site, *, trigger: str, correlation_id: str | None) -> Backup:
    """A pending backup of `site` and its Operation, added to the session (not committed)."""
    operation = Operation(id=uuid.uuid4(), tenant_id=site.tenant_id, site_id=site.id,
                          kind="backup", status="queued", correlation_id=correlation_id)
    operation.job_id = f"op-{operation.id}"
    backup_id = uuid.uuid4()
    backup = Backup(id=backup_id, tenant_id=site.tenant_id, site_id=site.id, status="pending",
                    trigger=trigger, operation=operation,
                    storage_key=storage_prefix(site, backup_id))
    db.session.add_all([operation, backup])
    return backup


def request_backup(actor: Actor, site_id) -> Backup:
    """Back the site up now (202): returns the pending Backup; one already pending or running
    for the site is returned instead. Raises `Conflict` for a site not serving, and
    `QuotaExceeded` when the plan's backup storage is used up."""
    site = _live_site(site_id)
    actor.require("backups:write")
    if site.status not in BACKED_UP_STATUSES:
        raise Conflict(f"Only an active or suspended site can be backed up; it is {site.status}.")
    in_flight = db.session.scalar(select(Backup).where(
        Backup.site_id == site.id, Backup.status.in_(IN_FLIGHT)))
    if in_flight is not None:
        return in_flight
    if restore_in_flight(site):
        raise Conflict("A restore into this site is under way; back it up once it has finished.")
    _check_storage_quota(actor.require_tenant())
    backup = new_backup(site, trigger="manual", correlation_id=actor.request.correlation_id)
    audit.record(actor, "backup.created", backup, site_id=str(site.id), domain=site.domain)
    db.session.commit()
    enqueue_operation(backup.operation)
    return backup


def list_backups(actor: Actor, site_id, *, page: int, per_page: int) -> tuple[list, int]:
    """A site's backups, newest first, and how many there are."""
    actor.require("backups:read")
    site = get_or_not_found(Site, site_id, "Site")
    return newest_first_page(select(Backup).where(Backup.site_id == site.id), Backup,
                             page=page, per_page=per_page)


def get_backup(actor: Actor, site_id, backup_id) -> Backup:
    actor.require("backups:read")
    return _backup_of(get_or_not_found(Site, site_id, "Site"), backup_id)


def _download_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="chom-backup-download")


def download_urls(actor: Actor, backup: Backup, link_for: Callable[[str], str]
                  ) -> dict[str, str] | None:
    """Time-limited links (`CHOM_BACKUP_URL_TTL` seconds) to each part of a succeeded backup,
    for those who may download (None otherwise): presigned by S3, or, for the backup
    directory, CHOM's own link made by `link_for(token)` from a signed token."""
    if backup.status != "succeeded" or not actor.may("backups:download"):
        return None
    ttl = current_app.config["CHOM_BACKUP_URL_TTL"]
    urls = {}
    for part in backup.parts:
        urls[part["name"]] = storage().download_url(part["key"], ttl) or \
            link_for(_download_signer().dumps(part["key"]))
    return urls


def open_download(token: str) -> tuple[BinaryIO, str]:
    """The stored part a download token names, open for reading, and its file name. A token
    is a bearer credential, like a presigned URL: forged, altered or older than
    `CHOM_BACKUP_URL_TTL` it is `NotFound`."""
    try:
        key = _download_signer().loads(token, max_age=current_app.config["CHOM_BACKUP_URL_TTL"])
        return storage().open(key), key.rsplit("/", 1)[-1]
    except (BadSignature, FileNotFoundError, ValueError):
        raise NotFound("This download link is invalid or has expired.") from None


def delete_backup(actor: Actor, site_id, backup_id) -> None:
    """Remove a backup's objects and its row. A backup in progress is a `Conflict`."""
    backup = _backup_of(get_or_not_found(Site, site_id, "Site"), backup_id)
    actor.require("backups:delete")
    if backup.status in IN_FLIGHT:
        raise Conflict("The backup is still running; delete it once it has finished.")
    audit.record(actor, "backup.deleted", backup, site_id=str(backup.site_id),
                 size_bytes=backup.size_bytes)
    remove_backup(backup)
    db.session.commit()


def remove_backup(backup: Backup) -> None:
    """Delete a finished backup's objects and its row (in the caller's transaction)."""
    storage().delete([part["key"] for part in backup.parts or []])
    db.session.delete(backup)


def _clone_target(actor: Actor, source: Site, target: dict) -> Site:
    try:
        domain = normalize_domain(target.get("domain") or "")
    except InvalidDomain as error:
        raise ValidationFailed({"target.domain": [str(error)]}) from error
    created = create_site(actor, domain=domain, type=source.type,
                          php_version=source.php_version, options=dict(source.options or {}),
                          vps_name=target.get("vps"))
    return created.site


def request_restore(actor: Actor, site_id, backup_id, *, target: dict | None = None
                    ) -> tuple[Operation, Site]:
    """Restore a succeeded backup into its own site, or with `target` (`{domain, vps?}`) into a
    new site of the same type: provisioned first, then restored, its URLs rewritten by its
    site type. Returns the restore Operation and the site restored into."""
    site = _live_site(site_id)
    backup = _backup_of(site, backup_id)
    actor.require("backups:write")
    if backup.status != "succeeded":
        raise Conflict(f"Only a succeeded backup can be restored; this one is {backup.status}.")
    if target is None:
        if site.status not in BACKED_UP_STATUSES + ("failed",):
            raise Conflict(f"Cannot restore into a site that is {site.status}.")
        if db.session.scalar(select(Backup.id).where(
                Backup.site_id == site.id, Backup.status.in_(IN_FLIGHT)).limit(1)) is not None:
            raise Conflict("A backup of this site is under way; restore once it has finished.")
        into = site
    else:
        into = _clone_target(actor, site, target)
    operation = Operation(id=uuid.uuid4(), tenant_id=into.tenant_id, site_id=into.id,
                          kind="restore", status="queued",
                          correlation_id=actor.request.correlation_id,
                          payload=json.dumps({"backup_id": str(backup.id)}).encode())
    operation.job_id = f"op-{operation.id}"
    db.session.add(operation)
    audit.record(actor, "backup.restored", backup, site_id=str(site.id),
                 into_site_id=str(into.id), into_domain=into.domain)
    db.session.commit()
    enqueue_operation(operation)
    return operation, into

