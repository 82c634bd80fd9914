"""`GET /prometheus/metrics`: HTTP request metrics (prometheus-flask-exporter) + business metrics.

Built by the app factory, never at import: each app gets its own `CollectorRegistry`, so tests
that build many apps in one process never collide on the global registry.

Two modes, chosen by the environment when the app is built:

- `PROMETHEUS_MULTIPROC_DIR` unset: one process (`flask run`, the embedded default, tests).
  `PrometheusMetrics` keeps its counters in memory and the scrape reads this app's registry.
- `PROMETHEUS_MULTIPROC_DIR` set (gunicorn with several workers, which is how deploy runs it):
  `GunicornPrometheusMetrics`; prometheus_client writes every worker's samples to files in that
  directory and each scrape sums all of them through a `MultiProcessCollector`, so whichever
  worker answers, the figures are the whole server's. The variable must be set before the
  process starts (prometheus_client reads it at import), the directory must exist and be
  emptied when gunicorn starts; `chom.observability.gunicorn_hooks` does the emptying and marks
  dead workers.

Business metrics come from `BusinessCollector` at scrape time in both modes.
"""

from __future__ import annotations

import os

from flask import Flask, current_app, jsonify, request
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_flask_exporter import PrometheusMetrics
from werkzeug.exceptions import Forbidden, NotFound

from chom import tracing
from chom.extensions import limiter
from chom.observability.access import ScrapeAccess
from chom.observability.collectors import BusinessCollector

SCRAPE_PATH = "/prometheus/metrics"
SD_PATH = "/prometheus/sd"
EXTENSION = "chom_metrics"
UNMATCHED = "<unmatched>"


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def url_rule(req) -> str:
    """The label for a request: its Flask rule (`/api/v1/sites/<site_id>`), never the raw path.

    Unmatched requests (404, 405) all share one value, so probing random paths cannot grow the
    number of series. The function's name is the label's name.
    """
    rule = req.url_rule
    return rule.rule if rule is not None else UNMATCHED


class DroppedSpans:
    """This process's `chom.tracing.DROPPED` counter, named in the app's namespace."""

    def __init__(self, namespace: str) -> None:
        self.name = f"{namespace}_tracing_spans_dropped" if namespace else "tracing_spans_dropped"

    def describe(self):
        return ()

    def collect(self):
        family = CounterMetricFamily(self.name, tracing.DROPPED_HELP,
                                     labels=["reason"])
        for metric in tracing.DROPPED.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    family.add_metric([sample.labels["reason"]], sample.value)
        yield family


class Metrics:
    """What `init_app` leaves in `app.extensions["chom_metrics"]`."""

    def __init__(self, app: Flask) -> None:
        namespace = app.config.get("METRICS_NAMESPACE") or "chom"
        self.namespace = namespace
        self.access = ScrapeAccess.from_config(app.config)
        self.registry = CollectorRegistry()
        self.multiprocess = multiprocess_dir() is not None
        options = {
            "defaults_prefix": namespace,
            "group_by": url_rule,
            "registry": self.registry,
            "excluded_paths": [f"^{SCRAPE_PATH}$", f"^{SD_PATH}/"],
        }
        if self.multiprocess:
            from prometheus_flask_exporter.multiprocess import GunicornPrometheusMetrics

            os.makedirs(multiprocess_dir(), exist_ok=True)
            # Serves no endpoint of its own (path=None); records into the shared directory.
            self.exporter = GunicornPrometheusMetrics(app, **options)
        else:
            self.exporter = PrometheusMetrics(app, path=None, **options)
        for reason in tracing.DROP_REASONS:
            # Both series from the start, at 0, so an alert has one to watch. Not at import:
            # under PROMETHEUS_MULTIPROC_DIR that writes a file, and the directory is made above.
            tracing.DROPPED.labels(reason)
        self.business = BusinessCollector(app, namespace)
        if self.multiprocess:
            # Every worker's samples from the files, plus the business figures. The exporter's
            # own in-process metrics are left out: the files already hold them.
            self.scrape_registry = CollectorRegistry()
            MultiProcessCollector(self.scrape_registry)
        else:
            self.scrape_registry = self.registry
            # Spans lost on the way to the collector (multiprocess: in the files, workers' too).
            self.registry.register(DroppedSpans(namespace))
        self.scrape_registry.register(self.business)

    def render(self, accept: str | None) -> tuple[bytes, str]:
        generate, content_type = choose_encoder(accept)
        return generate(self.scrape_registry), content_type


@limiter.exempt
def prometheus_metrics():
    """The scrape: Prometheus text (or OpenMetrics when asked), to whitelisted addresses only."""
    request.prom_do_not_track = True  # the scrape does not count itself
    metrics: Metrics = current_app.extensions[EXTENSION]
    if not metrics.access.allows(request):
        # The app's HTTPException handler answers it as problem+json (chom.api.problems).
        raise Forbidden("This address may not read the metrics (METRICS_IP_WHITELIST).")
    body, content_type = metrics.render(request.headers.get("Accept"))
    return body, 200, {"Content-Type": content_type, "Cache-Control": "no-store"}


@limiter.exempt
def service_discovery(kind: str):
    """Prometheus HTTP service discovery (`http_sd_configs`): `sites` to probe, `nodes` and
    `nginx` exporters of the fleet; to the scrape's whitelisted addresses only."""
    from chom.services import discovery

    metrics: Metrics = current_app.extensions[EXTENSION]
    if not metrics.access.allows(request):
        raise Forbidden("This address may not read the targets (METRICS_IP_WHITELIST).")
    found = {"sites": discovery.site_probe_targets,
             "nodes": lambda: discovery.exporter_targets("node"),
             "nginx": lambda: discovery.exporter_targets("nginx")}.get(kind)
    if found is None:
        raise NotFound()
    return jsonify(found())


def init_app(app: Flask) -> Metrics:
    metrics = Metrics(app)
    app.extensions[EXTENSION] = metrics
    app.add_url_rule(SCRAPE_PATH, endpoint="prometheus_metrics", view_func=prometheus_metrics,
                     methods=["GET"])
    app.add_url_rule(f"{SD_PATH}/<kind>", endpoint="prometheus_sd", view_func=service_discovery,
                     methods=["GET"])
    return metrics
