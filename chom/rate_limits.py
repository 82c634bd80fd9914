"""What the API's and the console's rate limits share: tiers read from settings at request
time (so tests and benchmarks can raise them) and the log-in account key."""

from __future__ import annotations

from flask import current_app, request


def setting(name: str):
    """A limit value read from the app's settings when the request is checked."""
    return lambda: current_app.config[name]


def login_account_key() -> str:
    """The account a log-in attempt names (JSON or form body), whatever address it comes from:
    guessing one account's password from many addresses is limited too."""
    body = request.get_json(silent=True) if request.is_json else request.form
    email = body.get("email", "") if hasattr(body, "get") else ""
    return f"account:{str(email).strip().lower()}"
