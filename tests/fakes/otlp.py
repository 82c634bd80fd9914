"""A fake OTLP/HTTP trace collector: `POST /v1/traces` with the real protobuf, decoded with
`opentelemetry-proto` (what Jaeger's OTLP receiver takes), on 127.0.0.1 and a free port.

Spans are kept as `ReceivedSpan`s. `down()` closes the listening socket (a collector that is not
there: connections refused); `up()` opens it again on the same port. `stall()` makes it take
requests and answer none until `resume()` (a collector too slow to keep up).
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def _value(any_value):
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in any_value.kvlist_value.values}
    return getattr(any_value, kind) if kind else None


@dataclass
class ReceivedSpan:
    service: str
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    attributes: dict
    status_code: int
    status_message: str
    start_ns: int
    end_ns: int
    events: list = field(default_factory=list)


class OtlpCollector:
    def __init__(self, keep_spans: bool = True) -> None:
        self.keep_spans = keep_spans  # False: only count them (a benchmark's long runs)
        self.spans: list[ReceivedSpan] = []
        self.span_count = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._answering = threading.Event()
        self._answering.set()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.up()

    @property
    def endpoint(self) -> str:
        """For `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporter appends `/v1/traces`)."""
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                collector._answering.wait(60)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces" or \
                        self.headers.get("Content-Type") != "application/x-protobuf":
                    self.send_error(404 if self.path != "/v1/traces" else 415)
                    return
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector._receive(request)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name="fake-otlp").start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def stop(self) -> None:
        self.resume()
        self.down()

    def stall(self) -> None:
        self._answering.clear()

    def resume(self) -> None:
        self._answering.set()

    def _receive(self, request: ExportTraceServiceRequest) -> None:
        if not self.keep_spans:  # a benchmark's collector shares its CPU: count, nothing more
            count = sum(len(scope_spans.spans) for resource_spans in request.resource_spans
                        for scope_spans in resource_spans.scope_spans)
            with self._lock:
                self.requests += 1
                self.span_count += count
            return
        received = []
        for resource_spans in request.resource_spans:
            resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(ReceivedSpan(
                        service=resource.get("service.name", ""),
                        trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(), name=span.name,
                        kind=span.kind,
                        attributes={kv.key: _value(kv.value) for kv in span.attributes},
                        status_code=span.status.code, status_message=span.status.message,
                        start_ns=span.start_time_unix_nano, end_ns=span.end_time_unix_nano,
                        events=[(event.name, {kv.key: _value(kv.value)
                                              for kv in event.attributes})
                                for event in span.events],
                    ))
        with self._lock:
            self.requests += 1
            self.span_count += len(received)
            self.spans.extend(received)

    def received(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self.spans)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [span for span in self.received() if span.trace_id == trace_id]

    def wait_for(self, predicate, timeout: float = 60) -> list[ReceivedSpan]:
        """The spans received once `predicate(spans)` holds (AssertionError at `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.received()
            if predicate(spans):
                return spans
            if time.monotonic() > deadline:
                raise AssertionError(f"the collector never got the expected spans; got "
                                     f"{sorted({s.name for s in spans})}")
            time.sleep(0.1)

    def clear(self) -> None:
        with self._lock:
            self.spans.clear()
