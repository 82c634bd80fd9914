"""Who is acting, in which tenant: resolved once per request or job, then enforced by scope.

Resolving an actor is one query returning plain values (membership id, role, organization and
the ids of the tenants the membership reaches); the ORM objects (`actor.user`,
`actor.membership`, `actor.tenant`, `actor.reachable_tenants`, `actor.token`) are loaded on
first use only, so a request that needs only the scope and the role loads none of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.sql import FromClause

from chom.extensions import db
from chom.models import ApiToken, Membership, Organization, Tenant, User
from chom.models.scoping import Scope, unscoped
from chom.models.users import membership_tenants
from chom.services import policy
from chom.services.errors import NotFound, PermissionDenied

_memberships = Membership.__table__
_tenants = Tenant.__table__
_organizations = Organization.__table__


@dataclass(frozen=True)
class RequestInfo:
    """What the edge knows about a request, for audit entries and job metadata."""

    ip: str | None = None
    user_agent: str | None = None
    correlation_id: str | None = None


class _loaded:
    """An attribute loaded on first use and then kept on the instance (no lock: the loads are
    idempotent, and an actor belongs to one request or job)."""

    def __init__(self, load):
        self.load = load
        self.name = load.__name__
        self.__doc__ = load.__doc__

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = self.load(instance)
        instance.__dict__[self.name] = value  # frozen dataclass: bypass __setattr__
        return value


def _row_by_id(model, key):
    if key is None:
        return None
    with unscoped():  # an authentication look-up: the id was authorised when the actor was made
        return db.session.scalar(select(model).where(model.id == key))


@dataclass(frozen=True, eq=False)
class Actor:
    """A user acting in one organization and one tenant, with a role and (for tokens) abilities.

    The ids and the role are plain values; `user`, `membership`, `tenant`, `reachable_tenants`
    and `token` are the ORM rows, loaded on first use.
    """

    user_id: uuid.UUID
    membership_id: uuid.UUID
    organization_id: uuid.UUID
    role: str
    tenant_id: uuid.UUID | None
    reachable_tenant_ids: tuple[uuid.UUID, ...]
    abilities: list[str] | None = None
    token_id: uuid.UUID | None = None
    request: RequestInfo = field(default_factory=RequestInfo)
    # The organization requires 2FA and this user has not turned it on.
    two_factor_missing: bool = False

    @_loaded
    def user(self) -> User:
        return _row_by_id(User, self.user_id)

    @_loaded
    def membership(self) -> Membership:
        return _row_by_id(Membership, self.membership_id)

    @_loaded
    def reachable_tenants(self) -> tuple[Tenant, ...]:
        if not self.reachable_tenant_ids:
            return ()
        with unscoped():
            rows = db.session.scalars(
                select(Tenant).where(Tenant.id.in_(self.reachable_tenant_ids))
            ).all()
        by_id = {t.id: t for t in rows}
        return tuple(by_id[i] for i in self.reachable_tenant_ids if i in by_id)

    @_loaded
    def tenant(self) -> Tenant | None:
        if self.tenant_id is None:
            return None
        if "reachable_tenants" in self.__dict__:
            return next((t for t in self.reachable_tenants if t.id == self.tenant_id), None)
        return _row_by_id(Tenant, self.tenant_id)

    @_loaded
    def token(self) -> ApiToken | None:
        return _row_by_id(ApiToken, self.token_id)

    @_loaded
    def scope(self) -> Scope:
        return Scope(
            organization_id=self.organization_id,
            tenant_id=self.tenant_id,
            reachable_tenant_ids=frozenset(self.reachable_tenant_ids),
            user_id=self.user_id,
        )

    def may(self, permission: str) -> bool:
        return policy.allows(self.role, self.abilities, permission)

    def require(self, permission: str) -> None:
        """Raise `PermissionDenied` unless the actor's role (and token) allows `permission`."""
        if not self.may(permission):
            raise PermissionDenied(f"Your role ({self.role}) may not do this ({permission}).")

    def require_tenant(self) -> Tenant:
        if self.tenant_id is None:
            raise NotFound("No tenant is reachable for this account.")
        return self.tenant


