"""The SDK side of `chom.tracing`, imported only when tracing is on: provider, exporter, processor,
and the library instrumentations (SQLAlchemy, Redis, requests; Flask is per app)."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from sqlalchemy.engine import Engine

LIBRARIES = (SQLAlchemyInstrumentor, RedisInstrumentor, RequestsInstrumentor)
# CHOM's metrics are Prometheus'; the instrumentations' own OpenTelemetry metrics would only be
# recorded into nothing, a cost on every request and query.
NO_METRICS = NoOpMeterProvider()


class CountingExporter(SpanExporter):
    """The OTLP exporter, counting the spans of every export that did not succeed."""

    def __init__(self, exporter: SpanExporter, dropped) -> None:
        self.exporter, self.dropped = exporter, dropped

    def export(self, spans: Sequence) -> SpanExportResult:
        try:
            result = self.exporter.export(spans)
        except Exception:
            self.dropped.labels("export_failed").inc(len(spans))
            raise
        if result is not SpanExportResult.SUCCESS:
            self.dropped.labels("export_failed").inc(len(spans))
        return result

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """The SDK's batch processor (bounded queue, its own export thread); a span arriving while
    the queue is full pushes the oldest out (the SDK only logs that), and is counted here."""

    def __init__(self, exporter: SpanExporter, dropped) -> None:
        super().__init__(CountingExporter(exporter, dropped))
        self.dropped = dropped
        # The SDK keeps its queue and bound on its internal batch processor; without them (a
        # future SDK) the full-queue case goes uncounted rather than failing.
        self._queue = getattr(self._batch_processor, "_queue", None)

    def on_end(self, span) -> None:
        queue = self._queue
        if queue is not None and span.context.trace_flags.sampled \
                and len(queue) == queue.maxlen:
            self.dropped.labels("queue_full").inc()
        super().on_end(span)


def build_provider(service_name: str, dropped) -> TracerProvider:
    """A provider (sampler from `OTEL_TRACES_SAMPLER`/`_ARG`) exporting OTLP/HTTP to
    `OTEL_EXPORTER_OTLP_ENDPOINT` through a counting batch processor (`OTEL_BSP_*`)."""
    resource = Resource.create({SERVICE_NAME: service_name})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(CountingBatchSpanProcessor(OTLPSpanExporter(), dropped))
    return provider


def instrument_libraries(provider: TracerProvider, engines: Sequence = ()) -> None:
    """SQLAlchemy (engines made from now on, and `engines`), Redis and requests, all traced
    into `provider`."""
    # Its declared range stops below SQLAlchemy 2.1, whose engine events it uses are unchanged;
    # tests/tracing checks the SQL spans arrive.
    SQLAlchemyInstrumentor().instrument(tracer_provider=provider, meter_provider=NO_METRICS,
                                        engines=list(engines), skip_dep_check=True)
    # Its "connect" span times taking a connection from the pool: no remote call, and one per
    # unit of work, so it was as many spans as a request's queries. The statements' spans stay.
    unwrap(Engine, "connect")
    RedisInstrumentor().instrument(tracer_provider=provider)
    RequestsInstrumentor().instrument(tracer_provider=provider, meter_provider=NO_METRICS)


def uninstrument_libraries() -> None:
    for instrumentor in LIBRARIES:
        if instrumentor().is_instrumented_by_opentelemetry:
            instrumentor().uninstrument()
