"""Outgoing email: SMTP from the `MAIL_*` settings, or files in a folder when no server is set.

With `MAIL_SERVER` unset (the embedded default of `make run`), each message is written as an
`.eml` file under `MAIL_OUTBOX_DIR` (default `instance/mail/`), so invitations and password
resets can be followed on a machine without a mail server.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path


class MailUndeliverable(RuntimeError):
    """The SMTP server could not be reached or refused the message."""


@dataclass(frozen=True)
class MailSettings:
    server: str | None
    port: int
    use_tls: bool  # STARTTLS after connecting
    use_ssl: bool  # TLS from the first byte (port 465)
    username: str | None
    password: str | None
    sender: str
    outbox_dir: Path
    ca_file: str | None = None  # a private CA for the server's certificate; else the system's
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config) -> MailSettings:
        return cls(
            server=config.get("MAIL_SERVER") or None,
            port=int(config.get("MAIL_PORT") or 25),
            use_tls=bool(config.get("MAIL_USE_TLS")),
            use_ssl=bool(config.get("MAIL_USE_SSL")),
            username=config.get("MAIL_USERNAME") or None,
            password=config.get("MAIL_PASSWORD") or None,
            sender=config.get("MAIL_FROM") or "CHOM <noreply@localhost>",
            outbox_dir=Path(config["MAIL_OUTBOX_DIR"]),
            ca_file=config.get("MAIL_CA_FILE") or None,
        )


def build_message(settings: MailSettings, *, to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="chom")
    message.set_content(text)
    return message


def _deliver_smtp(settings: MailSettings, message: EmailMessage) -> None:
    context = ssl.create_default_context(cafile=settings.ca_file)
    smtp_class = smtplib.SMTP_SSL if settings.use_ssl else smtplib.SMTP
    kwargs = {"context": context} if settings.use_ssl else {}
    try:
        with smtp_class(settings.server, settings.port, timeout=settings.timeout,
                        **kwargs) as smtp:
            if settings.use_tls and not settings.use_ssl:
                smtp.starttls(context=context)
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailUndeliverable(f"mail to {message['To']} not sent: {error}") from error


def _deliver_to_folder(settings: MailSettings, message: EmailMessage) -> Path:
    settings.outbox_dir.mkdir(parents=True, exist_ok=True)
    path = settings.outbox_dir / f"{uuid.uuid4().hex}.eml"
    path.write_bytes(bytes(message))
    return path


def send(config, *, to: str, subject: str, text: str) -> EmailMessage:
    """Send one plain-text message with the app's `MAIL_*` settings; returns it.

    Raises `MailUndeliverable` when an SMTP server is configured and does not take it.
    """
    settings = MailSettings.from_config(config)
    message = build_message(settings, to=to, subject=subject, text=text)
    if settings.server:
        _deliver_smtp(settings, message)
    else:
        _deliver_to_folder(settings, message)
    return message
