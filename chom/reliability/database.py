"""The database's circuit breaker: new connections go through it.

PostgreSQL down means every request would wait for its own connection attempt to fail. After
`CHOM_BREAKER_DB_FAIL_MAX` (5) failed attempts in a row the circuit opens, and for
`CHOM_BREAKER_DB_RESET_SECONDS` (60) requests fail at once with `DatabaseCircuitOpen` (answered
503 like any database outage) without connecting; then one attempt is let through. Connections
already in the pool are checked before use (`check_on_checkout`), so a restarted database costs a
reconnect, and only reconnects pass here.
"""

from __future__ import annotations

import select
from datetime import datetime

import pybreaker
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

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


def _always(dbapi_connection) -> bool:
    return True


def _server_spoke(dbapi_connection) -> bool:
    """A psycopg connection resting in the pool has nothing to read; input waiting on its
    socket means the server spoke since it was last used, most often to end it (a restart,
    an idle timeout, `pg_terminate_backend`). No round trip, no system call but a poll."""
    if dbapi_connection.closed:
        return True
    readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    return bool(readable)


def check_on_checkout(engine: Engine) -> None:
    """Check each connection taken from `engine`'s pool, replacing a dead one before it is
    used, so a restarted database costs no failed request (SQLAlchemy's `pool_pre_ping`, made
    cheaper). On psycopg the `SELECT` round trip is only made when the socket has input
    waiting (`_server_spoke`): a request no longer pays a round trip to learn that a connection
    it returned a moment ago is still there. Other drivers are pinged on every checkout."""
    dialect = engine.dialect
    worth_a_ping = _server_spoke if dialect.driver == "psycopg" else _always

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection, connection_record, connection_proxy):
        if not worth_a_ping(dbapi_connection):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # The pool discards this connection and checks out a new one.
                raise DisconnectionError(str(error)) from error
            raise
