"""Per-VPS circuit breakers: what counts as a failure, open, fail fast, half-open, close; and
their state shared through a real Redis."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from chom.integration.executor import PlanFailed, TransportError, run_program
from chom.plugin_api import CommandResult, HostKeyMismatch, TransportUnavailable
from chom.reliability.breakers import CircuitOpen, guarded_by, make_breaker, state_value
from tests.conftest import TEST_REDIS_URL


class Unreachable:
    """The breaker's input: a remote call that never reaches its VPS, counting its attempts."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error or TransportUnavailable("vps-1 (10.0.0.1:22): connection refused")
        self.calls = 0

    def __call__(self):
        self.calls += 1
        raise self.error


def _fail(breaker, call, times: int) -> None:
    for _ in range(times):
        with pytest.raises(TransportUnavailable) as raised:
            guarded_by(breaker, "vps-1", call)
        assert not isinstance(raised.value, CircuitOpen)  # the real error, not the breaker's


def test_opens_after_three_failures_then_fails_fast():
    breaker, call = make_breaker("1", "vps-1", fail_max=3, reset_timeout=60), Unreachable()
    _fail(breaker, call, 2)
    assert state_value(breaker) == 0
    _fail(breaker, call, 1)  # the third failure opens it, raising the connection error itself
    assert state_value(breaker) == 2 and call.calls == 3

    with pytest.raises(CircuitOpen) as raised:
        guarded_by(breaker, "vps-1", call)
    assert call.calls == 3  # not attempted
    assert "circuit breaker of VPS vps-1 is open until" in str(raised.value)
    assert raised.value.until is not None


def test_half_opens_after_the_timeout_and_closes_on_success():
    breaker, call = make_breaker("1", "vps-1", fail_max=3, reset_timeout=0.3), Unreachable()
    _fail(breaker, call, 3)
    with pytest.raises(CircuitOpen):
        guarded_by(breaker, "vps-1", call)
    time.sleep(0.4)
    # Half-open: one call goes through; its failure opens the circuit again at once.
    _fail(breaker, call, 1)
    assert call.calls == 4 and state_value(breaker) == 2
    time.sleep(0.4)
    assert guarded_by(breaker, "vps-1", lambda: "answered") == "answered"
    assert state_value(breaker) == 0 and breaker.fail_counter == 0


@pytest.mark.parametrize("error", [
    PlanFailed(2, "step 2 failed: nginx -t"),
    HostKeyMismatch("vps-1 presented a different host key"),
    ValueError("a bug"),
])
def test_only_connection_failures_count(error):
    breaker, call = make_breaker("1", "vps-1", fail_max=3, reset_timeout=60), Unreachable(error)
    for _ in range(5):
        with pytest.raises(type(error)):
            guarded_by(breaker, "vps-1", call)
    assert state_value(breaker) == 0 and call.calls == 5


def test_a_success_resets_the_count():
    breaker, call = make_breaker("1", "vps-1", fail_max=3, reset_timeout=60), Unreachable()
    _fail(breaker, call, 2)
    guarded_by(breaker, "vps-1", lambda: None)
    _fail(breaker, call, 2)
    assert state_value(breaker) == 0


def test_an_open_circuit_is_a_transport_error_for_the_executor():
    """`run_program` turns it into the `TransportError` the job retries."""
    breaker, call = make_breaker("1", "vps-1", fail_max=1, reset_timeout=60), Unreachable()
    _fail(breaker, call, 1)

    class Guarded:
        def run(self, argv, **options) -> CommandResult:
            return guarded_by(breaker, "vps-1", call)

    with pytest.raises(TransportError, match="circuit breaker of VPS vps-1 is open until"):
        run_program(Guarded(), "true", lambda line: None, timeout=5)
    assert call.calls == 1


@pytest.fixture
def shared_redis():
    connection = redis.Redis.from_url(TEST_REDIS_URL)
    vps_id = f"test-{uuid.uuid4()}"
    yield connection, vps_id
    for key in connection.scan_iter(f"chom:breaker:vps:{vps_id}:*"):
        connection.delete(key)


def test_state_is_shared_through_redis(shared_redis):
    """Two breakers for one VPS, each with a storage of its own (as two worker processes have),
    see one circuit: one opens it, the other fails fast, and half-opens and closes it."""
    connection, vps_id = shared_redis
    first = make_breaker(vps_id, "vps-1", fail_max=3, reset_timeout=1, redis=connection)
    second = make_breaker(vps_id, "vps-1", fail_max=3, reset_timeout=1,
                          redis=redis.Redis.from_url(TEST_REDIS_URL))
    call = Unreachable()
    _fail(first, call, 2)
    _fail(second, call, 1)  # the failures add up across the two
    assert state_value(first) == state_value(second) == 2
    assert connection.get(f"chom:breaker:vps:{vps_id}:pybreaker:state") == b"open"

    with pytest.raises(CircuitOpen):
        guarded_by(second, "vps-1", call)
    assert call.calls == 3

    other_id = f"test-{uuid.uuid4()}"
    other = make_breaker(other_id, "vps-2", redis=connection)  # a VPS of its own: closed
    assert state_value(other) == 0
    for key in connection.scan_iter(f"chom:breaker:vps:{other_id}:*"):
        connection.delete(key)

    time.sleep(2.1)  # opened_at is kept in whole seconds in Redis
    assert guarded_by(second, "vps-1", lambda: "answered") == "answered"
    assert state_value(first) == state_value(second) == 0
