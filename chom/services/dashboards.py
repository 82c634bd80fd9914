"""Grafana dashboards per tenant: a folder only the tenant's team sees, holding a dashboard of
the tenant's live sites. Run by `flask chom dashboards`, and by a job each time one of the
tenant's sites is provisioned or deleted (this module implements those lifecycle hooks, like
any plugin, when a dashboards backend is configured)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from chom.extensions import db
from chom.integration.queue import current_queue
from chom.models import Site, Tenant
from chom.models.scoping import Scope, scoped, unscoped
from chom.plugin_api import BackendError, TenantRef, hookimpl
from chom.services.observability import (
    backend_of,
    backends,
    call_backend,
    site_ref,
    unavailable,
)

# A dashboards refresh that failed (Grafana down) is tried again after these many seconds.
RETRY_INTERVALS = [30, 120, 600]


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


def refresh_for_site(site_id) -> None:
    """Provision the dashboards of the tenant owning `site_id` (the job after a site changed)."""
    with unscoped():
        tenant_id = db.session.scalar(select(Site.tenant_id).where(Site.id == uuid.UUID(
            str(site_id))))
    if tenant_id is not None:
        provision_tenant_dashboards(tenant_id)


def _enqueue_refresh(site) -> None:
    if any(backend.kind == "dashboards" for backend in backends().values()):
        current_queue().enqueue("chom.jobs.observability.refresh_dashboards", str(site.id),
                                retries=len(RETRY_INTERVALS), retry_intervals=RETRY_INTERVALS)


@hookimpl
def chom_site_provisioned(site):
    _enqueue_refresh(site)


@hookimpl
def chom_site_deleted(site):
    _enqueue_refresh(site)
