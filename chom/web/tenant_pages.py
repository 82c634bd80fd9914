"""Console page for the organization's tenants: each with its plan and usage; admins and
owners create, rename and delete them (a tenant that still holds sites is not deleted, and its
sites are listed beside it)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from chom.services import tenants
from chom.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chom.web.context import console_actor

MAX_NAME = 200


def _name(form_key: str = "name") -> str:
    name = request.form.get(form_key, "").strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed({form_key: [f"Give a name (1 to {MAX_NAME} characters)."]})
    return name


def _writer(tenant_id=None):
    """The actor, when it may change tenants: another organization's (or an unreached) tenant
    is a 404 first, then a role that may not is a 403 — before any input is judged."""
    actor = console_actor()
    if tenant_id is not None:
        try:
            tenants.get_tenant(actor, tenant_id)
        except NotFound:
            abort(404)
    if not actor.may("tenants:write"):
        abort(403)
    return actor


def _page(*, new_name: str = "", errors: dict | None = None, renaming: dict | None = None,
          blocked: dict | None = None, status: int = 200):
    """The list; `errors` are the new tenant form's, `renaming` maps a tenant id to its typed
    name and errors, `blocked` a tenant id to the sites that keep it from being deleted."""
    actor = console_actor()
    try:
        usages = [tenants.get_tenant(actor, t.id) for t in tenants.list_tenants(actor)]
    except PermissionDenied:
        abort(403)
    return render_template("tenants.html", actor=actor, usages=usages, new_name=new_name,
                           errors=errors or {}, renaming=renaming or {}, blocked=blocked or {}
                           ), status


@login_required
def tenant_list():
    return _page()


@login_required
def create_tenant():
    typed = request.form.get("name", "")
    try:
        tenant = tenants.create_tenant(_writer(), name=_name())
    except PermissionDenied:
        abort(403)
    except ValidationFailed as error:
        return _page(new_name=typed, errors=error.errors, status=422)
    flash(f"Tenant {tenant.name} created; choose it in the tenant switcher to work in it.",
          "success")
    return redirect(url_for("web.tenant_list"))


@login_required
def rename_tenant(tenant_id):
    typed = request.form.get("name", "")
    try:
        tenant = tenants.rename_tenant(_writer(tenant_id), tenant_id, name=_name())
    except NotFound:
        abort(404)
    except PermissionDenied:
        abort(403)
    except ValidationFailed as error:
        return _page(renaming={tenant_id: {"name": typed, "errors": error.errors["name"]}},
                     status=422)
    flash(f"Tenant renamed to {tenant.name}.", "success")
    return redirect(url_for("web.tenant_list"))


@login_required
def delete_tenant(tenant_id):
    try:
        tenants.delete_tenant(_writer(tenant_id), tenant_id)
    except NotFound:
        abort(404)
    except PermissionDenied:
        abort(403)
    except Conflict as error:
        return _page(blocked={tenant_id: {"detail": error.detail,
                                          "sites": error.extra.get("sites", [])}}, status=409)
    flash("Tenant deleted.", "success")
    return redirect(url_for("web.tenant_list"))


def register(bp) -> None:
    bp.add_url_rule("/tenants", view_func=tenant_list)
    bp.add_url_rule("/tenants", view_func=create_tenant, methods=["POST"])
    bp.add_url_rule("/tenants/<tenant_id>/rename", view_func=rename_tenant, methods=["POST"])
    bp.add_url_rule("/tenants/<tenant_id>/delete", view_func=delete_tenant, methods=["POST"])
