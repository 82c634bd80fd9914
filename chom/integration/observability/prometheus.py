"""Prometheus: per-site web metrics and per-VPS host metrics through the HTTP API's
`/api/v1/query_range`.

Site series come from nginx's virtual host traffic status module as exported by
nginx-vts-exporter (`nginx_vts_server_requests_total{host, code}`, `code` being `1xx`..`5xx`
and `total`; `nginx_vts_server_request_duration_seconds_bucket{host, le}`), `host` being the
site's domain. Host series come from the node exporter, whose targets carry a `vps` label with
the VPS's name (`deploy/observability-stack/prometheus.yml`).
"""

from __future__ import annotations

from chom.integration.observability.http_json import JsonHttp
from chom.integration.observability.query_text import quoted
from chom.plugin_api import BackendError, MetricsBackend, SiteRef, Window, hookimpl

# name -> PromQL with {selector} (the series' label matchers) and {rate} (the rate window).
SITE_QUERIES = {
    "requests": 'sum(rate(nginx_vts_server_requests_total{{{selector},code!="total"}}[{rate}]))',
    "errors": 'sum(rate(nginx_vts_server_requests_total{{{selector},code="5xx"}}[{rate}]))',
    "latency_p95": ("histogram_quantile(0.95, sum by (le) "
                    "(rate(nginx_vts_server_request_duration_seconds_bucket{{{selector}}}"
                    "[{rate}])))"),
}
VPS_QUERIES = {
    "cpu": '1 - avg(rate(node_cpu_seconds_total{{{selector},mode="idle"}}[{rate}]))',
    "memory": ("1 - sum(node_memory_MemAvailable_bytes{{{selector}}}) "
               "/ sum(node_memory_MemTotal_bytes{{{selector}}})"),
    "disk": ('1 - sum(node_filesystem_avail_bytes{{{selector},mountpoint="/"}}) '
             '/ sum(node_filesystem_size_bytes{{{selector},mountpoint="/"}})'),
}


def rate_window(step: float) -> str:
    """At least two scrapes and two steps wide, so every point has samples to rate."""
    return f"{int(max(120, 2 * step))}s"


class Prometheus(MetricsBackend):
    name = "prometheus"

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.http = JsonHttp(self.name, url, timeout=timeout)

    def health(self) -> dict:
        return self.http.probe("/-/ready")

    def query_range(self, query: str, window: Window) -> list[dict]:
        """One PromQL range query: `[{"labels": {...}, "values": [[t, v], ...]}]`."""
        answer = self.http.call("GET", "/api/v1/query_range", params={
            "query": query, "start": window.start.timestamp(), "end": window.end.timestamp(),
            "step": window.step,
        })
        if not answer or answer.get("status") != "success":
            raise BackendError(f"prometheus: {(answer or {}).get('error', 'no answer')}")
        return [
            {"labels": item.get("metric", {}),
             "values": [[float(t), float(v)] for t, v in item.get("values", [])]}
            for item in answer["data"]["result"]
        ]

    def _series(self, queries: dict, selector: str, window: Window) -> dict[str, list[dict]]:
        rate = rate_window(window.step)
        return {name: self.query_range(q.format(selector=selector, rate=rate), window)
                for name, q in queries.items()}

    def site_series(self, site: SiteRef, window: Window) -> dict[str, list[dict]]:
        return self._series(SITE_QUERIES, f"host={quoted(site.domain)}", window)

    def vps_series(self, vps_name: str, window: Window) -> dict[str, list[dict]]:
        return self._series(VPS_QUERIES, f"vps={quoted(vps_name)}", window)


@hookimpl
def chom_register_observability_backends(config):
    url = config.get("PROMETHEUS_URL")
    if not url:
        return []
    return [Prometheus(url, timeout=float(config.get("CHOM_BACKEND_TIMEOUT_SECONDS", 5)))]
