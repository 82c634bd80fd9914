"""Retries (tenacity, full jitter) for transient backend failures only."""

from __future__ import annotations

import pytest

from chom.plugin_api import BackendError, BackendUnavailable
from chom.reliability.breakers import BackendCircuitOpen
from chom.reliability.retry import with_retries


class Failing:
    """Fails with `error` the first `times` calls, then answers "ok"."""

    def __init__(self, error: Exception, times: int) -> None:
        self.error, self.times, self.calls = error, times, 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.times:
            raise self.error
        return "ok"


def test_a_transient_failure_is_retried_until_it_passes():
    call = Failing(BackendUnavailable("prometheus did not answer"), times=2)
    assert with_retries(call, attempts=3, base=0.001) == "ok"
    assert call.calls == 3


def test_retries_stop_after_the_attempts_and_raise_the_error_itself():
    call = Failing(BackendUnavailable("down"), times=10)
    with pytest.raises(BackendUnavailable, match="down"):
        with_retries(call, attempts=3, base=0.001)
    assert call.calls == 3


@pytest.mark.parametrize("error", [BackendError("bad query (400)"),
                                   BackendCircuitOpen("prometheus", None)])
def test_permanent_failures_and_an_open_breaker_are_not_retried(error):
    call = Failing(error, times=10)
    with pytest.raises(type(error)):
        with_retries(call, attempts=5, base=0.001)
    assert call.calls == 1
