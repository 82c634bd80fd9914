"""Grafana dashboards per tenant: a folder only the tenant's team sees, holding a dashboard of
the tenant's live sites. Run by `flask chom dashboards` (and callable from jobs and pages)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from chom.extensions import db
from chom.models import Site, Tenant
from chom.models.scoping import Scope, scoped, unscoped
from chom.plugin_api import BackendError, TenantRef
from chom.services.observability import backend_of, call_backend, site_ref, unavailable


def provision_tenant_dashboards(tenant_id) -> dict:
    """Create or update the tenant's Grafana folder, permissions and dashboard (idempotent);
    returns `{"folder", "dashboards", ...}`. System work: no request scope is needed."""
    backend = backend_of("dashboards")
    try:
        key = tenant_id if isinstance(tenant_id, uuid.UUID) else uuid.UUID(str(tenant_id))
    except ValueError:
        raise ValueError(f"no tenant {tenant_id}") from None
    with unscoped():  # system work: find the tenant, then look through its scope
        tenant = db.session.scalar(select(Tenant).where(Tenant.id == key))
    if tenant is None:
        raise ValueError(f"no tenant {tenant_id}")
    ref = TenantRef(id=str(tenant.id), name=tenant.name)
    with scoped(Scope(organization_id=tenant.organization_id, tenant_id=tenant.id,
                      reachable_tenant_ids=frozenset({tenant.id}))):
        sites = db.session.scalars(
            select(Site).where(Site.deleted_at.is_(None)).order_by(Site.domain)).all()
        refs = [site_ref(site) for site in sites]
    try:
        return call_backend(backend, lambda: backend.provision_tenant(ref, refs))
    except BackendError as error:
        raise unavailable(backend, error) from error


def provision_all_dashboards() -> dict[str, dict]:
    """Every tenant's dashboards, by tenant id."""
    with unscoped():
        tenant_ids = db.session.scalars(select(Tenant.id).order_by(Tenant.created_at)).all()
    return {str(t): provision_tenant_dashboards(t) for t in tenant_ids}
