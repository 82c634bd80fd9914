"""The header's tenant switcher: which of the organization's tenants the console acts in.

The choice is kept in the session (`tenant_id`), read by `chom.web.context.console_actor`; a
tenant the membership does not reach is a 404, as on the API.
"""

from __future__ import annotations

from flask import abort, redirect, request, session, url_for
from flask_login import current_user, login_required

from chom.services.errors import ChomError, NotFound
from chom.web.context import console_actor


def switcher() -> dict | None:
    """The current tenant and the tenants to choose from, when there is a choice to show."""
    if not current_user.is_authenticated:
        return None
    try:
        actor = console_actor()
    except ChomError:  # an operator with no organization, say
        return None
    if actor.tenant_id is None:
        return None
    return {"current": actor.tenant_id, "tenants": actor.reachable_tenants}


@login_required
def switch_tenant():
    tenant_ref = request.form.get("tenant_id", "")
    try:
        reachable = console_actor().reachable_tenants
    except NotFound:
        abort(404)
    wanted = next((t for t in reachable if str(t.id) == tenant_ref), None)
    if wanted is None:
        abort(404)
    session["tenant_id"] = str(wanted.id)
    return redirect(url_for("web.dashboard"))


def console_may(permission: str) -> bool:
    """Whether the console's actor may do `permission` (for showing links and buttons)."""
    try:
        return console_actor().may(permission)
    except ChomError:
        return False


def register(bp) -> None:
    bp.add_url_rule("/tenant", view_func=switch_tenant, methods=["POST"])
    bp.app_context_processor(lambda: {"tenant_switcher": switcher, "console_may": console_may})
