"""A real SMTP server (aiosmtpd) for the tests, started once per session on a free port.

A pytest plugin (listed in `tests/conftest.py`): the `mailbox` fixture points the session
app's `MAIL_*` settings at the server and hands back the messages it received during the
test, parsed with the standard library, so a test reads the real email and follows its link.

The server offers STARTTLS (a certificate made for the session, its CA in `smtp_server.ca_file`)
and AUTH after STARTTLS, as a submission server does; plain delivery works too.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import re
import ssl
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SMTP_USER, SMTP_PASSWORD = "chom-mailer", "smtp secret"


class _Recorder:
    """aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        message["X-Test-TLS"] = "yes" if session.ssl else "no"
        message["X-Test-Authenticated-As"] = (session.auth_data.login.decode()
                                              if session.authenticated else "-")
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and (auth_data.login, auth_data.password) == (SMTP_USER.encode(),
                                                        SMTP_PASSWORD.encode()))
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def _self_signed(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A certificate for 127.0.0.1, made for this session; returns the server's TLS context
    and the certificate's path (the CA a client must trust)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chom test smtp")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path


class _EphemeralController(Controller):
    """aiosmtpd's controller bound to port 0: the port the kernel chose is read back before
    the controller's own start-up check connects to it."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Mailbox:
    def __init__(self, recorder: _Recorder, host: str, port: int, ca_file: Path) -> None:
        self._recorder = recorder
        self.host, self.port, self.ca_file = host, port, ca_file

    @property
    def messages(self) -> list[EmailMessage]:
        with self._recorder.lock:
            return list(self._recorder.messages)

    def clear(self) -> None:
        with self._recorder.lock:
            self._recorder.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["X-Envelope-To"]]

    def last_to(self, address: str) -> EmailMessage:
        received = self.to(address)
        assert received, f"no email to {address}; got {[m['To'] for m in self.messages]}"
        return received[-1]

    @staticmethod
    def body(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    def token_in(self, message: EmailMessage, path: str) -> str:
        """The `token` query value of the link to `path` in a message."""
        match = re.search(re.escape(path) + r"\?token=([A-Za-z0-9_.\-%]+)", self.body(message))
        assert match, self.body(message)
        from urllib.parse import unquote

        return unquote(match.group(1))


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory):
    recorder = _Recorder()
    tls_context, ca_file = _self_signed(tmp_path_factory.mktemp("smtp"))
    controller = _EphemeralController(
        recorder, hostname="127.0.0.1", port=0,
        tls_context=tls_context, authenticator=_authenticate, auth_require_tls=True)
    controller.start()
    try:
        yield Mailbox(recorder, "127.0.0.1", controller.port, ca_file)
    finally:
        controller.stop()


@pytest.fixture
def mailbox(app, smtp_server):
    """The session app sends through the aiosmtpd server during this test; empty at start."""
    saved = {key: app.config.get(key) for key in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port)
    smtp_server.clear()
    yield smtp_server
    app.config.update(saved)
