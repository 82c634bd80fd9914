"""Console page of a site's backups: list them with their download links, back up now,
restore into the site (typed confirmation) or into a new site, delete (admins and owners)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from chom.services import backups, sites
from chom.services.errors import (
    ChomError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from chom.web.context import act_then_redirect, console_actor

PER_PAGE = 50


def _page(site_id, *, form: dict | None = None, errors: dict | None = None, status: int = 200):
    actor = console_actor()
    try:
        site = sites.get_site(actor, site_id)
        found, total = backups.list_backups(actor, site_id, page=1, per_page=PER_PAGE)
    except NotFound:
        abort(404)
    except PermissionDenied:
        abort(403)
    links = {b.id: backups.download_urls(actor, b, lambda token: url_for(
        "backups.download_backup_part", token=token)) for b in found}
    return render_template("backups.html", actor=actor, site=site, backups=found, total=total,
                           links=links, form=form or {}, errors=errors or {}), status


@login_required
def backups_page(site_id):
    return _page(site_id)


def _act(site_id, action, success: str):
    return act_then_redirect(action, success, url_for("web.site_backups", site_id=site_id))


@login_required
def back_up_now(site_id):
    return _act(site_id, lambda actor: backups.request_backup(actor, site_id),
                "Backup started; it shows here as it runs.")


@login_required
def restore(site_id, backup_id):
    """Into the site itself (the domain typed to confirm), or into a new site (a clone)."""
    actor = console_actor()
    form = {"mode": request.form.get("mode", "inplace"),
            "domain": request.form.get("domain", "").strip(),
            "confirm": request.form.get("confirm", "").strip(), "backup_id": backup_id}
    try:
        site = sites.get_site(actor, site_id)
    except NotFound:
        abort(404)
    if form["mode"] == "inplace" and form["confirm"] != site.domain:
        return _page(site_id, form=form, status=422, errors={
            "confirm": [f"Type {site.domain} to replace the site with this backup."]})
    target = {"domain": form["domain"]} if form["mode"] == "clone" else None
    try:
        _, into = backups.request_restore(actor, site_id, backup_id, target=target)
    except NotFound:
        abort(404)
    except PermissionDenied:
        abort(403)
    except ValidationFailed as error:
        messages = [m for values in error.errors.values() for m in values]
        return _page(site_id, form=form, errors={"domain": messages}, status=422)
    except ChomError as error:
        flash(error.detail, "error")
        return redirect(url_for("web.site_backups", site_id=site_id))
    flash(f"Restoring into {into.domain}.", "success")
    return redirect(url_for("web.show_site", site_id=into.id))


@login_required
def delete(site_id, backup_id):
    return _act(site_id, lambda actor: backups.delete_backup(actor, site_id, backup_id),
                "Backup deleted.")


def register(bp) -> None:
    bp.add_url_rule("/sites/<site_id>/backups", endpoint="site_backups", view_func=backups_page)
    bp.add_url_rule("/sites/<site_id>/backups", endpoint="back_up_now", view_func=back_up_now,
                    methods=["POST"])
    bp.add_url_rule("/sites/<site_id>/backups/<backup_id>/restore", endpoint="restore_backup",
                    view_func=restore, methods=["POST"])
    bp.add_url_rule("/sites/<site_id>/backups/<backup_id>/delete", endpoint="delete_backup",
                    view_func=delete, methods=["POST"])
