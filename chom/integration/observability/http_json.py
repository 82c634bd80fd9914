"""JSON over HTTP for the backends: one pooled `requests.Session` per backend, timeouts, and
failures sorted into `BackendUnavailable` (retry may help) and `BackendError` (it will not)."""

from __future__ import annotations

import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from chom.log_context import correlation_id
from chom.plugin_api import BackendError, BackendUnavailable

# 429 and these 5xx say "not now", not "never".
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


class Refused(BackendError):
    """The backend answered a 4xx: the request itself is wrong (or names nothing)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class JsonHttp:
    """Calls to one backend at `base_url`. Thread-safe enough for requests' pooled sessions:
    the session is shared, each call passes its own arguments."""

    def __init__(self, name: str, base_url: str, *, timeout: float = 5.0,
                 headers: dict | None = None, pool_size: int = 10) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"Accept": "application/json", **(headers or {})})

    def call(self, method: str, path: str, *, params=None, json=None,
             timeout: float | None = None, expect_json: bool = True) -> Any:
        """The decoded answer of `method path`; raises `BackendUnavailable` / `BackendError`.
        Messages name the backend, never its URL (they may reach API answers)."""
        current = correlation_id.get()  # so the backend's logs can be joined with ours
        headers = {"X-Correlation-ID": current} if current else None
        try:
            response = self.session.request(method, self.base_url + path, params=params,
                                            json=json, headers=headers,
                                            timeout=timeout or self.timeout)
        except (requests.ConnectionError, requests.Timeout) as error:
            raise BackendUnavailable(f"{self.name} did not answer ({type(error).__name__})"
                                     ) from error
        if response.status_code in TRANSIENT_STATUSES:
            raise BackendUnavailable(f"{self.name} answered {response.status_code}")
        if response.status_code >= 400:
            raise Refused(f"{self.name} refused the request ({response.status_code}): "
                          f"{response.text[:200]}", response.status_code)
        if not expect_json or not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            raise BackendError(f"{self.name} answered something other than JSON") from error

    def probe(self, path: str, *, timeout: float = 2.0) -> dict:
        """A health answer for `GET path`: `{"status": "ok"|"down", "latency_ms", ...}`."""
        started = time.perf_counter()
        try:
            self.call("GET", path, timeout=timeout, expect_json=False)
            found: dict = {"status": "ok"}
        except BackendError as error:
            found = {"status": "down", "error": str(error)}
        found["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return found
