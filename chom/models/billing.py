"""Stripe state: the organization's subscription and the webhook events already handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from chom.models.base import Base, OrganizationOwned, PublicId, Timestamps, utcnow


class Subscription(PublicId, Timestamps, OrganizationOwned, Base):
    __tablename__ = "subscriptions"

    stripe_subscription_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(30), default="trialing")
    current_period_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)


class WebhookEvent(Base):
    __tablename__ = "webhook_events"

    # Stripe's own event id: the primary key makes a replayed event a no-op.
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
