"""Invitations: an admin invites an email with a role and a tenant scope; the link in the email
carries a random token of which only the SHA-256 is stored.

Why a stored hashed token rather than a signed (itsdangerous) one: an invitation must be
single-use, revocable and replaced on resend, which all need state on our side anyway; with
the hash in the row, accepting, revoking and resending are one conditional UPDATE each, a
database dump reveals no usable link, and no key rotation can revive an old link.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from chom.extensions import db
from chom.models import Invitation, Membership, Organization, Tenant, User
from chom.models.base import utcnow
from chom.models.scoping import scoped, unscoped
from chom.services import accounts, audit, mail, notifications, tenancy
from chom.services.errors import Conflict, NotFound, ValidationFailed
from chom.services.lookup import get_or_not_found
from chom.services.team_scope import require_within_reach, scope_tenants, within_reach
from chom.services.tenancy import Actor

INVITABLE_ROLES = ("admin", "member", "viewer")
INVALID = "This invitation link is not valid: it expired, was used, revoked or replaced."


def _digest(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def _new_token(invitation: Invitation) -> str:
    plain = secrets.token_urlsafe(32)
    invitation.token_hash = _digest(plain)
    invitation.expires_at = utcnow() + timedelta(
        hours=current_app.config["CHOM_INVITATION_TTL_HOURS"])
    return plain


def _send(invitation: Invitation, plain: str, organization_name: str) -> None:
    hours = current_app.config["CHOM_INVITATION_TTL_HOURS"]
    mail.send(
        to=invitation.email,
        subject=f"You are invited to {organization_name} on CHOM",
        text=(
            f"You are invited to join {organization_name} on CHOM as {invitation.role}.\n\n"
            f"Accept the invitation here (valid for {hours} hours, once):\n"
            f"{mail.link('/invitations/accept', token=plain)}\n\n"
            f"API clients: POST /api/v1/invitations/accept with {{\"token\": \"{plain}\"}}.\n\n"
            "If you did not expect this, ignore this email.\n"
        ),
    )


def create_invitation(actor: Actor, *, email: str, role: str, all_tenants: bool = True,
                      tenant_ids: list | None = None) -> Invitation:
    """Invite `email` with `role` over all tenants or `tenant_ids`, and email the link.

    `Conflict` when the email is already a member or has a pending invitation.
    """
    actor.require("team:manage")
    email = email.strip().lower()
    if role not in INVITABLE_ROLES:
        raise ValidationFailed({"role": [f"Invite as one of {', '.join(INVITABLE_ROLES)}; "
                                         "owners are made by an owner from members."]})
    tenants = scope_tenants(actor, all_tenants, tenant_ids)
    member = db.session.scalar(select(Membership.id).join(User).where(User.email == email))
    if member is not None:
        raise Conflict(f"{email} is already a member.")
    if db.session.scalar(select(Invitation.id).where(*_pending(), Invitation.email == email)):
        raise Conflict(f"{email} already has a pending invitation; resend it instead.")
    invitation = Invitation(organization_id=actor.organization_id, email=email, role=role,
                            invited_by_id=actor.user_id, all_tenants=all_tenants,
                            tenant_ids=[str(t.id) for t in tenants])
    plain = _new_token(invitation)
    db.session.add(invitation)
    try:
        db.session.flush()
    except IntegrityError:  # another invitation to this address was made at the same time
        db.session.rollback()
        raise Conflict(f"{email} already has a pending invitation; resend it instead.") from None
    audit.record(actor, "invitation.created", invitation, email=email, role=role,
                 all_tenants=all_tenants, tenant_ids=invitation.tenant_ids)
    db.session.commit()
    _send(invitation, plain, actor.membership.organization.name)
    notifications.notify(actor.organization_id, "invitation.sent", {
        "email": email, "role": role, "invited_by": actor.user.email})
    return invitation


def _pending():
    return (Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))


def list_pending(actor: Actor) -> list[Invitation]:
    """Invitations neither accepted nor revoked (expired ones included, to resend), newest
    first; for an admin limited to some tenants, those within them."""
    actor.require("team:manage")
    pending = db.session.scalars(
        select(Invitation).where(*_pending()).order_by(Invitation.created_at.desc()))
    return [i for i in pending if within_reach(actor, role=i.role, all_tenants=i.all_tenants,
                                               tenant_ids=i.tenant_ids or [])]


def _pending_or_not_found(invitation_id) -> Invitation:
    invitation = get_or_not_found(Invitation, invitation_id, "Invitation")
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise NotFound("Invitation not found.")
    return invitation


def _manageable(actor: Actor, invitation_id) -> Invitation:
    invitation = _pending_or_not_found(invitation_id)
    actor.require("team:manage")
    require_within_reach(actor, role=invitation.role, all_tenants=invitation.all_tenants,
                         tenant_ids=invitation.tenant_ids or [])
    return invitation


def resend_invitation(actor: Actor, invitation_id) -> Invitation:
    """A new token and expiry, emailed again; the previous link stops working."""
    invitation = _manageable(actor, invitation_id)
    plain = _new_token(invitation)
    audit.record(actor, "invitation.resent", invitation, email=invitation.email)
    db.session.commit()
    _send(invitation, plain, actor.membership.organization.name)
    return invitation


def revoke_invitation(actor: Actor, invitation_id) -> None:
    """Revoke a pending invitation; its link stops working."""
    invitation = _manageable(actor, invitation_id)
    invitation.revoked_at = utcnow()
    audit.record(actor, "invitation.revoked", invitation, email=invitation.email)
    db.session.commit()


@dataclass(frozen=True)
class Preview:
    email: str
    role: str
    organization_name: str
    has_account: bool


def preview_invitation(token: str) -> Preview:
    """What a pending invitation offers, for the page that accepts it; `NotFound` otherwise."""
    with unscoped():
        invitation = db.session.scalar(select(Invitation).where(
            Invitation.token_hash == _digest(token or ""), *_pending()))
        if invitation is None or invitation.expires_at <= utcnow():
            raise NotFound(INVALID)
        name = db.session.scalar(select(Organization.name).where(
            Organization.id == invitation.organization_id))
        has_account = db.session.scalar(
            select(User.id).where(User.email == invitation.email)) is not None
    return Preview(invitation.email, invitation.role, name, has_account)


@dataclass(frozen=True)
class Acceptance:
    user: User
    membership: Membership
    organization: Organization
    token: str | None  # an API token for a user created by accepting; None when linked


def accept_invitation(token: str, *, user: User | None = None, name: str = "",
                      password: str = "", request: tenancy.RequestInfo | None = None,
                      issue_token: bool = False) -> Acceptance:
    """Accept an invitation: link the logged-in `user`, or create one with `name` and
    `password` for the invited email. The token works once, before it expires.

    `NotFound` for an unknown, used, revoked, replaced or expired token; `Conflict` when the
    user is already a member, or when no one is logged in and the email has an account.
    """
    with unscoped():  # the token is the authority here, as a password is at log-in
        invitation = db.session.scalar(select(Invitation).where(
            Invitation.token_hash == _digest(token or ""), *_pending()))
        if invitation is None or invitation.expires_at <= utcnow():
            raise NotFound(INVALID)
        if user is None:
            if db.session.scalar(select(User.id).where(User.email == invitation.email)):
                raise Conflict("An account with this email exists: log in, then accept.")
            if not name.strip():
                raise ValidationFailed({"name": ["Required."]})
            accounts.check_password_strength(password, email=invitation.email)
            user = User(email=invitation.email, name=name.strip(),
                        password_hash=accounts.hash_password(password))
            db.session.add(user)
            db.session.flush()
        elif db.session.scalar(select(Membership.id).where(
                Membership.user_id == user.id,
                Membership.organization_id == invitation.organization_id)):
            raise Conflict("You are already a member of this organization.")
        # Single use even when two requests race: only one UPDATE finds it pending.
        claimed = db.session.execute(
            update(Invitation).where(Invitation.id == invitation.id, *_pending())
            .values(accepted_at=utcnow()))
        if claimed.rowcount != 1:
            db.session.rollback()
            raise NotFound(INVALID)
        tenants = list(db.session.scalars(select(Tenant).where(
            Tenant.organization_id == invitation.organization_id,
            Tenant.id.in_([uuid.UUID(t) for t in invitation.tenant_ids or []]))))
        membership = Membership(user_id=user.id, organization_id=invitation.organization_id,
                                role=invitation.role, all_tenants=invitation.all_tenants,
                                tenants=tenants)
        db.session.add(membership)
        db.session.flush()
        plain = (accounts.login_token_for(user, invitation.organization_id)
                 if issue_token else None)
        actor = tenancy.resolve_actor(user, organization_id=invitation.organization_id,
                                      request=request)
        with scoped(actor.scope):
            audit.record(actor, "invitation.accepted", invitation, email=invitation.email,
                         user_email=user.email, role=invitation.role)
        db.session.commit()
        return Acceptance(user, membership, membership.organization, plain)
