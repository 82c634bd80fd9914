"""Members of an organization: roles, tenant scopes, removal and ownership transfer.

Roles and scopes are read from the membership on every request (`tenancy.join_reach`), so a
change applies to the member's next request, console session and API token alike. Removal
also revokes the member's tokens for the organization and ends their console sessions.
An owner always reaches every tenant, and an organization always keeps one owner.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from chom.extensions import db
from chom.models import ApiToken, Membership, Organization, User
from chom.models.base import utcnow
from chom.models.scoping import unscoped
from chom.models.users import ROLES
from chom.services import audit
from chom.services.errors import Conflict, PermissionDenied, ValidationFailed
from chom.services.lookup import get_or_not_found
from chom.services.team_scope import (
    listed_tenant_ids,
    reaches_all,
    require_member_within_reach,
    scope_tenants,
    within_reach,
)
from chom.services.tenancy import Actor

LAST_OWNER = "The organization's last owner cannot be removed or demoted; make another owner first."


def list_members(actor: Actor) -> list[Membership]:
    """The organization's memberships with their users and tenants, oldest first; an admin
    limited to some tenants sees the members within those (and themselves)."""
    actor.require("team:manage")
    listed = list(db.session.scalars(
        select(Membership).options(selectinload(Membership.user), selectinload(Membership.tenants))
        .order_by(Membership.created_at)))
    if reaches_all(actor):
        return listed
    return [m for m in listed if m.id == actor.membership_id or within_reach(
        actor, role=m.role, all_tenants=m.all_tenants, tenant_ids=listed_tenant_ids(m))]


def _lock_organization(actor: Actor) -> None:
    """Serialise owner changes in one organization (an UPDATE locks the row on PostgreSQL and
    the database on SQLite), so two owners demoting each other cannot both pass the guard."""
    db.session.execute(update(Organization).where(Organization.id == actor.organization_id)
                       .values(updated_at=utcnow()))


def _other_owners(membership: Membership) -> int:
    return db.session.scalar(select(func.count(Membership.id)).where(
        Membership.role == "owner", Membership.id != membership.id)) or 0


def _target(actor: Actor, member_id) -> Membership:
    membership = get_or_not_found(Membership, member_id, "Member")
    actor.require("team:manage")
    if membership.role == "owner":
        actor.require("team:owners")
    require_member_within_reach(actor, membership)
    return membership


def update_member(actor: Actor, member_id, *, role: str | None = None,
                  all_tenants: bool | None = None, tenant_ids: list | None = None) -> Membership:
    """Change a member's role and/or tenant scope; applies from their next request.

    Only owners make or change owners; an owner's scope is always all tenants
    (`ValidationFailed` when asked otherwise); the last owner cannot be demoted (`Conflict`).
    """
    membership = _target(actor, member_id)
    _lock_organization(actor)
    changes: dict = {}
    if role is not None and role != membership.role:
        if role not in ROLES:
            raise ValidationFailed({"role": [f"One of {', '.join(ROLES)}."]})
        if role == "owner":
            actor.require("team:owners")
        if membership.role == "owner" and not _other_owners(membership):
            raise Conflict(LAST_OWNER)
        changes["role"] = [membership.role, role]
        membership.role = role
    if membership.role == "owner":
        if all_tenants is False:
            raise ValidationFailed({"all_tenants": ["An owner always reaches every tenant."]})
        all_tenants, tenant_ids = True, None
    if all_tenants is not None or tenant_ids is not None:
        wanted_all = membership.all_tenants if all_tenants is None else all_tenants
        tenants = scope_tenants(actor, wanted_all, tenant_ids if tenant_ids is not None
                                else listed_tenant_ids(membership))
        before = (membership.all_tenants, sorted(str(t) for t in listed_tenant_ids(membership)))
        membership.all_tenants, membership.tenants = wanted_all, tenants
        after = (wanted_all, sorted(str(t.id) for t in tenants))
        if before != after:
            changes["scope"] = [{"all_tenants": b[0], "tenant_ids": b[1]}
                                for b in (before, after)]
    if changes:
        audit.record(actor, "member.updated", membership, user_id=str(membership.user_id),
                     **changes)
    db.session.commit()
    return membership


def _end_access(user_id: uuid.UUID, organization_id: uuid.UUID) -> None:
    """Revoke the user's tokens for the organization and end all their console sessions."""
    with unscoped():  # another user's tokens: the removal itself was authorised
        db.session.execute(update(ApiToken).where(
            ApiToken.user_id == user_id, ApiToken.organization_id == organization_id,
            ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow()))
        db.session.execute(update(User).where(User.id == user_id)
                           .values(session_generation=User.session_generation + 1))


def remove_member(actor: Actor, member_id) -> None:
    """Remove a member: their tokens for this organization and their sessions stop at once.

    `Conflict` for the last owner.
    """
    membership = _target(actor, member_id)
    _lock_organization(actor)
    if membership.role == "owner" and not _other_owners(membership):
        raise Conflict(LAST_OWNER)
    audit.record(actor, "member.removed", membership, user_id=str(membership.user_id),
                 role=membership.role)
    user_id = membership.user_id
    db.session.delete(membership)
    _end_access(user_id, actor.organization_id)
    db.session.commit()


def transfer_ownership(actor: Actor, member_id) -> Membership:
    """Make the member an owner (all tenants) and the acting owner an admin."""
    target = get_or_not_found(Membership, member_id, "Member")  # out of scope: 404 before 403
    actor.require("team:owners")
    if target.id == actor.membership_id:
        raise Conflict("You already own this organization.")
    if target.role == "owner":
        raise Conflict("That member is already an owner.")
    _lock_organization(actor)
    own = get_or_not_found(Membership, actor.membership_id, "Member")
    if own.role != "owner":
        raise PermissionDenied("Only an owner can transfer ownership.")
    target.role, target.all_tenants, target.tenants = "owner", True, []
    own.role = "admin"
    audit.record(actor, "organization.ownership_transferred", target,
                 to_user_id=str(target.user_id), from_user_id=str(actor.user_id))
    db.session.commit()
    return target
