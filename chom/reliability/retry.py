"""Retries for transient failures only: exponential backoff with full jitter (tenacity).

A call is tried again only when it raised `BackendUnavailable` (no connection, a timeout, a
5xx) and not when its breaker is open (trying again at once cannot help, and the breaker is the
one deciding when to try). Each wait is drawn uniformly between 0 and `base * 2**attempt`
capped at `cap` ("full jitter"), so clients that failed together do not retry together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import tenacity

from chom.plugin_api import BackendUnavailable
from chom.reliability.breakers import BackendCircuitOpen

T = TypeVar("T")


def _transient(error: BaseException) -> bool:
    return isinstance(error, BackendUnavailable) and not isinstance(error, BackendCircuitOpen)


def with_retries(call: Callable[[], T], *, attempts: int = 3, base: float = 0.2,
                 cap: float = 2.0) -> T:
    """`call()`, tried up to `attempts` times while it fails transiently; the last error is
    raised as itself."""
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(_transient),
        wait=tenacity.wait_random_exponential(multiplier=base, max=cap),
        stop=tenacity.stop_after_attempt(max(1, attempts)),
        reraise=True,
    )
    return retrying(call)
