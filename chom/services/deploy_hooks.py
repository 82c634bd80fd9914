"""Push-to-deploy: a secret URL per site that starts its deploy, for a git host's webhook.

The secret is shown once and stored as its SHA-256 (like API tokens); making a new one ends
the old. Whoever holds the URL may start a deploy of that site and nothing else: it is the
credential, as a presigned URL is. The call is audited under the site's organization, with no
user, from the caller's address.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from chom.extensions import db
from chom.models import Operation, Site, Tenant
from chom.models.scoping import unscoped
from chom.services import audit, site_operations
from chom.services.errors import NotFound
from chom.services.tenancy import Actor, RequestInfo

TOKEN_PREFIX = "chomdh_"


@dataclass(frozen=True)
class HookCaller:
    """Who a deploy hook's call is audited as: the site's organization and tenant, no user."""

    organization_id: uuid.UUID
    tenant_id: uuid.UUID
    request: RequestInfo
    user_id: None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_deploy_hook(actor: Actor, site_id) -> str:
    """A new push-to-deploy secret for a site that has something to deploy (`Conflict`
    otherwise); a previous one stops working. Returned once, never stored as given."""
    site = site_operations.live_site(actor, site_id, "sites:write")
    site_operations.require_deployable(site)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    site.deploy_hook_hash = _digest(token)
    audit.record(actor, "site.deploy_hook_created", site, domain=site.domain)
    db.session.commit()
    return token


def delete_deploy_hook(actor: Actor, site_id) -> None:
    """End the site's push-to-deploy URL; `NotFound` when it has none."""
    site = site_operations.live_site(actor, site_id, "sites:write")
    if site.deploy_hook_hash is None:
        raise NotFound("This site has no deploy hook.")
    site.deploy_hook_hash = None
    audit.record(actor, "site.deploy_hook_deleted", site, domain=site.domain)
    db.session.commit()


@dataclass(frozen=True)
class Skipped:
    """A push the site does not deploy from: another branch or tag than its `git_ref`."""

    pushed: str
    deploys: str


def _pushed_name(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return ref


def deploy_from_hook(token: str, request: RequestInfo,
                     pushed_ref: str | None = None) -> Operation | Skipped:
    """Start the deploy of the site whose hook `token` is (`NotFound` for any other value;
    `Conflict` when the site is not active). `pushed_ref` is the `ref` a git host's push
    event names (`refs/heads/main`): a push to another branch or tag than the site's
    `git_ref` deploys nothing (`Skipped`). Without a `git_ref` (the default branch, whose name
    CHOM does not know) or a `pushed_ref`, every call deploys."""
    with unscoped():  # the token, not a scope, says which site
        site = db.session.scalar(select(Site).where(
            Site.deploy_hook_hash == _digest(token), Site.deleted_at.is_(None))) \
            if token.startswith(TOKEN_PREFIX) else None
        if site is None:
            raise NotFound("Deploy hook not found.")
        wanted = (site.options or {}).get("git_ref")
        if wanted and pushed_ref and _pushed_name(pushed_ref) != wanted:
            return Skipped(pushed_ref, wanted)
        organization_id = db.session.scalar(
            select(Tenant.organization_id).where(Tenant.id == site.tenant_id))
        caller = HookCaller(organization_id, site.tenant_id, request)
        return site_operations.start_deploy(caller, site)
