"""Console page for two-factor authentication: set up with a QR code, enable, disable."""

from __future__ import annotations

import segno
from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required
from markupsafe import Markup

from chom.services import two_factor
from chom.services.errors import Conflict, ValidationFailed
from chom.web.context import console_actor
from chom.web.limits import sensitive_limit


def qr_svg(uri: str) -> Markup:
    """The otpauth URI as an inline SVG QR code, drawn here (no third party sees the secret)."""
    code = segno.make(uri, error="m")
    return Markup(code.svg_inline(scale=5, border=3, dark="#000", light="#fff",  # noqa: S704
                                  title="QR code for your authenticator app"))


def _page(actor, *, errors=None, recovery_codes=None, status=200):
    setup = two_factor.pending_setup(actor)
    return render_template(
        "two_factor.html", actor=actor, enabled=two_factor.is_enabled(actor), setup=setup,
        qr=qr_svg(setup.provisioning_uri) if setup else None, errors=errors or {},
        recovery_codes=recovery_codes), status


@login_required
def two_factor_page():
    return _page(console_actor())


@login_required
@sensitive_limit
def two_factor_setup():
    actor = console_actor()
    try:
        two_factor.begin_setup(actor)
    except Conflict as error:
        flash(error.detail, "error")
        return redirect(url_for("web.two_factor"))
    return _page(actor)


@login_required
@sensitive_limit
def two_factor_enable():
    actor = console_actor()
    try:
        codes = two_factor.enable(actor, request.form.get("otp", "").strip())
    except ValidationFailed as error:
        return _page(actor, errors=error.errors, status=422)
    except Conflict as error:
        flash(error.detail, "error")
        return redirect(url_for("web.two_factor"))
    flash("Two-factor authentication is on.", "success")
    # The codes are rendered in this response only, never stored in the session.
    return _page(actor, recovery_codes=codes)


@login_required
@sensitive_limit
def two_factor_disable():
    actor = console_actor()
    try:
        two_factor.disable(actor, request.form.get("otp", "").strip())
    except ValidationFailed as error:
        return _page(actor, errors=error.errors, status=422)
    except Conflict as error:
        flash(error.detail, "error")
    else:
        flash("Two-factor authentication is off.", "success")
    return redirect(url_for("web.two_factor"))


def register(bp) -> None:
    bp.add_url_rule("/account/two-factor", endpoint="two_factor", view_func=two_factor_page)
    for action, view in (("setup", two_factor_setup), ("enable", two_factor_enable),
                         ("disable", two_factor_disable)):
        bp.add_url_rule(f"/account/two-factor/{action}", view_func=view, methods=["POST"])
