"""Transactions that only read end with COMMIT, so psycopg keeps its prepared statements.

psycopg prepares a statement once it has run five times on a connection, which spares
PostgreSQL planning it again (the token look-up of every API request plans in about 0.5 ms). But
psycopg forgets every prepared statement on `rollback()`, and every request's session ends with
one, so nothing stayed prepared from one request to the next.

For a transaction that ran nothing but SELECTs, COMMIT and ROLLBACK end it alike: there is
nothing to keep or undo, and the locks go either way. So when SQLAlchemy is about to roll back
such a transaction, the connection commits it first and SQLAlchemy's rollback finds nothing left
to end. Any other statement in the transaction (INSERT, UPDATE, DELETE, a SAVEPOINT, a CTE that
might write) leaves the rollback exactly as it was. Two things this relies on, both true of CHOM
today: no SELECT writes through a function (`set_config`, `setval`, ...), and nothing writes
through a raw DBAPI cursor, which SQLAlchemy's events do not see.
"""

from __future__ import annotations

import contextlib

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

_WROTE = "chom_transaction_may_write"


def end_reads_with_commit(engine: Engine) -> None:
    """On a psycopg (PostgreSQL) engine, end read-only transactions with COMMIT instead of
    ROLLBACK. Other engines are left alone: only psycopg drops its statements on a rollback."""
    if engine.dialect.driver != "psycopg":
        return

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.info[_WROTE] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _note_writes(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip()[:6].upper() != "SELECT":
            conn.info[_WROTE] = True

    @event.listens_for(engine, "rollback")
    def _commit_if_read_only(conn: Connection) -> None:
        if conn.info.get(_WROTE, True):
            return
        dbapi_connection = conn.connection.dbapi_connection
        # INTRANS only: a failed transaction (INERROR) is rolled back as usual.
        if dbapi_connection is None \
                or dbapi_connection.info.transaction_status != TransactionStatus.INTRANS:
            return
        # A lost connection fails the commit; the rollback that follows then reports it.
        with contextlib.suppress(psycopg.Error):
            dbapi_connection.commit()

