"""The mailer against a real SMTP server (aiosmtpd): plain, STARTTLS with log-in, refusals,
and the embedded default that writes messages to a folder."""

import email
import email.policy

import pytest

from chom.integration import mailer
from tests.mail import SMTP_PASSWORD, SMTP_USER


def _config(tmp_path, **mail):
    return {"MAIL_OUTBOX_DIR": str(tmp_path / "outbox"), "MAIL_FROM": "CHOM <noreply@chom.test>",
            **mail}


def test_plain_delivery(tmp_path, smtp_server):
    smtp_server.clear()
    mailer.send(_config(tmp_path, MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port),
                to="someone@example.com", subject="Héllo", text="Body ✓\n")
    [message] = smtp_server.to("someone@example.com")
    assert message["Subject"] == "Héllo" and message["From"] == "CHOM <noreply@chom.test>"
    assert smtp_server.body(message).rstrip() == "Body ✓"  # SMTP sends CRLF line ends
    assert message["X-Test-TLS"] == "no" and message["X-Test-Authenticated-As"] == "-"
    assert not (tmp_path / "outbox").exists()


def test_starttls_and_login(tmp_path, smtp_server):
    smtp_server.clear()
    mailer.send(_config(tmp_path, MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port,
                        MAIL_USE_TLS=True, MAIL_CA_FILE=str(smtp_server.ca_file),
                        MAIL_USERNAME=SMTP_USER, MAIL_PASSWORD=SMTP_PASSWORD),
                to="secure@example.com", subject="TLS", text="over TLS")
    [message] = smtp_server.to("secure@example.com")
    assert message["X-Test-TLS"] == "yes" and message["X-Test-Authenticated-As"] == SMTP_USER


@pytest.mark.parametrize("settings", [
    {"MAIL_USE_TLS": True},  # the server's certificate is not trusted by the system's CAs
    {"MAIL_USERNAME": SMTP_USER, "MAIL_PASSWORD": SMTP_PASSWORD},  # AUTH needs TLS first
    {"MAIL_USE_TLS": True, "MAIL_CA_FILE": "CA", "MAIL_USERNAME": SMTP_USER,
     "MAIL_PASSWORD": "wrong"},
    {"MAIL_PORT": 1},  # nothing listens
], ids=["untrusted-certificate", "auth-without-tls", "wrong-password", "refused"])
def test_failures_raise_mail_undeliverable(tmp_path, smtp_server, settings):
    smtp_server.clear()
    config = _config(tmp_path, MAIL_SERVER=smtp_server.host,
                     **{"MAIL_PORT": smtp_server.port, **settings})
    if config.get("MAIL_CA_FILE") == "CA":
        config["MAIL_CA_FILE"] = str(smtp_server.ca_file)
    with pytest.raises(mailer.MailUndeliverable):
        mailer.send(config, to="nobody@example.com", subject="x", text="x")
    assert smtp_server.messages == []


def test_without_a_server_messages_go_to_the_outbox_folder(tmp_path):
    mailer.send(_config(tmp_path), to="local@example.com", subject="Local", text="kept\n")
    [path] = (tmp_path / "outbox").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "local@example.com" and message["Subject"] == "Local"
    assert message.get_content() == "kept\n"
