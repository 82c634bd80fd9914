"""The operator's VPS fleet, and which VPS serves which tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chom.models.base import Base, PublicId, TenantOwned, Timestamps


class VpsServer(PublicId, Timestamps, Base):
    __tablename__ = "vps_servers"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(default=22)
    ssh_user: Mapped[str] = mapped_column(String(64), default="root")
    transport: Mapped[str] = mapped_column(String(20), default="ssh")
    # The host key recorded when the VPS was added ("<type> <base64>"); never auto-accepted.
    host_key: Mapped[str | None] = mapped_column(Text)
    ssh_private_key_encrypted: Mapped[str | None] = mapped_column(Text)
    capacity: Mapped[int] = mapped_column(default=50)
    kind: Mapped[str] = mapped_column(String(20), default="shared")  # shared | dedicated
    status: Mapped[str] = mapped_column(String(20), default="active")
    # Remote paths and service commands: real servers and the test fleet differ only here.
    settings: Mapped[dict] = mapped_column(JSON, default=dict)


class VpsAllocation(PublicId, Timestamps, TenantOwned, Base):
    __tablename__ = "vps_allocations"
    __table_args__ = (UniqueConstraint("tenant_id", "vps_id"),)

    vps_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vps_servers.id", ondelete="CASCADE"))
    dedicated: Mapped[bool] = mapped_column(default=False)

    vps: Mapped[VpsServer] = relationship()
