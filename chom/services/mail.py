"""Sending the platform's emails through the configured mailer; links point at CHOM_BASE_URL."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app

from chom.integration import mailer
from chom.services.errors import MailUnavailable


def link(path: str, **query: str) -> str:
    """An absolute console link from `CHOM_BASE_URL` (never from a request's Host header,
    which an attacker could set to receive someone's reset token)."""
    base = current_app.config["CHOM_BASE_URL"]
    return f"{base}{path}" + (f"?{urlencode(query)}" if query else "")


def send(*, to: str, subject: str, text: str) -> None:
    """Send a plain-text email; `MailUnavailable` when the SMTP server does not take it."""
    try:
        mailer.send(current_app.config, to=to, subject=subject, text=text)
    except mailer.MailUndeliverable as error:
        current_app.logger.warning("%s", error)
        raise MailUnavailable() from error
