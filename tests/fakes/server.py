"""A JSON HTTP server on a free loopback port, in a thread, for the fakes."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Routes:
    """`(method, regex) -> handler(request, *groups) -> (status, body)`."""

    def __init__(self) -> None:
        self.table: list[tuple[str, re.Pattern, object]] = []

    def add(self, method: str, pattern: str):
        def register(handler):
            self.table.append((method, re.compile(f"^{pattern}$"), handler))
            return handler
        return register


class Request:
    def __init__(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        parts = urlsplit(handler.path)
        self.path = parts.path
        self.args = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.multi_args = parse_qs(parts.query)
        self.headers = handler.headers
        self.body = body

    def json(self):
        return json.loads(self.body or b"null")


class FakeServer:
    """Serves `routes` on 127.0.0.1 at a free port until `stop()`."""

    def __init__(self, routes: Routes, *, check_auth=None) -> None:
        self.routes = routes
        self.check_auth = check_auth
        self.requests: list[tuple[str, str]] = []
        #: the X-Correlation-ID header of each request (None when absent)
        self.correlation_ids: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self, self.rfile.read(length) if length else b"")
                outer.requests.append((method, request.path))
                outer.correlation_ids.append(self.headers.get("X-Correlation-ID"))
                status, body = outer.dispatch(method, request)
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_PUT(self):
                self._serve("PUT")

            def do_DELETE(self):
                self._serve("DELETE")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def dispatch(self, method: str, request: Request):
        if self.check_auth is not None and not self.check_auth(request):
            return 401, {"message": "Unauthorized"}
        for route_method, pattern, handler in self.routes.table:
            found = pattern.match(request.path)
            if found and route_method == method:
                return handler(request, *found.groups())
        return 404, {"message": "Not found"}

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
