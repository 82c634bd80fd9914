"""The log-in's second step: after the password, a code from the authenticator app (or a
recovery code), on a page of its own.

Between the steps the session holds only the user's session id and when the password was
checked; the step expires after `CODE_STEP_SECONDS`, and its attempts count against the same
per-address and per-account limits as the password's.
"""

from __future__ import annotations

import time

from flask import redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import login_user

from chom.extensions import limiter
from chom.rate_limits import setting
from chom.services import accounts, two_factor
from chom.services.errors import InvalidCredentials, TwoFactorRequired

CODE_STEP_SECONDS = 300
PENDING = "login_pending"


def begin(user):
    """After a good password for an account with two-factor on: ask for the code next."""
    session.clear()
    session[PENDING] = {"user": user.get_id(), "email": user.email, "at": time.time()}
    return redirect(url_for("web.login_code"), code=303)


def _pending_user():
    pending = session.get(PENDING)
    if not pending or time.time() - pending["at"] > CODE_STEP_SECONDS:
        return None
    return accounts.user_for_session(pending["user"])


def _account_key() -> str:
    # The same bucket as the password step's (`chom.rate_limits.login_account_key`).
    return f"account:{(session.get(PENDING) or {}).get('email', '')}"


@limiter.limit(setting("CHOM_RATE_LIMIT_AUTH"), key_func=get_remote_address, methods=["POST"],
               scope="auth")
@limiter.limit(setting("CHOM_RATE_LIMIT_LOGIN_ACCOUNT"), key_func=_account_key,
               methods=["POST"], scope="login-account")
def login_code():
    user = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        return redirect(url_for("web.login"))
    error = None
    if request.method == "POST":
        try:
            two_factor.require_second_factor(user, request.form.get("otp", "").strip())
        except (TwoFactorRequired, InvalidCredentials):
            error = "That code is not valid; try the current one, or a recovery code."
        else:
            session.clear()  # a fresh session at log-in
            login_user(user)
            return redirect(url_for("web.dashboard"))
    return render_template("login_code.html", error=error), 401 if error else 200


def register(bp) -> None:
    bp.add_url_rule("/login/code", view_func=login_code, methods=["GET", "POST"])
