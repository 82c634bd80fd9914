"""Operations on sites: starting them (one place), the actions a site's status allows, and
reading them back."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from chom import tracing
from chom.extensions import db
from chom.log_context import correlation_id as current_correlation_id
from chom.models import Operation, Site
from chom.services import audit, billing_plans, lifecycles
from chom.services.commits import commit_keeping
from chom.services.errors import Conflict, NotFound
from chom.services.lookup import get_or_not_found, newest_first_page
from chom.services.provisioning import enqueue_operation
from chom.services.tenancy import Actor

# Which operation each site action starts, and from which site statuses it may.
SITE_ACTIONS = {
    "delete": ("deprovision", None),  # from any status but deleted
    "suspend": ("suspend", {"active"}),
    "resume": ("resume", {"suspended"}),
    "ssl": ("issue_ssl", {"active"}),
}


# A deploy asked for while another runs is queued after it (that one may have fetched an older
# commit already); asked for while one waits, it is that one. Other kinds: either.
JOINS_IN_FLIGHT = {"deploy": ("queued",)}


def request_operation(actor: Actor, site_id, action: str) -> Operation:
    """Start `action` (delete, suspend, resume, ssl, deploy, retry) on a site; returns its
    Operation.

    Asking again while the same kind of operation is in flight returns that one (a deploy:
    only while it waits). `retry` re-runs the kind of the site's last failed operation. Raises
    `Conflict` when the site's status does not allow the action.
    """
    site = live_site(actor, site_id, "sites:delete" if action == "delete" else "sites:write")
    if action == "retry":
        if site.status != "failed":
            raise Conflict(f"Only a failed site can be retried; this one is {site.status}.")
        last = db.session.scalar(select(Operation).where(Operation.site_id == site.id)
                                 .order_by(Operation.created_at.desc()).limit(1))
        return _start_once(actor, site, "retry", last.kind if last else "provision")
    if action == "deploy":
        return start_deploy(actor, site)
    kind, allowed = SITE_ACTIONS[action]
    if allowed is not None and site.status not in allowed:
        raise Conflict(f"Cannot {action} a site that is {site.status}.")
    if action == "resume":  # billing suspends the sites of a tenant that has not paid
        billing_plans.require_good_standing(actor.tenant)
    return _start_once(actor, site, action, kind)


def live_site(actor: Actor, site_id, permission: str) -> Site:
    """The site (404 when out of scope or deleted, before any 403), if the actor's role
    allows `permission`."""
    site = get_or_not_found(Site, site_id, "Site")
    if site.deleted_at is not None:
        raise NotFound("Site not found.")
    actor.require(permission)
    return site


def require_deployable(site: Site) -> None:
    """`Conflict` unless the site has something to deploy."""
    if not can_deploy(site):
        raise Conflict(f"This {site.type} site has nothing to deploy (Laravel sites deploy "
                       "from their git repository).")


def start_deploy(actor, site: Site) -> Operation:
    """Start the deploy of an active site that has something to deploy (`Conflict`
    otherwise), for `actor` (a member, or a deploy hook's caller)."""
    if site.status != "active":
        raise Conflict(f"Cannot deploy a site that is {site.status}.")
    require_deployable(site)
    return _start_once(actor, site, "deploy", "deploy")


def _start_once(actor, site: Site, action: str, kind: str) -> Operation:
    in_flight = db.session.scalar(
        select(Operation).where(
            Operation.site_id == site.id,
            Operation.kind == kind,
            Operation.status.in_(JOINS_IN_FLIGHT.get(kind, ("queued", "running"))),
        )
    )
    if in_flight is not None:
        return in_flight
    if kind == "deprovision":
        site.status = "deleting"
    audit.record(actor, f"site.{action}", site, domain=site.domain)
    return start_operation(actor, site, kind)


def start_operation(actor: Actor | None, site: Site, kind: str, *, payload: bytes | None = None,
                    answered_with: tuple = ()) -> Operation:
    """Record an Operation for `site`, commit, and hand it to the queue (the one place
    operations begin). `payload` is what the operation carries to the VPS; `actor` is None
    for the platform's own work (repairs, scheduled jobs). A request that answers with the
    new operation and the rows in `answered_with` names them, so that they are not reloaded
    after the commit (`commit_keeping`)."""
    operation = new_operation(actor, site, kind)
    operation.payload = payload
    if answered_with:
        commit_keeping(operation, *answered_with)
    else:
        db.session.commit()
    enqueue_operation(operation)
    return operation


def can_deploy(site: Site) -> bool:
    """Whether the site has something to deploy (its type's deploy plan; an app from git)."""
    return lifecycles.can_deploy(site)


def delete_site(actor: Actor, site_id) -> Operation:
    """Mark the site `deleting` and enqueue its deprovisioning; returns the Operation."""
    return request_operation(actor, site_id, "delete")


def get_operation(actor: Actor, operation_id) -> Operation:
    actor.require("operations:read")
    return get_or_not_found(Operation, operation_id, "Operation")


def new_operation(actor: Actor | None, site: Site, kind: str) -> Operation:
    operation = Operation(
        id=uuid.uuid4(),
        tenant_id=site.tenant_id,
        site_id=site.id,
        kind=kind,
        status="queued",
        correlation_id=(actor.request.correlation_id if actor else None)
        or current_correlation_id.get() or uuid.uuid4().hex,
        trace_id=tracing.current_trace_id(),
    )
    operation.job_id = f"op-{operation.id}"
    db.session.add(operation)
    return operation


def list_operations(actor: Actor, site_id, *, page: int, per_page: int) -> tuple[list, int]:
    """A site's operations, newest first, and how many there are."""
    actor.require("operations:read")
    site = get_or_not_found(Site, site_id, "Site")
    return newest_first_page(select(Operation).where(Operation.site_id == site.id), Operation,
                             page=page, per_page=per_page)


def recent_operations(actor: Actor, *, limit: int = 10) -> list[Operation]:
    """The current tenant's latest operations on any of its sites, newest first."""
    actor.require("operations:read")
    query = (select(Operation).options(selectinload(Operation.site))  # one query for the sites
             .order_by(Operation.created_at.desc(), Operation.id).limit(limit))
    return list(db.session.scalars(query))


def latest_operation(actor: Actor, site: Site) -> Operation | None:
    """The site's most recent operation (what the console shows as progress)."""
    actor.require("operations:read")
    return db.session.scalar(select(Operation).where(Operation.site_id == site.id)
                             .order_by(Operation.created_at.desc()).limit(1))
