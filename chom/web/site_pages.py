"""Console pages for sites: create, show with live progress, and the site's actions."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from chom.services import deploy_hooks, site_operations, sites
from chom.services.domains import InvalidDomain, normalize_domain
from chom.services.errors import ChomError, NotFound, PermissionDenied, ValidationFailed
from chom.services.sites import PlanPreview
from chom.web.context import console_actor
from chom.web.option_fields import option_fields, read_options
from chom.web.site_alerts import SILENCE_MINUTES, alerts_panel, silence_form
from chom.web.site_metrics import chosen_range, metrics_context

# How the console names an operation's kind; another kind reads as its words.
OPERATION_LABELS = {"provision": "Provision", "deprovision": "Delete", "issue_ssl": "Issue SSL",
                    "suspend": "Suspend", "resume": "Resume", "deploy_content": "Upload content",
                    "deploy": "Deploy"}


def operation_label(kind: str) -> str:
    return OPERATION_LABELS.get(kind) or kind.replace("_", " ").capitalize()


ACTIONS = {"ssl": "Certificate requested", "suspend": "Suspending", "resume": "Resuming",
           "retry": "Retrying", "deploy": "Deploying"}


def site_or_404(site_id):
    try:
        return sites.get_site(console_actor(), site_id)
    except NotFound:
        abort(404)


def _type_options_context(type_name: str, form, errors: dict) -> dict:
    """What `_site_type_options.html` needs for the chosen type: PHP choice and option fields."""
    forms = {f.name: f for f in sites.site_type_forms()}
    chosen = forms.get(type_name) or next(iter(forms.values()))
    return {"chosen": chosen, "form": form, "errors": errors,
            "option_fields": option_fields(chosen.name, chosen.options_schema),
            "php_versions": current_app.config["CHOM_PHP_VERSIONS"],
            "default_php": current_app.config["CHOM_DEFAULT_PHP_VERSION"]}


@login_required
def new_site():
    actor = console_actor()
    form = {"domain": "", "type": "html", "php_version": ""}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        form = {**request.form.to_dict(),
                **{key: request.form.get(key, "").strip() for key in form}}
        schemas = {f.name: f.options_schema for f in sites.site_type_forms()}
        try:
            domain = normalize_domain(form["domain"])
            options = read_options(form["type"], schemas.get(form["type"], {}), request.form)
            created = sites.create_site(actor, domain=domain, type=form["type"],
                                        php_version=form["php_version"] or None,
                                        options=options)
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
    return render_template("site_new.html", actor=actor, site_types=sites.site_type_choices(),
                           **_type_options_context(form["type"], form, errors)), status


@login_required
def site_type_options():
    """The PHP choice and option fields of one site type (swapped in when the type changes)."""
    return render_template("_site_type_options.html", **_type_options_context(
        request.args.get("type", ""), {"php_version": ""}, {}))


def render_site(site, *, form=None, errors: dict | None = None, status: int = 200,
                deploy_hook_url: str | None = None):
    """The site page: details, progress, metrics over the chosen range, alerts and silences
    (with the silence form's typed values and errors when it was refused), and a new
    push-to-deploy URL the one time it is shown."""
    actor = console_actor()
    return render_template(
        "site.html", actor=actor, site=site,
        operation=site_operations.latest_operation(actor, site),
        deployable=site_operations.can_deploy(site), deploy_hook_url=deploy_hook_url,
        alerts=alerts_panel(actor, site), silence=silence_form(form),
        silence_errors=errors or {}, silence_minutes=SILENCE_MINUTES,
        **metrics_context(actor, site, chosen_range(request.args.get("range")))), status


@login_required
def show_site(site_id):
    return render_site(site_or_404(site_id))


@login_required
def site_progress(site_id):
    """The progress fragment the site page polls while an operation runs."""
    actor = console_actor()
    site = site_or_404(site_id)
    return render_template("_progress.html", site=site,
                           operation=site_operations.latest_operation(actor, site))


def _back_to_site(site, call, done: str):
    """Run `call()`, flash `done` or why it was refused, and go back to the site's page; 403
    when the caller's role may not."""
    try:
        call()
    except PermissionDenied:
        abort(403)
    except ChomError as error:
        flash(error.detail, "error")
    else:
        flash(done, "success")
    return redirect(url_for("web.show_site", site_id=site.id))


@login_required
def site_action(site_id, action):
    site = site_or_404(site_id)
    return _back_to_site(
        site, lambda: site_operations.request_operation(console_actor(), site.id, action),
        f"{ACTIONS[action]}: {site.domain}.")


@login_required
def make_deploy_hook(site_id):
    """A new push-to-deploy URL, shown on the page this once (never kept in the session)."""
    site = site_or_404(site_id)
    try:
        token = deploy_hooks.create_deploy_hook(console_actor(), site.id)
    except PermissionDenied:
        abort(403)
    except ChomError as error:
        flash(error.detail, "error")
        return redirect(url_for("web.show_site", site_id=site.id))
    return render_site(site, deploy_hook_url=url_for("sites.deploy_from_hook",
                                                     hook_token=token, _external=True))


@login_required
def end_deploy_hook(site_id):
    site = site_or_404(site_id)
    return _back_to_site(
        site, lambda: deploy_hooks.delete_deploy_hook(console_actor(), site.id),
        f"The push-to-deploy URL of {site.domain} no longer works.")


@login_required
def delete_site(site_id):
    site = site_or_404(site_id)
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
    bp.add_app_template_filter(operation_label)
    bp.add_url_rule("/sites/new", view_func=new_site, methods=["GET", "POST"])
    bp.add_url_rule("/sites/new/options", view_func=site_type_options)
    bp.add_url_rule("/sites/<site_id>", view_func=show_site)
    bp.add_url_rule("/sites/<site_id>/progress", view_func=site_progress)
    bp.add_url_rule("/sites/<site_id>/<any(ssl, suspend, resume, retry, deploy):action>",
                    view_func=site_action, methods=["POST"])
    bp.add_url_rule("/sites/<site_id>/deploy-hook", view_func=make_deploy_hook,
                    methods=["POST"])
    bp.add_url_rule("/sites/<site_id>/deploy-hook/delete", view_func=end_deploy_hook,
                    methods=["POST"])
    bp.add_url_rule("/sites/<site_id>/delete", view_func=delete_site, methods=["POST"])
