"""Failures that mean a dependency is down — answered 503 "try again", never 500.

PostgreSQL restarting or Redis unreachable is not a bug in CHOM: the request could not be
served now and can be retried. Connections are checked before use (`check_on_checkout`), so once
the dependency is back the next request succeeds without restarting the app.
"""

from __future__ import annotations

import redis
from sqlalchemy import exc as sa_exc

from chom.reliability.database import DatabaseCircuitOpen

RETRY_AFTER_SECONDS = 5


def unavailable_dependency(error: BaseException) -> str | None:
    """`"database"` or `"redis"` when `error` says that dependency is unreachable, else None."""
    if isinstance(error, sa_exc.DBAPIError) and (
            error.connection_invalidated or isinstance(error, sa_exc.OperationalError)):
        return "database"
    if isinstance(error, (sa_exc.TimeoutError, sa_exc.PendingRollbackError,
                          DatabaseCircuitOpen)):
        return "database"
    if isinstance(error, (redis.ConnectionError, redis.TimeoutError)):
        return "redis"
    return None