# --- Which tenants a membership reaches: ONE definition, for tokens and console sessions alike --


def join_reach(base: FromClause, membership_on) -> FromClause:
    """`base` outer-joined to the membership matched by `membership_on` and to every tenant it
    reaches: all of the organization's tenants for an owner or an all-tenants membership, else
    the organization's tenants listed for it, with the membership's organization. One row per
    reachable tenant (tenant columns NULL when none is reachable; membership columns NULL when
    there is no membership). `base` must hold the users table (for `REACH_COLUMNS`)."""
    m, t, mt, o = _memberships, _tenants, membership_tenants, _organizations
    listed = exists().where(mt.c.membership_id == m.c.id, mt.c.tenant_id == t.c.id)
    reaches = and_(
        t.c.organization_id == m.c.organization_id,
        or_(m.c.all_tenants, m.c.role == "owner", listed),
    )
    return (base.outerjoin(m, membership_on).outerjoin(o, o.c.id == m.c.organization_id)
            .outerjoin(t, reaches))


# Selected with `join_reach`, in this order; `actor_from_reach` reads them by these labels.
REACH_COLUMNS = (
    _memberships.c.id.label("membership_id"),
    _memberships.c.organization_id.label("membership_organization_id"),
    _memberships.c.role.label("membership_role"),
    _tenants.c.id.label("reached_tenant_id"),
    _organizations.c.require_two_factor.label("organization_requires_two_factor"),
    User.__table__.c.totp_enabled_at.label("user_totp_enabled_at"),
)
REACH_ORDER = (_tenants.c.created_at, _tenants.c.id)


def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def actor_from_reach(
    user_id: uuid.UUID,
    rows: Sequence,
    *,
    tenant_ref: str | None = None,
    abilities: list[str] | None = None,
    token_id: uuid.UUID | None = None,
    request: RequestInfo | None = None,
) -> Actor:
    """The actor from rows of `REACH_COLUMNS` (ordered by `REACH_ORDER`).

    `tenant_ref` (from `X-Tenant-ID` or `?tenant=`) must name a tenant the membership reaches,
    else `NotFound` — exactly as for another organization's tenant. Without it, the first
    reachable tenant is used. No membership: `NotFound`.
    """
    if not rows or rows[0].membership_id is None:
        raise NotFound("This account belongs to no organization.")
    first = rows[0]
    reachable = tuple(r.reached_tenant_id for r in rows if r.reached_tenant_id is not None)
    tenant_id = reachable[0] if reachable else None
    if tenant_ref:
        wanted = _parse_uuid(tenant_ref)
        if wanted is None or wanted not in reachable:
            raise NotFound("Tenant not found.")
        tenant_id = wanted
    return Actor(
        user_id=user_id,
        membership_id=first.membership_id,
        organization_id=first.membership_organization_id,
        role=first.membership_role,
        tenant_id=tenant_id,
        reachable_tenant_ids=reachable,
        abilities=abilities,
        token_id=token_id,
        request=request or RequestInfo(),
        two_factor_missing=bool(first.organization_requires_two_factor)
        and first.user_totp_enabled_at is None,
    )


def _reach_of_user(user_id: uuid.UUID, organization_id: uuid.UUID | None) -> list:
    m = _memberships
    if organization_id is not None:
        which = and_(m.c.user_id == user_id, m.c.organization_id == organization_id)
    else:  # the user's first membership
        which = m.c.id == (
            select(m.c.id).where(m.c.user_id == user_id).order_by(m.c.created_at)
            .limit(1).scalar_subquery()
        )
    users = User.__table__
    query = (
        select(*REACH_COLUMNS)
        .select_from(join_reach(users, which))
        .where(users.c.id == user_id)
        .order_by(*REACH_ORDER)
    )
    with unscoped():
        return db.session.execute(query).all()


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
    actor = actor_from_reach(
        user.id,
        _reach_of_user(user.id, organization_id),
        tenant_ref=tenant_ref,
        abilities=abilities,
        token_id=token.id if token is not None else None,
        request=request,
    )
    actor.__dict__["user"] = user  # already loaded
    if token is not None:
        actor.__dict__["token"] = token
    return actor
