"""The database's circuit breaker: new connections go through it.

PostgreSQL down means every request would wait for its own connection attempt to fail. After
`CHOM_BREAKER_DB_FAIL_MAX` (5) failed attempts in a row the circuit opens, and for
`CHOM_BREAKER_DB_RESET_SECONDS` (60) requests fail at once with `DatabaseCircuitOpen` (answered
503 like any database outage) without connecting; then one attempt is let through. Connections
already in the pool are checked before use (`pool_pre_ping`), so a restarted database costs a
reconnect, and only reconnects pass here.
"""

from __future__ import annotations

from datetime import datetime

import pybreaker
from sqlalchemy import event
from sqlalchemy.engine import Engine

from chom.reliability.breakers import Breaker


class DatabaseCircuitOpen(RuntimeError):
    """The database's circuit is open: no connection was attempted."""

    def __init__(self, until: datetime | None) -> None:
        when = until.strftime("%H:%M:%S UTC") if until else "its reset timeout"
        super().__init__(f"the database's circuit breaker is open until {when}")


def guard_connections(engine: Engine, breaker: Breaker) -> None:
    """Make every new connection of `engine` through `breaker`."""

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, connection_record, cargs, cparams):
        try:
            return breaker.call(dialect.connect, *cargs, **cparams)
        except pybreaker.CircuitBreakerError:
            raise DatabaseCircuitOpen(breaker.open_until) from None
