"""Console page of the platform's health (operators, admins and owners): the core checks and
each observability backend with its status and circuit breaker."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required

from chom.services import platform_health
from chom.services.errors import ChomError, PermissionDenied
from chom.web.context import console_actor

BREAKER_LABELS = {"closed": "closed (calls pass)", "half-open": "half-open (trying again)",
                  "open": "open (calls refused)", "unknown": "unknown"}


def _actor_or_none():
    try:
        return console_actor()
    except ChomError:  # an operator without an organization
        return None


@login_required
def health_page():
    try:
        report = platform_health.platform_health(current_user, _actor_or_none())
    except PermissionDenied:
        abort(403)
    return render_template("health.html", report=report, breakers=BREAKER_LABELS)


def may_see_health() -> bool:
    """For the header's link."""
    return current_user.is_authenticated and platform_health.may_see_health(
        current_user, _actor_or_none())


def register(bp) -> None:
    bp.add_url_rule("/platform/health", view_func=health_page)
    bp.app_context_processor(lambda: {"may_see_health": may_see_health})
