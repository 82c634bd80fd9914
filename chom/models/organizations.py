"""Organizations (the billing container) and their tenants (the billing unit)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chom.models.base import Base, OrganizationOwned, PublicId, Timestamps

TENANT_STATUSES = ("trialing", "active", "past_due", "canceled", "suspended")


class Organization(PublicId, Timestamps, Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100))
    require_two_factor: Mapped[bool] = mapped_column(default=False)

    tenants: Mapped[list[Tenant]] = relationship(
        back_populates="organization", order_by="Tenant.created_at"
    )


class Tenant(PublicId, Timestamps, OrganizationOwned, Base):
    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(40), default="starter")
    status: Mapped[str] = mapped_column(String(20), default="trialing")
    trial_ends_at: Mapped[datetime | None]
    # The item of the organization's Stripe subscription that bills this tenant.
    stripe_subscription_item_id: Mapped[str | None] = mapped_column(String(100))
    # When the payment became past due (the grace period counts from here).
    past_due_since: Mapped[datetime | None]
    # Set while billing holds the tenant's sites suspended; the sites it suspended, to resume.
    billing_suspended_at: Mapped[datetime | None]
    billing_suspended_sites: Mapped[list | None] = mapped_column(JSON, default=list)

    organization: Mapped[Organization] = relationship(back_populates="tenants")
