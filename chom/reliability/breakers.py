"""Circuit breakers (pybreaker): one per VPS and one per observability backend, shared across
processes through Redis.

A VPS that does not answer is given `CHOM_BREAKER_VPS_FAIL_MAX` attempts in a row (default 3);
then its circuit opens and every remote invocation fails at once with `CircuitOpen` (no
connection attempt) until `CHOM_BREAKER_VPS_RESET_SECONDS` (default 60) have passed, when one
call is let through (half-open): success closes the circuit, failure opens it again.

Only `TransportUnavailable` counts as a failure: a step failing on the VPS (a normal result of
the invocation) or a host key that changed (`HostKeyMismatch`) says nothing about whether the
VPS is reachable. In rq mode the state lives in Redis (`CircuitRedisStorage`, one key namespace
per VPS id), so every worker and web process sees the same circuit; in thread mode it is kept in
this process (`CircuitMemoryStorage`). The integration layer calls `guarded()`; nothing here
imports it.

Each observability backend (Prometheus, Grafana, Loki, Alertmanager, or a plugin's) has a breaker
named after it, built the same way: `CHOM_BREAKER_BACKEND_FAIL_MAX` (3) failures open it for
`CHOM_BREAKER_BACKEND_RESET_SECONDS` (30); only `BackendUnavailable` counts (a rejected query
says nothing about whether the service is up); its state is under `chom:breaker:backend:<name>`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

import pybreaker
from flask import current_app

from chom.plugin_api import BackendUnavailable, TransportUnavailable

T = TypeVar("T")

# The value of `chom_circuit_breaker_state`.
STATE_VALUES = {pybreaker.STATE_CLOSED: 0, pybreaker.STATE_HALF_OPEN: 1, pybreaker.STATE_OPEN: 2}

_lock = threading.Lock()


class CircuitOpen(TransportUnavailable):
    """The VPS's circuit is open: the call was not attempted. A `TransportUnavailable`, so the
    executor turns it into a `TransportError` and the job's retry waits it out."""

    def __init__(self, name: str, until: datetime | None) -> None:
        when = until.strftime("%Y-%m-%d %H:%M:%S UTC") if until else "its reset timeout"
        super().__init__(f"the circuit breaker of VPS {name} is open until {when} "
                         "(too many connection failures); not connecting")
        self.until = until


class BackendCircuitOpen(BackendUnavailable):
    """The backend's circuit is open: the call was not attempted."""

    def __init__(self, name: str, until: datetime | None) -> None:
        when = until.strftime("%Y-%m-%d %H:%M:%S UTC") if until else "its reset timeout"
        super().__init__(f"the circuit breaker of {name} is open until {when}; not calling it")
        self.until = until


def _not_a_connection_failure(error: BaseException) -> bool:
    return not isinstance(error, TransportUnavailable)


def _not_unavailable(error: BaseException) -> bool:
    return not isinstance(error, BackendUnavailable)


class Breaker(pybreaker.CircuitBreaker):
    """A pybreaker breaker that can say until when it stays open."""

    @property
    def open_until(self) -> datetime | None:
        opened_at = self._state_storage.opened_at
        if opened_at is None:
            return None
        return opened_at + timedelta(seconds=self.reset_timeout)


VpsBreaker = Breaker  # the name the VPS code and its tests know


def _breaker(namespace: str, name: str, *, fail_max: int, reset_timeout: float, redis,
             exclude) -> Breaker:
    """A breaker whose state is in Redis under `namespace` when `redis` is given (every breaker
    made for that namespace shares it), else in this object's memory."""
    if redis is not None:
        storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, redis,
                                                namespace=namespace)
    else:
        storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
    return Breaker(fail_max=fail_max, reset_timeout=reset_timeout, state_storage=storage,
                   exclude=[exclude], name=name, throw_new_error_on_trip=False)


def make_breaker(vps_id, name: str, *, fail_max: int = 3, reset_timeout: float = 60,
                 redis=None) -> Breaker:
    """A breaker for one VPS (state under `chom:breaker:vps:<id>` in Redis when given)."""
    return _breaker(f"chom:breaker:vps:{vps_id}", f"vps:{name}", fail_max=fail_max,
                    reset_timeout=reset_timeout, redis=redis, exclude=_not_a_connection_failure)


