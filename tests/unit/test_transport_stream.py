"""`Transport.stream` on the local transport: bytes both ways, never whole, and a failing
reader or source stops the command (the SSH transport's is exercised on the fleet)."""

from __future__ import annotations

import hashlib
import io
from types import SimpleNamespace

import pytest

from chom.integration.transports.local import LocalTransport


class Boom(RuntimeError):
    pass


@pytest.fixture
def transport(tmp_path):
    return LocalTransport(vps=SimpleNamespace(settings={"root": str(tmp_path)}), config={})


def test_stdout_arrives_in_chunks_and_stdin_is_fed(transport):
    data = bytes(range(256)) * 40_000  # 10 MB
    chunks = []
    result = transport.stream(["cat"], stdin=io.BytesIO(data), on_stdout=chunks.append)
    assert result.exit_status == 0 and result.stdout == ""
    assert len(chunks) > 1 and max(map(len, chunks)) <= 256 * 1024
    assert hashlib.sha256(b"".join(chunks)).digest() == hashlib.sha256(data).digest()


def test_stderr_and_exit_status_are_reported(transport):
    result = transport.stream(["sh", "-c", "echo oops >&2; exit 3"])
    assert (result.exit_status, result.stderr.strip()) == (3, "oops")


def test_a_reader_that_fails_stops_an_endless_command(transport):
    seen = []

    def reader(chunk):
        seen.append(len(chunk))
        if sum(seen) > 1_000_000:
            raise Boom("storage refused")

    with pytest.raises(Boom):
        transport.stream(["yes"], on_stdout=reader)  # never ends by itself


def test_a_source_that_fails_stops_the_command(transport):
    class Failing(io.RawIOBase):
        sent = 0

        def read(self, size=-1):
            self.sent += 1
            if self.sent > 3:
                raise Boom("the object vanished")
            return b"x" * 65536

    with pytest.raises(Boom):
        transport.stream(["cat"], stdin=Failing(), on_stdout=lambda chunk: None)
