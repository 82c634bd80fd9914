"""What each tenant used at a moment: the figures billing reads (sites, backup storage)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index
from sqlalchemy.orm import Mapped, mapped_column

from chom.models.base import Base, PublicId, TenantOwned, Timestamps


class UsageSnapshot(PublicId, Timestamps, TenantOwned, Base):
    __tablename__ = "usage_snapshots"
    __table_args__ = (Index("ix_usage_snapshots_tenant_taken", "tenant_id", "taken_at"),)

    taken_at: Mapped[datetime]
    sites: Mapped[int] = mapped_column(default=0)
    storage_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
