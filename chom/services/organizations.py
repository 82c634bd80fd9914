"""The organization's own settings: its name and whether every member must use 2FA."""

from __future__ import annotations

from chom.extensions import db
from chom.models import Organization
from chom.services import audit
from chom.services.errors import Conflict, TwoFactorSetupRequired
from chom.services.lookup import get_or_not_found
from chom.services.tenancy import Actor


def get_organization(actor: Actor) -> Organization:
    """The actor's organization (any member may read it)."""
    return get_or_not_found(Organization, actor.organization_id, "Organization")


def update_organization(actor: Actor, *, name: str | None = None,
                        require_two_factor: bool | None = None) -> Organization:
    """Rename the organization or require 2FA of every member (owner only).

    Requiring 2FA needs the acting owner to have it on (`Conflict`), so the owner is not the
    first one locked out.
    """
    actor.require("organization:manage")
    organization = get_organization(actor)
    changes: dict = {}
    if name is not None and name.strip() != organization.name:
        changes["name"] = [organization.name, name.strip()]
        organization.name = name.strip()
    if require_two_factor is not None and require_two_factor != organization.require_two_factor:
        if require_two_factor and actor.user.totp_enabled_at is None:
            raise Conflict("Turn on two-factor authentication for yourself first.")
        changes["require_two_factor"] = [organization.require_two_factor, require_two_factor]
        organization.require_two_factor = require_two_factor
    if changes:
        audit.record(actor, "organization.updated", organization, **changes)
    db.session.commit()
    return organization


def enforce_two_factor(actor: Actor) -> None:
    """`TwoFactorSetupRequired` when the organization requires 2FA and the actor has none.

    The edge calls it on every request except 2FA set-up, who-am-I and log-out."""
    if actor.two_factor_missing:
        raise TwoFactorSetupRequired()
