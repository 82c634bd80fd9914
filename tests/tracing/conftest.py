"""Tracing tests: the app and a real `flask chom worker` exporting OTLP/HTTP to the fake
collector (tests/fakes/otlp.py), the test fleet as the VPSs."""

import pytest

from chom import tracing
from tests.fakes.otlp import OtlpCollector
from tests.fleet import plugin as _fleet_plugin
from tests.workers import RqWorkers


def pytest_configure(config):
    if not config.pluginmanager.is_registered(_fleet_plugin):
        config.pluginmanager.register(_fleet_plugin, "tests.fleet.plugin")


@pytest.fixture(scope="session")
def collector():
    collector = OtlpCollector()
    yield collector
    collector.stop()


@pytest.fixture(scope="module")
def traced_env(collector):
    """Tracing on for this process and the workers it starts: the standard variables only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
        patch.setenv("OTEL_TRACES_SAMPLER", "always_on")
        patch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        # A collector that is down fails an export within a second (the default is 10 s).
        patch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1")
        patch.delenv("OTEL_SERVICE_NAME", raising=False)
        yield
        tracing.shutdown()
    tracing.shutdown()


@pytest.fixture(scope="module")
def traced_workers(app, traced_env, tmp_path_factory):
    """An rq-mode app (traced) and one traced worker process; the worker's metrics go to a
    multiprocess directory, as a deployment's do, so its drop counter can be read."""
    metrics_dir = tmp_path_factory.mktemp("worker-metrics")
    workers = RqWorkers(tmp_path_factory.mktemp("rq"), CHOM_JOB_RETRY_INTERVALS=[1, 1],
                        extra_env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
    workers.metrics_dir = metrics_dir
    with workers.running():
        yield workers


@pytest.fixture
def register_traced(traced_workers, clean_app):
    return traced_workers.account
