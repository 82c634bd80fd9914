"""Sites, the operations that provision them, and their backups."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chom.models.base import Base, PublicId, TenantOwned, Timestamps
from chom.models.fleet import VpsServer

BACKUP_STATUSES = ("pending", "running", "succeeded", "failed")
SITE_STATUSES = ("pending", "provisioning", "active", "failed", "suspended", "deleting", "deleted")
OPERATION_STATUSES = ("queued", "running", "succeeded", "failed")


class Site(PublicId, Timestamps, TenantOwned, Base):
    __tablename__ = "sites"
    __table_args__ = (
        # A domain is taken platform-wide until its site is deleted.
        Index(
            "uq_sites_live_domain",
            "domain",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_sites_tenant_created", "tenant_id", "created_at"),
    )

    domain: Mapped[str] = mapped_column(String(253))
    type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    php_version: Mapped[str | None] = mapped_column(String(10))
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    vps_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vps_servers.id", ondelete="SET NULL"), index=True
    )
    ssl_enabled: Mapped[bool] = mapped_column(default=False)
    ssl_expires_at: Mapped[datetime | None]
    # The issued chain and its key (encrypted), to install it again on a rebuilt or new VPS.
    ssl_certificate_pem: Mapped[str | None] = mapped_column(Text)
    ssl_key_encrypted: Mapped[str | None] = mapped_column(Text)
    db_password_encrypted: Mapped[str | None] = mapped_column(Text)
    # SHA-256 of the secret in the site's push-to-deploy URL (`services.deploy_hooks`).
    deploy_hook_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    deleted_at: Mapped[datetime | None]

    vps: Mapped[VpsServer | None] = relationship()


class Operation(PublicId, Timestamps, TenantOwned, Base):
    """One provisioning run: the source of truth for its progress."""

    __tablename__ = "operations"

    site_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sites.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    step_index: Mapped[int] = mapped_column(default=0)
    step_count: Mapped[int] = mapped_column(default=0)
    current_step: Mapped[str | None] = mapped_column(String(200))
    log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    # The W3C trace id (32 hex digits) of the request that asked for it, when traced.
    trace_id: Mapped[str | None] = mapped_column(String(32))
    job_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # What the operation carries to the VPS beyond the plan (uploaded content, repacked).
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    site: Mapped[Site | None] = relationship()


class Backup(PublicId, Timestamps, TenantOwned, Base):
    """A site's backup: its parts (objects in backup storage under `storage_key`), their sizes
    and SHA-256 sums. Only a `succeeded` backup counts against the storage quota."""

    __tablename__ = "backups"
    __table_args__ = (Index("ix_backups_site_created", "site_id", "created_at"),)

    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    storage_key: Mapped[str | None] = mapped_column(String(500))
    checksum: Mapped[str | None] = mapped_column(String(128))
    completed_at: Mapped[datetime | None]
    #: `manual` (asked for) or `scheduled` (the daily run)
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    #: `[{name, key, size, sha256}]`, one per part, once stored
    parts: Mapped[list] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    operation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("operations.id", ondelete="SET NULL"))

    operation: Mapped[Operation | None] = relationship()
