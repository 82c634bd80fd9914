"""Who is calling: bearer token → user → actor (membership, tenant), then the scope."""

from __future__ import annotations

from flask import g, request

from chom.models.scoping import enter_scope
from chom.services import accounts, organizations
from chom.services.errors import NotAuthenticated
from chom.services.tenancy import Actor, RequestInfo, actor_from_reach

# What a member without 2FA may still do when the organization requires it: set it up, see
# who they are, and log out (revoke the token).
TWO_FACTOR_SETUP_ENDPOINTS = frozenset({
    "auth.me", "auth.two_factor_setup", "auth.two_factor_enable", "account.revoke_token",
})


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def token_grant() -> accounts.TokenGrant | None:
    """What the request's bearer token grants, looked up once per request (never across
    requests: a revoked token, a deactivated user or a removed member stops at once)."""
    if "chom_token_grant" not in g:
        plain = _bearer()
        g.chom_token_grant = accounts.grant_for_token(plain) if plain else None
    return g.chom_token_grant


def request_info() -> RequestInfo:
    return RequestInfo(
        ip=request.remote_addr,
        user_agent=request.headers.get("User-Agent"),
        correlation_id=g.get("correlation_id"),
    )


def current_actor() -> Actor:
    """The authenticated actor, with its scope installed; `NotAuthenticated` otherwise."""
    if "chom_actor" in g:
        return g.chom_actor
    grant = token_grant()
    if grant is None:
        raise NotAuthenticated("Send a valid API token: `Authorization: Bearer <token>`.")
    actor = actor_from_reach(
        grant.user_id,
        grant.reach,
        tenant_ref=request.headers.get("X-Tenant-ID") or request.args.get("tenant"),
        abilities=grant.abilities,
        token_id=grant.token_id,
        request=request_info(),
    )
    if request.endpoint not in TWO_FACTOR_SETUP_ENDPOINTS:
        organizations.enforce_two_factor(actor)
    enter_scope(actor.scope)
    g.chom_actor = actor
    return actor


def without_api_token(blp, *, security: list | None = None, proof=None):
    """Mark a view that answers without an API token: anyone may call it (health, register),
    or it proves its caller its own way (a signature, a secret in its URL or header). Its
    OpenAPI operation says so with `security` (none by default). `proof`, when given, checks
    the caller before the input is read, as the token is for every other API view
    (`authenticate_first`)."""

    def mark(view):
        documented = blp.doc(security=security or [])(view)
        documented.chom_without_api_token = True
        documented.chom_caller_proof = proof
        return documented

    return mark


def authenticate_first(view) -> None:
    """Authenticate the request for `view` before any input is read: its bearer token (401, or
    404 for a tenant out of reach), or its own `proof` when it is marked `without_api_token`.
    One check for every endpoint."""
    if not getattr(view, "chom_without_api_token", False):
        current_actor()
    elif view.chom_caller_proof is not None:
        view.chom_caller_proof()


def rate_limit_key() -> str:
    """Per user when a valid token is sent, else per client address."""
    grant = token_grant()
    if grant is not None:
        return f"user:{grant.user_id}"
    return f"ip:{request.remote_addr}"
