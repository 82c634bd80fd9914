"""Console pages for one's own account: forgotten password and reset, and the organization's
2FA requirement enforced on every other page (the set-up itself: `two_factor_pages`)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user

from chom.extensions import limiter
from chom.rate_limits import login_account_key, setting
from chom.services import password_reset
from chom.services.errors import ChomError, NotFound, ValidationFailed
from chom.services.tenancy import RequestInfo
from chom.web.context import console_actor

# Pages a member without 2FA may still open when the organization requires it.
TWO_FACTOR_SETUP_PAGES = frozenset({
    "web.index", "web.login", "web.logout", "web.signup", "web.static", "web.two_factor",
    "web.forgot_password", "web.reset_password", "web.accept_invitation",
    "web.two_factor_setup", "web.two_factor_enable", "web.login_code",
})

_auth_limit = limiter.limit(setting("CHOM_RATE_LIMIT_AUTH"), key_func=get_remote_address,
                            methods=["POST"], scope="auth")


def require_two_factor_setup():
    """Before every console page: a member of an organization that requires 2FA, without it,
    is told to set it up (403) instead of seeing the page."""
    if request.endpoint in TWO_FACTOR_SETUP_PAGES or not current_user.is_authenticated:
        return None
    try:
        actor = console_actor()
    except ChomError:
        return None  # no organization: the page itself says so
    if actor.two_factor_missing:
        return render_template("two_factor_required.html"), 403
    return None


@_auth_limit
@limiter.limit(setting("CHOM_RATE_LIMIT_LOGIN_ACCOUNT"), key_func=login_account_key,
               methods=["POST"], scope="reset-account")
def forgot_password():
    if request.method == "POST":
        password_reset.request_reset(request.form.get("email", ""))
        flash("If an account uses that address, a reset link is on its way.", "success")
        return redirect(url_for("web.login"))
    return render_template("forgot_password.html", errors={})


@_auth_limit
def reset_password():
    token = request.values.get("token", "")
    try:
        password_reset.check_token(token)
    except NotFound as error:
        flash(error.detail, "error")
        return redirect(url_for("web.forgot_password"))
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            password_reset.reset_password(token, request.form.get("password", ""),
                                          request=RequestInfo(ip=request.remote_addr))
        except ValidationFailed as error:
            errors = error.errors
        else:
            flash("Your password is changed. Log in with it.", "success")
            return redirect(url_for("web.login"))
    return render_template("reset_password.html", token=token, errors=errors), \
        422 if errors else 200


def register(bp) -> None:
    bp.before_request(require_two_factor_setup)
    bp.add_url_rule("/password/forgot", view_func=forgot_password, methods=["GET", "POST"])
    bp.add_url_rule("/password/reset", view_func=reset_password, methods=["GET", "POST"])
