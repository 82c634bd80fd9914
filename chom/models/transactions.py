"""On PostgreSQL a transaction begins at its first statement that may write.

psycopg begins a transaction before the first statement run on a connection (a BEGIN, one round
trip) and SQLAlchemy ends it with COMMIT or ROLLBACK (another): two of the round trips of a
request that only reads. A ROLLBACK also makes psycopg forget every statement it had prepared,
so a query that ran on every request was planned again on every request.

Here connections rest in psycopg's autocommit mode. A statement that only reads (a SELECT that
locks nothing) runs as it comes; the first other one (INSERT, UPDATE, DELETE, a `WITH`, a
SAVEPOINT, a SELECT ... FOR UPDATE) turns autocommit off just before it runs, so psycopg begins
the transaction there, and SQLAlchemy's commit or rollback ends it as always. A connection goes
back to autocommit when it is returned to the pool. A request that only read never began a
transaction, so it sends neither BEGIN nor COMMIT, and its prepared statements stay.

Under READ COMMITTED, PostgreSQL's default and CHOM's, every statement reads a snapshot of its
own inside a transaction too, so a read that ran before the BEGIN saw what it would have seen
inside it. What this relies on, all true of CHOM: no transaction asks for another isolation
level, no SELECT writes or takes a lock through a function (`set_config`, `setval`,
`pg_advisory_xact_lock`), and nothing writes through a raw DBAPI cursor (SQLAlchemy's events
do not see it). A statement run with `stream_results` (a server-side cursor, which needs a
transaction) begins one as a write does.
"""

from __future__ import annotations

import functools
import re

from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Engine

_LOCKING = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b", re.IGNORECASE)


@functools.lru_cache(maxsize=2048)
def only_reads(statement: str) -> bool:
    """True for a SELECT that locks no row; anything else may write (or needs a transaction)."""
    return statement.lstrip()[:6].upper() == "SELECT" and not _LOCKING.search(statement)


def begin_at_first_write(engine: Engine) -> None:
    """On a psycopg (PostgreSQL) engine, run reads in autocommit and begin each transaction at
    its first statement that may write. Other engines are left alone."""
    if engine.dialect.driver != "psycopg":
        return

    @event.listens_for(engine, "before_cursor_execute")
    def _begin_before_a_write(conn, cursor, statement, parameters, context, executemany):
        dbapi_connection = conn.connection.dbapi_connection
        if not dbapi_connection.autocommit:
            return  # a transaction is open already (or a connection made before this ran)
        options = context.execution_options if context is not None else {}
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # asked for by the caller: every statement on its own
        if only_reads(statement) and not options.get("stream_results"):
            return
        if dbapi_connection.info.transaction_status == TransactionStatus.IDLE:
            dbapi_connection.autocommit = False  # psycopg sends BEGIN before this statement

    # New connections (after SQLAlchemy's own first-connect set-up) and returned ones, which
    # were committed or rolled back; one that is closed or broken is left for the pool to discard.
    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _rest_in_autocommit(dbapi_connection, connection_record):
        if dbapi_connection is None or dbapi_connection.closed or dbapi_connection.autocommit:
            return
        if dbapi_connection.info.transaction_status == TransactionStatus.IDLE:
            dbapi_connection.autocommit = True
