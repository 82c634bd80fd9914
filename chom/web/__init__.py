"""The console: server-rendered Jinja pages over the same services as the API."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from chom.extensions import login_manager
from chom.models.scoping import enter_scope
from chom.services import accounts, sites
from chom.services.errors import ChomError, InvalidCredentials
from chom.services.tenancy import RequestInfo, resolve_actor

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")


@login_manager.user_loader
def _load_user(session_id: str):
    return accounts.user_for_session(session_id)


def console_actor():
    """The logged-in user as an actor in the tenant chosen in the session."""
    if "chom_actor" not in g:
        actor = resolve_actor(
            current_user,
            tenant_ref=request.args.get("tenant") or session.get("tenant_id"),
            request=RequestInfo(ip=request.remote_addr,
                                user_agent=request.headers.get("User-Agent"),
                                correlation_id=g.get("correlation_id")),
        )
        enter_scope(actor.scope)
        g.chom_actor = actor
    return g.chom_actor


@bp.route("/")
def index():
    return redirect(url_for("web.dashboard" if current_user.is_authenticated else "web.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    email = request.form.get("email", "")
    if request.method == "POST":
        try:
            user = accounts.authenticate(email, request.form.get("password", ""))
        except InvalidCredentials:
            flash("That email and password do not match an account.", "error")
        else:
            session.clear()  # a fresh session at log-in
            login_user(user)
            return redirect(url_for("web.dashboard"))
    return render_template("login.html", email=email), 200 if request.method == "GET" else 401


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("web.login"))


@bp.route("/dashboard")
@login_required
def dashboard():
    try:
        actor = console_actor()
        page = sites.list_sites(actor, page=1, per_page=50)
    except ChomError as error:
        flash(error.detail, "error")
        return render_template("dashboard.html", actor=None, page=None)
    return render_template("dashboard.html", actor=actor, page=page)


def init_app(app) -> None:
    login_manager.login_view = "web.login"
    app.register_blueprint(bp)
