"""The `ssh` transport: paramiko, one pooled connection per VPS, the host key pinned.

The host key recorded when the VPS was added is the only one accepted (RejectPolicy; a changed
key raises `HostKeyMismatch`). TCP_NODELAY is set on the socket handed to paramiko: without it
every channel open waits on Nagle meeting delayed ACKs (FLEET.md: ~6x slower). argv is quoted
here, at the boundary, with `shlex.join`.
"""

from __future__ import annotations

import base64
import io
import select
import shlex
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import BinaryIO

import paramiko

from chom.plugin_api import (
    CommandResult,
    HostKeyMismatch,
    Transport,
    TransportUnavailable,
    hookimpl,
)

DEFAULT_CONNECT_TIMEOUT = 10.0
KEEPALIVE_SECONDS = 30


def parse_host_key(line: str) -> paramiko.PKey:
    """`"ssh-ed25519 AAAA..."` → a paramiko key; `ValueError` for anything else."""
    try:
        key_type, b64 = line.split()[:2]
        return paramiko.PKey.from_type_string(key_type, base64.b64decode(b64, validate=True))
    except (ValueError, paramiko.SSHException, paramiko.pkey.UnknownKeyType) as error:
        raise ValueError(f"not an SSH public key line ({error or type(error).__name__})") \
            from error


def host_key_line(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.get_base64()}"


def load_private_key(path: str | None = None, *, pem: str | None = None) -> paramiko.PKey:
    """A private key from a file, or from PEM text (a VPS's own key, decrypted)."""
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            if pem is not None:
                return key_class.from_private_key(io.StringIO(pem))
            return key_class.from_private_key_file(path)
        except paramiko.SSHException:
            continue
    raise ValueError(f"no supported private key in {'the given text' if pem else path}")


def _connected_socket(host: str, port: int, timeout: float) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def fetch_host_key(host: str, port: int = 22, timeout: float = DEFAULT_CONNECT_TIMEOUT) -> str:
    """The key a server presents, for an operator to pin when adding a VPS."""
    try:
        sock = _connected_socket(host, port, timeout)
        with paramiko.Transport(sock) as transport:
            transport.start_client(timeout=timeout)
            return host_key_line(transport.get_remote_server_key())
    except (OSError, paramiko.SSHException) as error:
        raise TransportUnavailable(f"{host}:{port}: {error}") from error


STREAM_CHUNK = 256 * 1024
STDERR_KEPT = 64 * 1024


