"""pytest plugin: the session-scoped `fleet` fixture (see tests/fleet/harness.py).

    def test_something(fleet):
        vps1, vps2 = fleet.hosts        # VpsHost: name, address, ssh_port, ssh_user, host_key,
        ...                             # client_key_path, state_dir, http_url, profile

The fleet starts on first use (CHOM_FLEET_SIZE hosts, default 2) and stops at the end of the
session, on failure or interruption too (and at exit as a last resort); a crashed run's
leftovers are removed by the next start. After each test, a host a test left down (stopped,
sshd killed or frozen) is brought back, so fault tests cannot break the tests that follow.

The session-scoped `pebble` fixture is the ACME test CA (tests/fleet/pebble.py): point a domain
at a fleet host with `pebble.add_a_record(domain, host.address)`, then issue against
`pebble.directory_url`, verifying its HTTPS with `pebble.ca_bundle`.

Tests elsewhere get the fixtures by registering this module once, in the top-level conftest:
`pytest_plugins = ["tests.fleet.plugin"]`.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading

import pytest

from tests.fleet import pebble as _pebble
from tests.fleet.harness import Fleet, FleetError, missing_binaries

_fleet: Fleet | None = None
_lock = threading.Lock()


def fleet_size() -> int:
    return int(os.environ.get("CHOM_FLEET_SIZE", "2"))


def _terminate(signum, frame):  # SIGTERM → a KeyboardInterrupt, so pytest runs teardown
    raise KeyboardInterrupt(f"signal {signum}")


def _shared_fleet() -> Fleet:
    """One fleet per process, however many times the fixture is registered."""
    global _fleet
    with _lock:
        if _fleet is None:
            fleet = Fleet(size=fleet_size())
            atexit.register(fleet.stop)
            if (threading.current_thread() is threading.main_thread()
                    and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
                signal.signal(signal.SIGTERM, _terminate)
            fleet.start()
            _fleet = fleet
        return _fleet


def _stop_shared_fleet() -> None:
    global _fleet
    with _lock:
        fleet, _fleet = _fleet, None
    if fleet is not None:
        fleet.stop()


@pytest.fixture(scope="session")
def fleet() -> Fleet:
    """The test fleet, started once per session. Needs root and scripts/ensure-fleet.sh."""
    if os.geteuid() != 0:
        pytest.fail("the test fleet needs root (network namespaces, daemons)", pytrace=False)
    missing = missing_binaries()
    if missing:
        pytest.fail(f"the test fleet needs {', '.join(missing)}: run scripts/ensure-fleet.sh",
                    pytrace=False)
    try:
        started = _shared_fleet()
    except FleetError as error:
        pytest.fail(f"the test fleet did not start: {error}", pytrace=False)
    try:
        yield started
    finally:
        _stop_shared_fleet()


@pytest.fixture(scope="session")
def pebble() -> _pebble.Pebble:
    """Pebble (ACME test CA) with its DNS server, started once per session."""
    missing = _pebble.missing_binaries()
    if missing:
        pytest.fail(f"pebble needs {', '.join(missing)}: run scripts/ensure-fleet.sh",
                    pytrace=False)
    try:
        started = _pebble.Pebble.start()
    except _pebble.PebbleError as error:
        pytest.fail(f"pebble did not start: {error}", pytrace=False)
    try:
        yield started
    finally:
        started.stop()


def pytest_runtest_teardown(item, nextitem):
    if _fleet is not None and "fleet" in getattr(item, "fixturenames", ()):
        _fleet.ensure_running()
