"""One transport per VPS per process, reused across steps and jobs (connection pooling)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from flask import current_app
from opentelemetry.trace import SpanKind

from chom import tracing
from chom.reliability.breakers import guarded

_lock = threading.Lock()
_open: dict[tuple, object] = {}


def vps_view(vps) -> SimpleNamespace:
    """What a transport may know of a VPS row, detached from the database session; its own
    private key (stored encrypted) is decrypted here, for the transport only."""
    private_key = None
    if vps.ssh_private_key_encrypted:
        private_key = current_app.extensions["chom_secrets"].decrypt(vps.ssh_private_key_encrypted)
    return SimpleNamespace(
        id=str(vps.id), name=vps.name, host=vps.host, port=vps.port, ssh_user=vps.ssh_user,
        host_key=vps.host_key, settings=dict(vps.settings or {}), private_key_pem=private_key,
    )


class PooledTransport:
    """A VPS's pooled transport. Each remote invocation is one span (`vps.run`: the VPS, the
    program's name and exit status, never its argv, input or output); an SSH VPS's invocations
    go through the VPS's circuit breaker."""

    def __init__(self, transport, vps, *, guard: bool) -> None:
        self.transport, self.guard = transport, guard
        self.vps = SimpleNamespace(id=str(vps.id), name=vps.name)
        self._attributes = {"chom.vps.id": str(vps.id), "chom.vps.name": vps.name,
                            "chom.transport": vps.transport}

    def run(self, argv, **options):
        with tracing.span(f"vps.run {argv[0]}", kind=SpanKind.CLIENT, attributes={
            **self._attributes, **tracing.invocation_attributes(), "chom.program": argv[0],
        }) as span:
            started = time.perf_counter()
            if self.guard:
                result = guarded(self.vps, lambda: self.transport.run(argv, **options))
            else:
                result = self.transport.run(argv, **options)
            if span.is_recording():
                span.set_attributes({
                    "chom.exit_status": result.exit_status,
                    "chom.duration_ms": round((time.perf_counter() - started) * 1000, 3),
                })
            return result

    def stream(self, argv, **options):
        return guarded(self.vps, lambda: self.transport.stream(argv, **options))

    def __getattr__(self, name):
        return getattr(self.transport, name)


def transport_for(vps):
    """The pooled transport for `vps`; a changed VPS row (new key, new host) gets a new one.

    Each remote invocation is traced here (`PooledTransport`). An SSH VPS's transport is
    guarded by the VPS's circuit breaker (`chom.reliability`): every
    remote program (plans, batches, SSL, the stack probe) is one `run()` of the transport this
    returns, so this is the one seam they all pass; only the breaker's view of the VPS (id,
    name) is kept."""
    key = (vps.id, vps.host, vps.port, vps.ssh_user, vps.host_key, vps.transport,
           vps.ssh_private_key_encrypted, repr(sorted((vps.settings or {}).items())))
    with _lock:
        transport = _open.get(key)
        if transport is None:
            factory = current_app.extensions["chom_transports"][vps.transport]
            transport = PooledTransport(factory(vps=vps_view(vps), config=current_app.config),
                                        vps, guard=vps.transport == "ssh")
            _open[key] = transport
        return transport


def close_all() -> None:
    """Close every pooled connection of this process (a benchmark's or a worker's shutdown)."""
    with _lock:
        for transport in _open.values():
            transport.close()
        _open.clear()
