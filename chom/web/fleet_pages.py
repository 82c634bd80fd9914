"""Console pages for platform operators: the VPS fleet with capacity and reachability, add VPS."""

from __future__ import annotations

import ipaddress

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from chom.services import fleet
from chom.services.domains import InvalidDomain, normalize_domain
from chom.services.errors import ChomError, NotFound, PermissionDenied, ValidationFailed

FIELDS = ("name", "host", "port", "ssh_user", "capacity", "host_key", "private_key_pem")


def _operator_only():
    try:
        fleet.require_operator(current_user)
    except PermissionDenied:
        abort(403)


def _number(form, key: str, low: int, high: int, errors: dict) -> int | None:
    try:
        value = int(form.get(key, ""))
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        errors[key] = [f"A whole number from {low} to {high}."]
    return value


def _validated(form) -> dict:
    errors: dict[str, list[str]] = {}
    name = form.get("name", "").strip()
    if not name or len(name) > 100:
        errors["name"] = ["Give the VPS a name (100 characters at most)."]
    host = form.get("host", "").strip()
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        try:  # not an address: a host name, by the same grammar as site domains
            host = normalize_domain(host)
        except InvalidDomain as error:
            errors["host"] = [f"An IP address or a host name: {error}"]
    port = _number(form, "port", 1, 65535, errors)
    capacity = _number(form, "capacity", 1, 10000, errors)
    ssh_user = form.get("ssh_user", "").strip()
    if not ssh_user.replace("-", "").replace("_", "").isalnum():
        errors["ssh_user"] = ["A user name (letters, digits, - and _)."]
    if errors:
        raise ValidationFailed(errors)
    return {"name": name, "host": host, "port": port, "ssh_user": ssh_user,
            "capacity": capacity, "dedicated": bool(form.get("dedicated")),
            "host_key": form.get("host_key", "").strip() or None,
            "private_key_pem": form.get("private_key_pem", "").strip() or None}


@login_required
def fleet_page():
    _operator_only()
    form = {"port": "22", "ssh_user": "root", "capacity": "50"}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        form = {key: request.form.get(key, "") for key in (*FIELDS, "dedicated")}
        form["private_key_pem"] = ""  # a private key is never sent back to the browser
        try:
            vps = fleet.register_vps(**_validated(request.form))
        except ValidationFailed as error:
            errors, status = error.errors, 422
        except ChomError as error:
            errors, status = {"host": [error.detail]}, 409
        else:
            flash(f"{vps.name} joined the fleet.", "success")
            return redirect(url_for("web.fleet_page"))
    return render_template("fleet.html", servers=fleet.fleet_usage(current_user), form=form,
                           errors=errors), status


@login_required
def vps_reachability(vps_id):
    """One VPS's reachability, loaded by each row after the page (a probe can take seconds)."""
    _operator_only()
    try:
        vps = fleet.get_vps(current_user, vps_id)
    except NotFound:
        abort(404)
    reachable, detail = fleet.check_reachable(vps)
    return render_template("_reachability.html", reachable=reachable, detail=detail)


def register(bp) -> None:
    bp.add_url_rule("/fleet", view_func=fleet_page, methods=["GET", "POST"])
    bp.add_url_rule("/fleet/<vps_id>/reachability", view_func=vps_reachability)
