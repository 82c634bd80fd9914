"""Tenants of an organization: the billing units that hold sites."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from chom.extensions import db
from chom.models import Tenant
from chom.models.base import utcnow
from chom.services import audit
from chom.services.tenancy import Actor


def list_tenants(actor: Actor) -> list[Tenant]:
    """The organization's tenants that the actor's membership reaches."""
    actor.require("tenants:read")
    return list(db.session.scalars(select(Tenant).order_by(Tenant.created_at)))


def create_tenant(actor: Actor, *, name: str) -> Tenant:
    """A new tenant in the actor's organization, on the Starter plan's trial."""
    actor.require("tenants:write")
    tenant = Tenant(
        organization_id=actor.organization_id,
        name=name.strip(),
        plan="starter",
        status="trialing",
        trial_ends_at=utcnow() + timedelta(days=current_app.config["CHOM_TRIAL_DAYS"]),
    )
    db.session.add(tenant)
    db.session.flush()
    audit.record(actor, "tenant.created", tenant, name=tenant.name)
    db.session.commit()
    return tenant
