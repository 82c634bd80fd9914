"""Console actions on a site's alerts: silence them for some minutes, expire a silence
(members and up, `alerts:silence`); the alerts themselves show on the site page."""

from __future__ import annotations

import re

from flask import abort, flash, redirect, request, url_for
from flask_login import login_required

from chom.services import alerts
from chom.services.errors import ChomError, NotFound, PermissionDenied, ValidationFailed
from chom.web.context import console_actor
from chom.web.site_alerts import MAX_SILENCE_MINUTES, silence_form
from chom.web.site_pages import render_site, site_or_404

ALERT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


def _validated(form: dict) -> dict:
    """The silence's arguments, or `ValidationFailed` naming each bad field."""
    errors: dict[str, list[str]] = {}
    try:
        minutes = int(form["minutes"])
    except ValueError:
        minutes = 0
    if not 1 <= minutes <= MAX_SILENCE_MINUTES:
        errors["minutes"] = [f"A whole number of minutes from 1 to {MAX_SILENCE_MINUTES}."]
    comment = form["comment"].strip()
    if not comment or len(comment) > 500:
        errors["comment"] = ["Say why (500 characters at most)."]
    alertname = form["alertname"].strip()
    if alertname and not ALERT_NAME.match(alertname):
        errors["alertname"] = ["Choose one of the site's alerts, or all of them."]
    if errors:
        raise ValidationFailed(errors)
    return {"minutes": minutes, "comment": comment, "alertname": alertname or None}


@login_required
def create_silence(site_id):
    site = site_or_404(site_id)
    actor = console_actor()
    if not actor.may("alerts:silence"):
        abort(403)
    form = silence_form(request.form)
    try:
        alerts.create_silence(actor, site.id, **_validated(form))
    except ValidationFailed as error:
        return render_site(site, form=form, errors=error.errors, status=422)
    except PermissionDenied:
        abort(403)
    except ChomError as error:  # Alertmanager unavailable: nothing was silenced
        flash(error.detail, "error")
    else:
        flash(f"Alerts of {site.domain} silenced for {form['minutes']} minutes.", "success")
    return redirect(url_for("web.show_site", site_id=site.id, _anchor="alerts"))


@login_required
def expire_silence(site_id, silence_id):
    site = site_or_404(site_id)
    try:
        alerts.expire_silence(console_actor(), site.id, silence_id)
    except PermissionDenied:
        abort(403)
    except NotFound:
        abort(404)
    except ChomError as error:
        flash(error.detail, "error")
    else:
        flash("Silence expired.", "success")
    return redirect(url_for("web.show_site", site_id=site.id, _anchor="alerts"))


def register(bp) -> None:
    bp.add_url_rule("/sites/<site_id>/silences", view_func=create_silence, methods=["POST"])
    bp.add_url_rule("/sites/<site_id>/silences/<silence_id>/expire", view_func=expire_silence,
                    methods=["POST"])
