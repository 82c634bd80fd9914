"""The console's actor: the logged-in user in the tenant chosen in the session."""

from __future__ import annotations

from flask import g, request, session
from flask_login import current_user

from chom.models.scoping import enter_scope
from chom.services.tenancy import RequestInfo, resolve_actor


def console_actor():
    """The logged-in user as an actor in the tenant chosen in the session."""
    if "chom_actor" not in g:
        actor = resolve_actor(
            current_user,
            tenant_ref=request.args.get("tenant") or session.get("tenant_id"),
            request=RequestInfo(ip=request.remote_addr,
                                user_agent=request.headers.get("User-Agent"),
                                correlation_id=g.get("correlation_id")),
        )
        enter_scope(actor.scope)
        g.chom_actor = actor
    return g.chom_actor
