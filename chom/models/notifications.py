"""Where an organization wants to hear about what happens: its notification channels."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chom.models.base import Base, OrganizationOwned, PublicId, Timestamps

CHANNEL_KINDS = ("webhook", "email")


class NotificationChannel(PublicId, Timestamps, OrganizationOwned, Base):
    """A webhook URL or an email address, and the events it wants (empty: all of them)."""

    __tablename__ = "notification_channels"

    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(500))
    # The webhook's HMAC signing secret (encrypted); email channels have none.
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    events: Mapped[list] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    last_delivery_at: Mapped[datetime | None] = mapped_column()
    last_delivery_status: Mapped[str | None] = mapped_column(String(200))
