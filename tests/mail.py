"""A real SMTP server (aiosmtpd) for the tests, started once per session on a free port.

A pytest plugin (listed in `tests/conftest.py`): the `mailbox` fixture points the session
app's `MAIL_*` settings at the server and hands back the messages it received during the
test, parsed with the standard library, so a test reads the real email and follows its link.
"""

from __future__ import annotations

import email
import email.policy
import re
import threading
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


class _Recorder:
    """aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"


class _EphemeralController(Controller):
    """aiosmtpd's controller bound to port 0: the port the kernel chose is read back before
    the controller's own start-up check connects to it."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Mailbox:
    def __init__(self, recorder: _Recorder, host: str, port: int) -> None:
        self._recorder = recorder
        self.host, self.port = host, port

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
def smtp_server():
    recorder = _Recorder()
    controller = _EphemeralController(recorder, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield Mailbox(recorder, "127.0.0.1", controller.port)
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
