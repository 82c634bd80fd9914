"""The console's actor: the logged-in user in the tenant chosen in the session."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, g, redirect, request, session
from flask_login import current_user

from chom.models.scoping import enter_scope
from chom.services.errors import ChomError, NotFound, PermissionDenied, ValidationFailed
from chom.services.lookup import MAX_PAGE
from chom.services.tenancy import RequestInfo, resolve_actor


def console_actor():
    """The logged-in user as an actor in the tenant chosen by `?tenant=` or, else, by the
    header's tenant switcher (kept in the session)."""
    if "chom_actor" not in g:
        info = RequestInfo(ip=request.remote_addr,
                           user_agent=request.headers.get("User-Agent"),
                           correlation_id=g.get("correlation_id"))
        asked, remembered = request.args.get("tenant"), session.get("tenant_id")
        try:
            actor = resolve_actor(current_user, tenant_ref=asked or remembered, request=info)
        except NotFound:
            if asked or not remembered:
                raise
            # The remembered tenant was deleted or taken out of reach since: forget it.
            session.pop("tenant_id")
            actor = resolve_actor(current_user, request=info)
        enter_scope(actor.scope)
        g.chom_actor = actor
    return g.chom_actor


def act_then_redirect(action: Callable, success: str, back_to: str):
    """Run one console action as the current actor, then go to `back_to`: a refused role is
    403, another tenant's resource 404, any other refusal a flash message; else `success`."""
    try:
        action(console_actor())
    except PermissionDenied:
        abort(403)
    except NotFound:
        abort(404)
    except ValidationFailed as error:
        flash(" ".join(m for messages in error.errors.values() for m in messages), "error")
    except ChomError as error:
        flash(error.detail or "That did not work.", "error")
    else:
        flash(success, "success")
    return redirect(back_to)


def page_number() -> int:
    """The `?page=` of a console list: 1 when absent or not a number, at most `MAX_PAGE`."""
    try:
        return min(max(1, int(request.args.get("page", "1"))), MAX_PAGE)
    except ValueError:
        return 1