class SshTransport(Transport):
    name = "ssh"

    def __init__(self, *, vps, config) -> None:
        if not vps.host_key:
            raise HostKeyMismatch(f"VPS {vps.name} has no pinned host key; add it again")
        self.host, self.port, self.user = vps.host, vps.port, vps.ssh_user or "root"
        self.vps_name = vps.name
        self.host_key = parse_host_key(vps.host_key)
        # The VPS's own key first, then a key file named in its profile, then the platform's.
        key_path = vps.settings.get("ssh_key_path") or config.get("CHOM_SSH_KEY_PATH")
        own_key = getattr(vps, "private_key_pem", None)
        if own_key:
            self.private_key = load_private_key(pem=own_key)
        else:
            self.private_key = load_private_key(key_path) if key_path else None
        self.connect_timeout = float(vps.settings.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT))
        self._client: paramiko.SSHClient | None = None
        self._lock = threading.Lock()

    def _known_name(self) -> str:
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"

    def _connect(self) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.get_host_keys().add(self._known_name(), self.host_key.get_name(), self.host_key)
        try:
            sock = _connected_socket(self.host, self.port, self.connect_timeout)
            client.connect(
                self.host, port=self.port, username=self.user, pkey=self.private_key,
                sock=sock, timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout, allow_agent=False, look_for_keys=False,
            )
        except paramiko.BadHostKeyException as error:
            client.close()
            raise HostKeyMismatch(
                f"{self.vps_name} presented a different host key than the pinned one; "
                "refusing to connect"
            ) from error
        except (OSError, EOFError, paramiko.SSHException) as error:
            client.close()
            raise TransportUnavailable(f"{self.vps_name} ({self.host}:{self.port}): "
                                       f"{type(error).__name__}: {error}") from error
        transport = client.get_transport()
        transport.set_keepalive(KEEPALIVE_SECONDS)
        # paramiko starts a re-key itself after 512 MiB; over a session channel whose stdout
        # is read steadily (a backup) that re-key can stall until "Key-exchange timed out"
        # (paramiko issue #822, seen by bench/backup_stream.py). OpenSSH re-keys on its own
        # schedule (RekeyLimit), and paramiko follows a re-key the server starts correctly.
        transport.packetizer.REKEY_BYTES = transport.packetizer.REKEY_PACKETS = 2**62
        return client

    def _session(self) -> paramiko.Channel:
        with self._lock:
            transport = self._client.get_transport() if self._client else None
            if transport is None or not transport.is_active():
                if self._client:
                    self._client.close()
                self._client = self._connect()
                transport = self._client.get_transport()
            try:
                return transport.open_session(timeout=self.connect_timeout)
            except (OSError, EOFError, paramiko.SSHException) as error:
                self._client.close()
                self._client = None
                raise TransportUnavailable(f"{self.vps_name}: {error}") from error

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float = 300,
        on_line: Callable[[str], None] | None = None,
    ) -> CommandResult:
        out = bytearray()
        handed = 0  # how much of `out` went to on_line already

        def collect(chunk: bytes) -> None:
            nonlocal handed
            out.extend(chunk)
            end = out.rfind(b"\n") + 1
            if on_line and end > handed:
                for line in out[handed:end].decode(errors="replace").splitlines():
                    on_line(line)
                handed = end

        result = self.stream(argv, stdin=io.BytesIO(input) if input else None,
                             on_stdout=collect, timeout=timeout, stderr_kept=None)
        return CommandResult(result.exit_status, out.decode(errors="replace"), result.stderr)

    def stream(
        self,
        argv: Sequence[str],
        *,
        stdin: BinaryIO | None = None,
        on_stdout: Callable[[bytes], None] | None = None,
        timeout: float = 3600,
        stderr_kept: int | None = STDERR_KEPT,
    ) -> CommandResult:
        """`Transport.stream`, keeping the last `stderr_kept` bytes of stderr (`run`: all)."""
        channel = self._session()
        try:
            channel.exec_command(shlex.join(argv))
            err = _pump(channel, stdin, on_stdout, timeout, stderr_kept)
            return CommandResult(channel.recv_exit_status(), "", err)
        except (OSError, EOFError, paramiko.SSHException) as error:
            self.close()
            raise TransportUnavailable(f"{self.vps_name}: connection lost: {error}") from error
        finally:
            channel.close()  # when on_stdout raised, this stops the remote command

    def close(self) -> None:
        with self._lock:
            if self._client:
                self._client.close()
                self._client = None




def _feed(channel: paramiko.Channel, stdin: BinaryIO, failures: list) -> None:
    """Send `stdin` to the command (blocking on the channel's window), then end its input."""
    try:
        while chunk := stdin.read(STREAM_CHUNK):
            channel.sendall(chunk)
        channel.shutdown_write()
    except Exception as error:  # reported by the reading side, which owns the outcome
        failures.append(error)
        channel.close()  # the command would wait for the rest of its input forever


def _pump(channel: paramiko.Channel, stdin: BinaryIO | None, on_stdout, timeout: float,
          stderr_kept: int | None) -> str:
    """Feed `stdin` to the command from a thread of its own and hand its stdout chunks to
    `on_stdout` until it exits (neither stream can block the other); the last `stderr_kept`
    bytes of stderr are kept (all with None)."""
    err = bytearray()
    deadline = time.monotonic() + timeout
    failures: list = []
    feeder = None
    if stdin is None:
        channel.shutdown_write()
    else:
        feeder = threading.Thread(target=_feed, args=(channel, stdin, failures), daemon=True)
        feeder.start()
    while True:
        while channel.recv_ready():
            chunk = channel.recv(STREAM_CHUNK)
            if on_stdout and chunk:
                on_stdout(chunk)
        while channel.recv_stderr_ready():
            err += channel.recv_stderr(65536)
            if stderr_kept is not None:
                del err[:-stderr_kept]
        if channel.exit_status_ready() and not channel.recv_ready() \
                and not channel.recv_stderr_ready():
            break
        if channel.closed and not channel.recv_ready():
            if not channel.exit_status_ready():
                if failures:  # the source failed and closed the channel: say why
                    raise failures[0]
                raise EOFError("channel closed before the command finished")
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"command still running after {timeout} s")
        select.select([channel], [], [], min(remaining, 1.0))
    if feeder is not None:
        feeder.join(timeout=5)
    if failures and not isinstance(failures[0], OSError | EOFError | paramiko.SSHException):
        raise failures[0]  # reading the source failed (storage), not the connection
    return err.decode(errors="replace")


@hookimpl
def chom_register_transports():
    return {"ssh": SshTransport}
