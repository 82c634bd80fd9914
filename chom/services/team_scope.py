"""What a member who reaches only some tenants may grant: never more than they reach.

An admin limited to tenant A may invite and manage members of A alone; granting "all tenants"
or touching someone who reaches beyond A needs a membership that reaches every tenant (an
owner, or an all-tenants membership). Without this a limited admin could widen their own
scope, or invite an accomplice to every tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select

from chom.extensions import db
from chom.models import Membership, Tenant
from chom.models.scoping import unscoped
from chom.models.users import membership_tenants
from chom.services.errors import NotFound, PermissionDenied, ValidationFailed
from chom.services.tenancy import Actor

BEYOND_REACH = "You reach only some tenants: you may grant and manage only those."


def reaches_all(actor: Actor) -> bool:
    """Whether the actor's membership reaches every tenant of the organization."""
    return actor.role == "owner" or actor.membership.all_tenants


def scope_tenants(actor: Actor, all_tenants: bool, tenant_ids: Iterable | None) -> list[Tenant]:
    """The tenants of a scope the actor may grant: an empty list for all tenants (only for an
    actor who reaches all), else the named tenants, each reachable by the actor (`NotFound`
    otherwise, as for any tenant out of reach). A limited scope names at least one tenant."""
    if all_tenants:
        if not reaches_all(actor):
            raise PermissionDenied(BEYOND_REACH)
        return []
    wanted = {uuid.UUID(str(t)) for t in tenant_ids or []}
    if not wanted:
        raise ValidationFailed({"tenant_ids": ["Name at least one tenant, or all tenants."]})
    found = list(db.session.scalars(select(Tenant).where(Tenant.id.in_(wanted))))
    if len(found) != len(wanted):
        raise NotFound("Tenant not found.")
    return found


def require_within_reach(actor: Actor, *, role: str, all_tenants: bool,
                         tenant_ids: Iterable) -> None:
    """`PermissionDenied` unless a member or invitation with this scope lies within the
    actor's reach."""
    if reaches_all(actor):
        return
    if role == "owner" or all_tenants:
        raise PermissionDenied(BEYOND_REACH)
    if not {uuid.UUID(str(t)) for t in tenant_ids} <= set(actor.reachable_tenant_ids):
        raise PermissionDenied(BEYOND_REACH)


def listed_tenant_ids(membership: Membership) -> list[uuid.UUID]:
    """Every tenant a limited membership lists, including those out of the actor's reach
    (which the scoped `membership.tenants` would hide)."""
    with unscoped():
        return list(db.session.scalars(select(membership_tenants.c.tenant_id).where(
            membership_tenants.c.membership_id == membership.id)))


def within_reach(actor: Actor, *, role: str, all_tenants: bool, tenant_ids: Iterable) -> bool:
    try:
        require_within_reach(actor, role=role, all_tenants=all_tenants, tenant_ids=tenant_ids)
    except PermissionDenied:
        return False
    return True


def require_member_within_reach(actor: Actor, membership: Membership) -> None:
    require_within_reach(actor, role=membership.role, all_tenants=membership.all_tenants,
                         tenant_ids=[] if membership.all_tenants
                         else listed_tenant_ids(membership))
