"""Tenants of an organization: the billing units that hold sites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from chom.extensions import db
from chom.models import Site, Tenant
from chom.models.base import utcnow
from chom.models.scoping import unscoped
from chom.services import audit, billing
from chom.services.errors import Conflict
from chom.services.lookup import get_or_not_found
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


@dataclass(frozen=True)
class TenantUsage:
    tenant: Tenant
    sites: int
    max_sites: int | None


def get_tenant(actor: Actor, tenant_id) -> TenantUsage:
    """A tenant the actor reaches, with its usage against its plan."""
    actor.require("tenants:read")
    tenant = get_or_not_found(Tenant, tenant_id, "Tenant")
    with unscoped():  # the scope is the request's tenant; this one may be another reachable one
        sites = db.session.scalar(select(func.count(Site.id)).where(
            Site.tenant_id == tenant.id, Site.deleted_at.is_(None)))
    return TenantUsage(tenant, sites or 0,
                       current_app.config["CHOM_PLANS"][tenant.plan]["max_sites"])


def rename_tenant(actor: Actor, tenant_id, *, name: str) -> Tenant:
    """Rename a tenant (admin and owner)."""
    tenant = get_or_not_found(Tenant, tenant_id, "Tenant")  # out of scope: 404 before 403
    actor.require("tenants:write")
    old = tenant.name
    tenant.name = name.strip()
    audit.record(actor, "tenant.renamed", tenant, old=old, new=tenant.name)
    db.session.commit()
    return tenant


def delete_tenant(actor: Actor, tenant_id) -> None:
    """Delete a tenant that holds no site; `Conflict` listing them otherwise, or when it is the
    organization's last tenant."""
    tenant = get_or_not_found(Tenant, tenant_id, "Tenant")
    actor.require("tenants:write")
    with unscoped():
        domains = list(db.session.scalars(select(Site.domain).where(
            Site.tenant_id == tenant.id, Site.deleted_at.is_(None)).order_by(Site.domain)))
        others = db.session.scalar(select(func.count(Tenant.id)).where(
            Tenant.organization_id == tenant.organization_id, Tenant.id != tenant.id))
    if domains:
        raise Conflict(f"{tenant.name} still holds {len(domains)} site(s); delete them first.",
                       sites=domains)
    if not others:
        raise Conflict("An organization keeps at least one tenant.")
    billing.release_tenant(actor, tenant)  # nothing bills a deleted tenant
    audit.record(actor, "tenant.deleted", tenant, name=tenant.name)
    db.session.delete(tenant)
    db.session.commit()
