"""What the API's and the console's rate limits share: tiers read from settings at request
time (so tests and benchmarks can raise them), the log-in account key, and binding the limiter
to the app with its `Retry-After` kept to 429s."""

from __future__ import annotations

from flask import current_app, g, request


def setting(name: str):
    """A limit value read from the app's settings when the request is checked."""
    return lambda: current_app.config[name]


def login_account_key() -> str:
    """The account a log-in attempt names (JSON or form body), whatever address it comes from:
    guessing one account's password from many addresses is limited too."""
    body = request.get_json(silent=True) if request.is_json else request.form
    email = body.get("email", "") if hasattr(body, "get") else ""
    return f"account:{str(email).strip().lower()}"


def _remember_own_retry_after(response):
    g.chom_own_retry_after = response.headers.get("Retry-After")
    return response


def _retry_after_only_when_limited(response):
    if response.status_code != 429:  # the limiter's reset means nothing for other answers
        own = g.pop("chom_own_retry_after", None)
        if own is None:
            response.headers.pop("Retry-After", None)
        else:
            response.headers["Retry-After"] = own
    return response


def init_app(app, limiter) -> None:
    """Bind `limiter` to `app`, keeping its `Retry-After` for 429s only. Flask-Limiter sets the
    header (its window's reset, or the later of that and the answer's own) on every answer it
    counts: a 200 would read "come back later", a redirect "wait before following", and a 503's
    own advice would grow to the window's end. Flask runs after-request hooks last registered,
    first: the answer's own value is noted before the limiter's hook, and put back after it."""
    app.after_request(_retry_after_only_when_limited)
    limiter.init_app(app)
    app.after_request(_remember_own_retry_after)
