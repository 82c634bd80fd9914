"""The console's share of the rate-limit tiers: sensitive actions per user, as on the API."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from chom.extensions import limiter
from chom.rate_limits import setting


def _user_key() -> str:
    # The same key as the API's (`user:<id>`), so the console and the API share one budget.
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"ip:{request.remote_addr}"


sensitive_limit = limiter.limit(setting("CHOM_RATE_LIMIT_SENSITIVE"), key_func=_user_key,
                                scope="sensitive", methods=["POST"])
