"""Distributed tracing: OpenTelemetry's SDK and its maintained instrumentations, set up here only.

On when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (OTLP over HTTP; Jaeger takes it directly), off
otherwise: then no provider, no exporter thread and no instrumentation is installed, and the spans
CHOM's own code asks for come from OpenTelemetry's no-op tracer. Everything else is the SDK's own
standard variables: `OTEL_SERVICE_NAME` (default `chom-web`, or `chom-worker` in a worker),
`OTEL_TRACES_SAMPLER`/`_ARG`, `OTEL_BSP_*`, `OTEL_EXPORTER_OTLP_*`,
`OTEL_PYTHON_FLASK_EXCLUDED_URLS`.

The provider is process-wide, but kept here rather than as OpenTelemetry's global one (which can be
set once per process): `configure()` builds it again when the variables changed, so a test (or a
worker taking its own service name) gets a fresh one. Instrumentations get it explicitly.

A collector that is down or slow never holds up a request or a job: spans wait in the batch
processor's bounded queue (`OTEL_BSP_MAX_QUEUE_SIZE`) and are exported from its thread. Spans lost
on the way (the queue full, an export that failed) are counted in `<ns>_tracing_spans_dropped_total`
(prometheus_client; with `PROMETHEUS_MULTIPROC_DIR` set, RQ workers count into the same files the
web's scrape sums).

Never put secrets, environment values or command output in attributes: step spans carry the step's
kind, not its command line, and the SQLAlchemy and Redis instrumentations record statements
without their parameters.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
import time
from collections.abc import Iterator, Mapping

from opentelemetry import context, propagate, trace
from prometheus_client import Counter

SERVICE_WEB = "chom-web"
SERVICE_WORKER = "chom-worker"
CARRIER_KEY = "trace"  # where a job's meta carries the W3C context of who enqueued it

DROPPED_HELP = "Spans never delivered to the collector: the export queue was full, or it failed"
DROPPED = Counter(
    f"{os.environ.get('METRICS_NAMESPACE') or 'chom'}_tracing_spans_dropped", DROPPED_HELP,
    ["reason"], registry=None)  # the app's registry (or the multiprocess files) carries it
DROP_REASONS = ("queue_full", "export_failed")

_NOOP = trace.NoOpTracer()
# What the remote invocations made in a block are for (`for_invocations`).
_invocation_attributes: contextvars.ContextVar[dict] = contextvars.ContextVar(
    "chom_invocation_attributes", default=None)
_lock = threading.Lock()
_state: dict = {"key": None, "provider": None, "tracer": _NOOP, "service": SERVICE_WEB}


def enabled() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def provider():
    """This process's `TracerProvider`, or None when tracing is off."""
    return _state["provider"]


def tracer() -> trace.Tracer:
    """The tracer CHOM's own spans come from (the no-op one when tracing is off)."""
    return _state["tracer"]


def configure(service: str | None = None, engines: tuple = ()):
    """Set this process's tracing up from the `OTEL_*` variables; returns the provider or None.

    Idempotent: called again with the same variables (and role) it changes nothing. `service` is
    the default service name (`SERVICE_WORKER` from a worker's start-up; None keeps the process's
    role). `engines` are SQLAlchemy engines made before this call, to be traced too (engines made
    after it are traced anyway)."""
    with _lock:
        service = service or _state["service"]
        key = (tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("OTEL_"))),
               service)
        if key == _state["key"]:
            return _state["provider"]
        _teardown()
        _state.update(key=key, service=service)
        if not enabled():
            return None
        from chom.tracing_setup import build_provider, instrument_libraries

        built = build_provider(os.environ.get("OTEL_SERVICE_NAME") or service, DROPPED)
        instrument_libraries(built, engines)
        _state.update(provider=built, tracer=built.get_tracer("chom"))
        return built


def _teardown() -> None:
    if _state["provider"] is None:
        return
    from chom.tracing_setup import uninstrument_libraries

    uninstrument_libraries()
    _state["provider"].shutdown()
    _state.update(provider=None, tracer=_NOOP)


def shutdown() -> None:
    """Flush and stop this process's tracing (tests; a worker at exit)."""
    with _lock:
        _teardown()
        _state["key"] = None


def init_app(app) -> None:
    """Set up tracing for the process (when the variables say so) and instrument `app`.

    Called by the factory first, before the extensions: the request's span must be started
    before any other `before_request` (rate limits, the request's tenant) does its queries, and
    engines are made by `db.init_app`, after SQLAlchemy's instrumentation."""
    built = configure()
    if built is not None:
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        from chom.tracing_setup import NO_METRICS

        # No sqlcommenter: the SQL spans do not take comments, so its per-request context
        # would be made for nothing.
        FlaskInstrumentor.instrument_app(app, tracer_provider=built, meter_provider=NO_METRICS,
                                         enable_commenter=False)


