"""Tracing off by default (nothing installed), on only through the OTEL_* variables, and a
collector too slow to keep up costs spans (counted), never requests."""

from __future__ import annotations

import threading

import pytest
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

from chom import create_app, tracing
from tests.conftest import base_config


def _exporter_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("OtelBatch")]


@pytest.fixture
def no_tracing(monkeypatch):
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"):
        monkeypatch.delenv(name, raising=False)
    tracing.shutdown()
    yield
    tracing.shutdown()


def test_off_when_no_endpoint_is_set(app, no_tracing, tmp_path, register):
    traced_app = create_app(base_config(tmp_path))
    assert tracing.provider() is None
    assert _exporter_threads() == []
    assert not RedisInstrumentor().is_instrumented_by_opentelemetry
    assert not SQLAlchemyInstrumentor().is_instrumented_by_opentelemetry
    assert not getattr(traced_app, "_is_instrumented_by_opentelemetry", False)
    assert tracing.inject() == {}
    assert not tracing.tracer().start_span("nothing").is_recording()
    # ...and the app answers as ever, with nothing traced.
    account = register("Dark Co")
    assert account.get("/api/v1/sites").status_code == 200


def test_on_from_the_variables_only_and_set_up_once(no_tracing, monkeypatch, collector,
                                                    tmp_path):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "chom-web-eu")
    first = create_app(base_config(tmp_path / "a"))
    provider = tracing.provider()
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "chom-web-eu"
    create_app(base_config(tmp_path / "b"))
    assert tracing.provider() is provider  # same variables: the same provider
    assert len(_exporter_threads()) == 1
    assert first._is_instrumented_by_opentelemetry
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    tracing.configure()
    assert tracing.provider() is not provider  # changed variables: built again
    assert not tracing.tracer().start_span("unsampled").is_recording()
    assert len(_exporter_threads()) == 1


def _queue_full_drops() -> float:
    return sum(sample.value for metric in tracing.DROPPED.collect() for sample in metric.samples
               if sample.name.endswith("_total") and sample.labels["reason"] == "queue_full")


def test_a_stalled_collector_drops_spans_not_requests(clean_app, no_tracing, monkeypatch,
                                                      collector, tmp_path):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "8")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "5")
    traced_app = create_app(base_config(tmp_path))
    client = traced_app.test_client()
    before = _queue_full_drops()
    collector.stall()
    try:
        for _ in range(20):
            assert client.get("/api/v1/health").status_code in (200, 503)
    finally:
        collector.resume()
    assert _queue_full_drops() > before
