"""Loki: a site's log lines through LogQL (`/loki/api/v1/query_range`).

Promtail (`deploy/observability-stack/promtail.yml`) labels each stream with `host` (the site's
domain, from the log file's name) and `job`: `nginx_access`, `nginx_error` or `php_fpm`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chom.integration.observability.http_json import JsonHttp
from chom.integration.observability.query_text import quoted
from chom.plugin_api import BackendError, LogsBackend, SiteRef, Window, hookimpl

SOURCES = ("nginx_access", "nginx_error", "php_fpm")


def site_query(domain: str, contains: str | None) -> str:
    """The LogQL for one site's streams, `contains` as a literal line filter."""
    query = f'{{host={quoted(domain)}, job=~"{"|".join(SOURCES)}"}}'
    if contains:
        query += f" |= {quoted(contains)}"
    return query


class Loki(LogsBackend):
    name = "loki"

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.http = JsonHttp(self.name, url, timeout=timeout)

    def health(self) -> dict:
        return self.http.probe("/ready")

    def site_logs(self, site: SiteRef, window: Window, *, contains: str | None,
                  limit: int) -> list[dict]:
        answer = self.http.call("GET", "/loki/api/v1/query_range", params={
            "query": site_query(site.domain, contains),
            "start": int(window.start.timestamp() * 1e9), "end": int(window.end.timestamp() * 1e9),
            "limit": limit, "direction": "backward",
        })
        if not answer or answer.get("status") != "success":
            raise BackendError("loki: the query failed")
        if answer["data"].get("resultType") != "streams":
            raise BackendError("loki: expected streams")
        lines = [
            {"timestamp": datetime.fromtimestamp(int(ns) / 1e9, tz=UTC),
             "source": stream.get("stream", {}).get("job", ""), "line": line}
            for stream in answer["data"]["result"]
            for ns, line in stream.get("values", [])
        ]
        lines.sort(key=lambda entry: entry["timestamp"], reverse=True)
        return lines[:limit]


@hookimpl
def chom_register_observability_backends(config):
    url = config.get("LOKI_URL")
    if not url:
        return []
    return [Loki(url, timeout=float(config.get("CHOM_BACKEND_TIMEOUT_SECONDS", 5)))]
