"""Who is acting, in which tenant: resolved once per request or job, then enforced by scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from chom.extensions import db
from chom.models import ApiToken, Membership, Tenant, User
from chom.models.scoping import Scope, unscoped
from chom.services import policy
from chom.services.errors import NotFound, PermissionDenied


@dataclass(frozen=True)
class RequestInfo:
    """What the edge knows about a request, for audit entries and job metadata."""

    ip: str | None = None
    user_agent: str | None = None
    correlation_id: str | None = None


@dataclass(frozen=True)
class Actor:
    """A user acting in one organization and one tenant, with a role and (for tokens) abilities."""

    user: User
    membership: Membership
    tenant: Tenant | None
    reachable_tenants: tuple[Tenant, ...]
    abilities: list[str] | None = None
    token: ApiToken | None = None
    request: RequestInfo = field(default_factory=RequestInfo)

    @property
    def role(self) -> str:
        return self.membership.role

    @property
    def organization_id(self) -> uuid.UUID:
        return self.membership.organization_id

    @property
    def scope(self) -> Scope:
        return Scope(
            organization_id=self.organization_id,
            tenant_id=self.tenant.id if self.tenant else None,
            reachable_tenant_ids=frozenset(t.id for t in self.reachable_tenants),
            user_id=self.user.id,
        )

    def may(self, permission: str) -> bool:
        return policy.allows(self.role, self.abilities, permission)

    def require(self, permission: str) -> None:
        """Raise `PermissionDenied` unless the actor's role (and token) allows `permission`."""
        if not self.may(permission):
            raise PermissionDenied(f"Your role ({self.role}) may not do this ({permission}).")

    def require_tenant(self) -> Tenant:
        if self.tenant is None:
            raise NotFound("No tenant is reachable for this account.")
        return self.tenant


def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def resolve_actor(
    user: User,
    *,
    organization_id: uuid.UUID | None = None,
    tenant_ref: str | None = None,
    abilities: list[str] | None = None,
    token: ApiToken | None = None,
    request: RequestInfo | None = None,
) -> Actor:
    """Build the actor for `user`: their membership, reachable tenants and chosen tenant.

    `tenant_ref` (from `X-Tenant-ID` or `?tenant=`) must name a tenant the membership reaches,
    else `NotFound` — exactly as for another organization's tenant. Without it, the first
    reachable tenant is used.
    """
    with unscoped():
        query = select(Membership).where(Membership.user_id == user.id)
        if organization_id is not None:
            query = query.where(Membership.organization_id == organization_id)
        membership = db.session.scalars(query.order_by(Membership.created_at)).first()
        if membership is None:
            raise NotFound("This account belongs to no organization.")
        if membership.all_tenants or membership.role == "owner":
            reachable = tuple(
                db.session.scalars(
                    select(Tenant)
                    .where(Tenant.organization_id == membership.organization_id)
                    .order_by(Tenant.created_at)
                )
            )
        else:
            reachable = tuple(sorted(membership.tenants, key=lambda t: t.created_at))
    tenant = reachable[0] if reachable else None
    if tenant_ref:
        wanted = _parse_uuid(tenant_ref)
        tenant = next((t for t in reachable if t.id == wanted), None)
        if tenant is None:
            raise NotFound("Tenant not found.")
    return Actor(
        user=user,
        membership=membership,
        tenant=tenant,
        reachable_tenants=reachable,
        abilities=abilities,
        token=token,
        request=request or RequestInfo(),
    )
