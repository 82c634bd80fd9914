"""The site's logs page: nginx and PHP-FPM lines of a chosen period, newest first, searched
by literal text; the query stays in the form and in the address (a GET form)."""

from __future__ import annotations

from flask import render_template, request
from flask_login import login_required

from chom.services import observability
from chom.services.errors import ObservabilityUnavailable
from chom.web.context import console_actor
from chom.web.site_metrics import RANGE_LABELS, chosen_range
from chom.web.site_pages import site_or_404

MAX_QUERY = 200
LINES = 200


@login_required
def site_logs(site_id):
    site = site_or_404(site_id)
    actor = console_actor()
    form = {"since": chosen_range(request.args.get("since")),
            "q": request.args.get("q", "")}
    errors: dict[str, list[str]] = {}
    lines, degraded_age, unavailable, status = [], None, None, 200
    if len(form["q"].strip()) > MAX_QUERY:
        errors["q"] = [f"Search for {MAX_QUERY} characters at most."]
        status = 422
    else:
        try:
            answer = observability.site_logs(actor, site.id, form["since"],
                                             form["q"].strip() or None, LINES)
        except ObservabilityUnavailable as error:
            unavailable, status = error.detail, 503
        else:
            lines = answer.value
            degraded_age = round(answer.age_seconds or 0) if answer.degraded else None
    return render_template("site_logs.html", actor=actor, site=site, form=form, errors=errors,
                           lines=lines, degraded_age=degraded_age, unavailable=unavailable,
                           ranges=RANGE_LABELS, limit=LINES), status


def register(bp) -> None:
    bp.add_url_rule("/sites/<site_id>/logs", view_func=site_logs)
