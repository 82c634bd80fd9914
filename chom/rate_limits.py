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


# Where `Retry-After` means "ask again later" (RFC 6585 §4, RFC 9110 §15.6.4). On a redirect
# it would ask the browser to wait before following it.
RETRY_AFTER_STATUSES = frozenset({429, 503})


def retry_after_only_when_refused(response):
    """Flask-Limiter sets `Retry-After` (its window's reset) on every response it counts, 200s
    included; keep it only where it means something. Registered before the limiter, so Flask
    runs it after the limiter's own hook."""
    if response.status_code not in RETRY_AFTER_STATUSES:
        response.headers.pop("Retry-After", None)
    return response
