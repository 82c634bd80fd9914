"""Console overview pages: the dashboard (usage, sites, recent operations, active alerts) and
the sites list."""

from __future__ import annotations

from flask import current_app, flash, render_template, request
from flask_login import login_required

from chom.services import alerts, backups, site_operations, sites, tenants
from chom.services.errors import ChomError, NotFound, ObservabilityUnavailable
from chom.web.context import console_actor, page_number
from chom.web.site_alerts import AlertsPanel

SITE_STATUSES = ("pending", "provisioning", "active", "failed", "suspended", "deleting",
                 "deleted")
PER_PAGE = 25
MAX_ALERTS_SHOWN = 20


def _alerts_panel(actor) -> AlertsPanel | None:
    """The tenant's active alerts, each with its site; an empty panel (saying why) when no
    Alertmanager is configured or it cannot answer."""
    if not actor.may("monitoring:read"):
        return None
    try:
        answer = alerts.tenant_alerts(actor)
    except ObservabilityUnavailable as error:
        return AlertsPanel(unavailable=error.detail)
    shown = answer.value[:MAX_ALERTS_SHOWN]
    domains = {}
    for site_id in {alert["site_id"] for alert in shown}:
        try:
            domains[site_id] = sites.get_site(actor, site_id).domain
        except NotFound:  # deleted since Alertmanager last heard of it
            domains[site_id] = None
    found = [{**alert, "domain": domains.get(alert["site_id"])} for alert in shown]
    return AlertsPanel(alerts=found, silences=[], degraded_age=round(
        answer.age_seconds or 0) if answer.degraded else None)


@login_required
def dashboard():
    try:
        actor = console_actor()
        page = sites.list_sites(actor, page=1, per_page=10)
        usage = tenants.get_tenant(actor, actor.require_tenant().id)
        operations = site_operations.recent_operations(actor, limit=8)
    except ChomError as error:
        flash(error.detail, "error")
        return render_template("dashboard.html", actor=None, page=None, usage=None,
                               operations=[], alerts=None)
    plan = current_app.config["CHOM_PLANS"][usage.tenant.plan]
    storage_gb = round(backups.storage_used(usage.tenant) / 1024 ** 3, 2)
    return render_template("dashboard.html", actor=actor, page=page, usage=usage, plan=plan,
                           storage_gb=storage_gb, operations=operations,
                           alerts=_alerts_panel(actor))


@login_required
def site_list():
    """The tenant's sites, searched by domain and filtered by status and type."""
    actor = console_actor()
    filters = {key: request.args.get(key, "").strip() for key in ("q", "status", "type")}
    types = sites.site_type_choices()
    # Unknown filter values are ignored rather than answered with an error page.
    status = filters["status"] if filters["status"] in SITE_STATUSES else None
    type_ = filters["type"] if filters["type"] in {name for name, _, _ in types} else None
    page = sites.list_sites(actor, page=page_number(), per_page=PER_PAGE, status=status,
                            type=type_, search=filters["q"][:253] or None)
    return render_template("sites.html", actor=actor, page=page, filters=filters,
                           statuses=SITE_STATUSES, site_types=types,
                           pages=max(1, -(-page.total // PER_PAGE)))


def register(bp) -> None:
    bp.add_url_rule("/dashboard", view_func=dashboard)
    bp.add_url_rule("/sites", view_func=site_list)
