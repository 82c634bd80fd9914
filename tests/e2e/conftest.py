"""End-to-end tests run against the real test fleet (tests/fleet), through the public API and
a real `flask chom worker` process."""

import pytest

from tests.e2e.helpers import add_fleet_host
from tests.fleet import plugin as _fleet_plugin
from tests.workers import RqWorkers


def pytest_configure(config):
    if not config.pluginmanager.is_registered(_fleet_plugin):
        config.pluginmanager.register(_fleet_plugin, "tests.fleet.plugin")


@pytest.fixture(scope="module")
def rq_workers(app, tmp_path_factory):
    """An app in rq mode and one worker process, for a module's tests."""
    # Short retry intervals: a VPS that is down fails its operation within seconds.
    with RqWorkers(tmp_path_factory.mktemp("rq"), CHOM_JOB_RETRY_INTERVALS=[1, 1]).running() \
            as workers:
        yield workers


@pytest.fixture
def register(rq_workers, clean_app):
    """`register("Acme")` → an owner whose API calls reach the rq-mode app (jobs run in the
    worker process). Tables are emptied first, as for every test."""
    return rq_workers.account


@pytest.fixture
def fleet_vps(clean_app, fleet):
    """Both fleet hosts in CHOM's fleet, reached over SSH with their pinned host keys."""
    for host in fleet.hosts:
        add_fleet_host(clean_app, host)
    return fleet.hosts
