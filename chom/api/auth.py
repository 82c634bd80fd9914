"""Who is calling: bearer token → user → actor (membership, tenant), then the scope."""

from __future__ import annotations

from flask import g, request

from chom.models.scoping import enter_scope
from chom.services import accounts
from chom.services.errors import NotAuthenticated
from chom.services.tenancy import Actor, RequestInfo, resolve_actor


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def token_user():
    """The (user, token) of the request's bearer token, looked up once per request."""
    if "chom_token_user" not in g:
        plain = _bearer()
        g.chom_token_user = accounts.user_for_token(plain) if plain else None
    return g.chom_token_user


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
    found = token_user()
    if found is None:
        raise NotAuthenticated("Send a valid API token: `Authorization: Bearer <token>`.")
    user, token = found
    actor = resolve_actor(
        user,
        organization_id=token.organization_id,
        tenant_ref=request.headers.get("X-Tenant-ID") or request.args.get("tenant"),
        abilities=list(token.abilities or []),
        token=token,
        request=request_info(),
    )
    enter_scope(actor.scope)
    g.chom_actor = actor
    return actor


def rate_limit_key() -> str:
    """Per user when a valid token is sent, else per client address."""
    found = token_user()
    if found is not None:
        return f"user:{found[0].id}"
    return f"ip:{request.remote_addr}"
