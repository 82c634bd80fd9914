"""Console pages for sites: create, show with live progress, and the site's actions."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from chom.services import site_operations, sites
from chom.services.domains import InvalidDomain, normalize_domain
from chom.services.errors import ChomError, NotFound, PermissionDenied, ValidationFailed
from chom.services.sites import PlanPreview
from chom.web.context import console_actor

ACTIONS = {"ssl": "Certificate requested", "suspend": "Suspending", "resume": "Resuming",
           "retry": "Retrying"}


def _site_or_404(site_id):
    try:
        return sites.get_site(console_actor(), site_id)
    except NotFound:
        abort(404)


@login_required
def new_site():
    actor = console_actor()
    form = {"domain": "", "type": "html", "php_version": ""}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        form = {key: request.form.get(key, "").strip() for key in form}
        try:
            domain = normalize_domain(form["domain"])
            created = sites.create_site(actor, domain=domain, type=form["type"],
                                        php_version=form["php_version"] or None)
        except InvalidDomain as error:
            errors, status = {"domain": [str(error)]}, 422
        except ValidationFailed as error:
            errors, status = error.errors, 422
        except ChomError as error:
            flash(error.detail, "error")
            status = 409
        else:
            if not isinstance(created, PlanPreview):
                flash(f"{created.site.domain} is being provisioned.", "success")
                return redirect(url_for("web.show_site", site_id=created.site.id))
    return render_template("site_new.html", actor=actor, form=form, errors=errors,
                           site_types=sites.site_type_choices(),
                           php_versions=current_app.config["CHOM_PHP_VERSIONS"]), status


@login_required
def show_site(site_id):
    actor = console_actor()
    site = _site_or_404(site_id)
    return render_template("site.html", actor=actor, site=site,
                           operation=site_operations.latest_operation(actor, site))


@login_required
def site_progress(site_id):
    """The progress fragment the site page polls while an operation runs."""
    actor = console_actor()
    site = _site_or_404(site_id)
    return render_template("_progress.html", site=site,
                           operation=site_operations.latest_operation(actor, site))


@login_required
def site_action(site_id, action):
    site = _site_or_404(site_id)
    try:
        site_operations.request_operation(console_actor(), site.id, action)
    except PermissionDenied:
        abort(403)
    except ChomError as error:
        flash(error.detail, "error")
    else:
        flash(f"{ACTIONS[action]}: {site.domain}.", "success")
    return redirect(url_for("web.show_site", site_id=site.id))


@login_required
def delete_site(site_id):
    site = _site_or_404(site_id)
    if request.form.get("confirm", "").strip().lower() != site.domain:
        flash(f"Type {site.domain} to confirm the deletion.", "error")
        return redirect(url_for("web.show_site", site_id=site.id))
    try:
        site_operations.delete_site(console_actor(), site.id)
    except PermissionDenied:
        abort(403)
    except ChomError as error:
        flash(error.detail, "error")
        return redirect(url_for("web.show_site", site_id=site.id))
    flash(f"{site.domain} is being deleted.", "success")
    return redirect(url_for("web.dashboard"))


def register(bp) -> None:
    bp.add_url_rule("/sites/new", view_func=new_site, methods=["GET", "POST"])
    bp.add_url_rule("/sites/<site_id>", view_func=show_site)
    bp.add_url_rule("/sites/<site_id>/progress", view_func=site_progress)
    bp.add_url_rule("/sites/<site_id>/<any(ssl, suspend, resume, retry):action>",
                    view_func=site_action, methods=["POST"])
    bp.add_url_rule("/sites/<site_id>/delete", view_func=delete_site, methods=["POST"])