def flush(timeout_millis: int = 30000) -> bool:
    """Export every span ended so far (tests, benchmarks, a worker before it exits)."""
    current = _state["provider"]
    return current.force_flush(timeout_millis) if current is not None else True


# -- carrying a trace across the queue ----------------------------------------------------------


def inject() -> dict:
    """The current trace context as a W3C carrier (`traceparent`), for a job's meta."""
    if _state["provider"] is None:
        return {}
    carrier: dict = {}
    propagate.inject(carrier)
    return carrier


@contextlib.contextmanager
def continued(carrier: Mapping | None) -> Iterator[None]:
    """Run the block in the trace context `carrier` carries (from `inject()`)."""
    if not carrier or _state["provider"] is None:
        yield
        return
    token = context.attach(propagate.extract(dict(carrier)))
    try:
        yield
    finally:
        context.detach(token)


@contextlib.contextmanager
def span(name: str, *, kind: trace.SpanKind = trace.SpanKind.INTERNAL,
         attributes: Mapping | None = None) -> Iterator[trace.Span]:
    """A span of CHOM's own, current in the block. An exception leaving the block marks it
    failed by the exception's type alone: messages may quote a program's output."""
    with tracer().start_as_current_span(
        name, kind=kind, attributes=attributes,
        record_exception=False, set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except Exception as error:
            failed(current, error)
            raise


@contextlib.contextmanager
def job_span(func_path: str, carrier: Mapping | None, **attributes) -> Iterator[trace.Span]:
    """The span of one run of a job, a child of the span that enqueued it (`carrier`)."""
    with continued(carrier), span(
        f"job {func_path.rsplit('.', 1)[-1]}", kind=trace.SpanKind.CONSUMER,
        attributes={"messaging.system": "rq", "chom.job.function": func_path,
                    **{f"chom.{k}": v for k, v in attributes.items() if v is not None}},
    ) as current:
        yield current


@contextlib.contextmanager
def for_invocations(**attributes) -> Iterator[None]:
    """Attributes (`chom.` prefixed) for every remote invocation's span made in the block:
    the transport knows the VPS, not which sites a program is for."""
    token = _invocation_attributes.set(
        {f"chom.{k}": v for k, v in attributes.items() if v is not None})
    try:
        yield
    finally:
        _invocation_attributes.reset(token)


def invocation_attributes() -> dict:
    return _invocation_attributes.get() or {}


def current_trace_id() -> str | None:
    """The current span's trace id (32 hex digits), or None when nothing is traced."""
    span_context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(span_context.trace_id) if span_context.is_valid else None


def set_attributes(**attributes) -> None:
    """Attributes on the current span (`chom.` prefixed); nothing when no span records."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes({f"chom.{name}": value for name, value in attributes.items()
                             if value is not None})


def failed(span: trace.Span, error: BaseException) -> None:
    """Mark `span` failed naming the error's type only (its message may quote output)."""
    if span.is_recording():
        span.set_status(trace.Status(trace.StatusCode.ERROR, type(error).__name__))
        span.set_attribute("error.type", type(error).__name__)


class StepSpans:
    """Spans of a remote program's steps, begun and ended as its progress markers arrive.

    Each is a child of the span current when it begins (the remote invocation's: markers are read
    while the program runs) and is not made current itself, unless `current` (then what runs
    until it ends is its child: SSL's phases, each a few invocations). A step still open when the
    program stops is ended by `close()`."""

    def __init__(self, *, current: bool = False) -> None:
        self.current = current  # made current while open (phases run one after another)
        self._open: dict = {}
        self._started: dict = {}
        self._tokens: dict = {}

    def begin(self, key, name: str, **attributes) -> None:
        if _state["provider"] is None:
            return
        span = tracer().start_span(
            name, attributes={f"chom.{k}": v for k, v in attributes.items() if v is not None})
        self._open[key], self._started[key] = span, time.perf_counter()
        if self.current:
            self._tokens[key] = context.attach(trace.set_span_in_context(span))

    def end(self, key, result: str) -> None:
        span = self._open.pop(key, None)
        if span is None:
            return
        if key in self._tokens:
            context.detach(self._tokens.pop(key))
        span.set_attributes({
            "chom.step.result": result,
            "chom.step.exit_status": {"failed": 1, "unfinished": -1}.get(result, 0),
            "chom.step.duration_ms": round((time.perf_counter() - self._started.pop(key)) * 1000,
                                           3),
        })
        if result == "failed":
            span.set_status(trace.Status(trace.StatusCode.ERROR, "step failed"))
        span.end()

    def close(self, result: str = "unfinished") -> None:
        """End every step still open with `result`."""
        for key in list(self._open):
            self.end(key, result)
