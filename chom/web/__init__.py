"""The console: server-rendered Jinja pages over the same services as the API."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from chom.extensions import limiter, login_manager
from chom.rate_limits import login_account_key, setting
from chom.services import accounts, two_factor
from chom.services.errors import (
    ChomError,
    InvalidCredentials,
    NotFound,
    PermissionDenied,
    TwoFactorRequired,
    ValidationFailed,
)
from chom.web import (
    account_pages,
    audit_pages,
    backup_pages,
    billing_pages,
    dashboard_pages,
    fleet_pages,
    health_pages,
    login_code,
    notification_pages,
    site_alert_pages,
    site_log_pages,
    site_pages,
    team_pages,
    tenant_pages,
    tenant_switch,
    token_pages,
    two_factor_pages,
)

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")  # the app keeps /static
for pages in (login_code, dashboard_pages, site_pages, site_alert_pages, site_log_pages,
              account_pages, team_pages, tenant_pages, billing_pages, notification_pages,
              token_pages, two_factor_pages, audit_pages, fleet_pages, health_pages,
              tenant_switch, backup_pages):
    pages.register(bp)


@login_manager.user_loader
def _load_user(session_id: str):
    return accounts.user_for_session(session_id)


@bp.errorhandler(PermissionDenied)
def _forbidden(error):
    return render_template("error.html", title="Not allowed", detail=error.detail), 403


@bp.errorhandler(NotFound)
def _not_found(error):
    return render_template("error.html", title="Not found", detail=error.detail), 404


@bp.route("/")
def index():
    return redirect(url_for("web.dashboard" if current_user.is_authenticated else "web.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(setting("CHOM_RATE_LIMIT_AUTH"), key_func=get_remote_address, methods=["POST"],
               scope="auth")
@limiter.limit(setting("CHOM_RATE_LIMIT_LOGIN_ACCOUNT"), key_func=login_account_key,
               methods=["POST"], scope="login-account")
def login():
    email = request.form.get("email", "")
    if request.method == "POST":
        try:
            user = accounts.authenticate(email, request.form.get("password", ""))
            two_factor.require_second_factor(user, request.form.get("otp"))
        except TwoFactorRequired:
            return login_code.begin(user)  # the code is asked for on a page of its own
        except InvalidCredentials as error:
            flash(error.detail if "code" in error.detail
                  else "That email and password do not match an account.", "error")
        else:
            session.clear()  # a fresh session at log-in
            login_user(user)
            return redirect(url_for("web.dashboard"))
    return render_template("login.html", email=email), 200 if request.method == "GET" else 401


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """An organization with its first tenant and its owner, then logged in."""
    fields = ("organization", "name", "email")
    form = {field: request.form.get(field, "").strip() for field in fields}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        missing = {field: ["Required."] for field in fields if not form[field]}
        if "@" not in form["email"]:
            missing.setdefault("email", []).append("Give a valid email address.")
        try:
            if missing:
                raise ValidationFailed(missing)
            result = accounts.register(password=request.form.get("password", ""), **form)
        except ValidationFailed as error:
            errors = error.errors
        except ChomError as error:
            errors = {"email": [error.detail]}
        else:
            session.clear()
            login_user(result.user)
            flash(f"Welcome to CHOM, {result.user.name}.", "success")
            return redirect(url_for("web.dashboard"))
    return render_template("signup.html", form=form, errors=errors), 422 if errors else 200


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("web.login"))


def init_app(app) -> None:
    login_manager.login_view = "web.login"
    app.register_blueprint(bp)