def make_backend_breaker(service: str, *, fail_max: int = 3, reset_timeout: float = 30,
                         redis=None) -> Breaker:
    """A breaker for one observability backend (state under `chom:breaker:backend:<name>`)."""
    return _breaker(f"chom:breaker:backend:{service}", service, fail_max=fail_max,
                    reset_timeout=reset_timeout, redis=redis, exclude=_not_unavailable)


def _never(error: BaseException) -> bool:
    return False


def make_database_breaker(deployment: str, *, fail_max: int = 5, reset_timeout: float = 60,
                          redis=None) -> Breaker:
    """The breaker on new database connections (state under `chom:breaker:database:<queue>`:
    one per deployment sharing a Redis). Every failed connection attempt counts."""
    return _breaker(f"chom:breaker:database:{deployment}", "database", fail_max=fail_max,
                    reset_timeout=reset_timeout, redis=redis, exclude=_never)


def shared_redis(app):
    """The Redis connection every process of this deployment shares (rq mode), else None: in
    the embedded default there is one process, and its memory is shared enough."""
    queue = app.extensions.get("chom_queue")
    return queue.connection if getattr(queue, "mode", None) == "rq" else None


def _registered(key: str, make: Callable[[object], Breaker]) -> Breaker:
    app = current_app._get_current_object()
    with _lock:
        registry: dict[str, Breaker] = app.extensions.setdefault("chom_breakers", {})
        breaker = registry.get(key)
        if breaker is None:
            breaker = registry[key] = make(app)
        return breaker


def breaker_for(vps) -> Breaker:
    """This app's breaker for `vps` (anything with `id` and `name`), made on first use."""
    return _registered(str(vps.id), lambda app: make_breaker(
        vps.id, vps.name, redis=shared_redis(app),
        fail_max=int(app.config.get("CHOM_BREAKER_VPS_FAIL_MAX", 3)),
        reset_timeout=float(app.config.get("CHOM_BREAKER_VPS_RESET_SECONDS", 60)),
    ))


def backend_breaker(service: str) -> Breaker:
    """This app's breaker for the observability backend named `service`."""
    return _registered(f"backend:{service}", lambda app: make_backend_breaker(
        service, redis=shared_redis(app),
        fail_max=int(app.config.get("CHOM_BREAKER_BACKEND_FAIL_MAX", 3)),
        reset_timeout=float(app.config.get("CHOM_BREAKER_BACKEND_RESET_SECONDS", 30)),
    ))


def database_breaker(app) -> Breaker:
    """`app`'s breaker on database connections, made on first use."""
    with _lock:
        registry: dict[str, Breaker] = app.extensions.setdefault("chom_breakers", {})
        if "database" not in registry:
            registry["database"] = make_database_breaker(
                app.config["CHOM_QUEUE_NAME"], redis=shared_redis(app),
                fail_max=int(app.config.get("CHOM_BREAKER_DB_FAIL_MAX", 5)),
                reset_timeout=float(app.config.get("CHOM_BREAKER_DB_RESET_SECONDS", 60)))
        return registry["database"]


def guarded_backend(service: str, call: Callable[[], T]) -> T:
    """`call()` through the backend's breaker; `BackendCircuitOpen` at once while it is open."""
    breaker = backend_breaker(service)
    try:
        return breaker.call(call)
    except pybreaker.CircuitBreakerError:
        raise BackendCircuitOpen(service, breaker.open_until) from None


def guarded_by(breaker: Breaker, name: str, call: Callable[[], T]) -> T:
    """`call()` through `breaker`; `CircuitOpen` at once (without calling) while it is open."""
    try:
        return breaker.call(call)
    except pybreaker.CircuitBreakerError:
        raise CircuitOpen(name, breaker.open_until) from None


def guarded(vps, call: Callable[[], T]) -> T:
    """`call()` (one remote invocation on `vps`) through the VPS's circuit breaker."""
    return guarded_by(breaker_for(vps), vps.name, call)


def state_value(breaker: pybreaker.CircuitBreaker) -> int:
    """0 closed, 1 half-open, 2 open, as stored (shared in Redis in rq mode)."""
    return STATE_VALUES.get(breaker.current_state, 0)


def state_name(breaker: pybreaker.CircuitBreaker) -> str:
    """"closed", "half-open" or "open", as stored."""
    return {0: "closed", 1: "half-open", 2: "open"}[state_value(breaker)]
