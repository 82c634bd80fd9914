"""Observability: the Prometheus scrape endpoint (`/prometheus/metrics`) and its metrics.

Beside `chom.api` and `chom.web` in the layers: it serves an endpoint, and reads models,
services and the job queue below it. Nothing below imports it.
"""

from __future__ import annotations


def init_app(app) -> None:
    """Install request metrics and `GET /prometheus/metrics` on `app` (the factory calls this)."""
    from chom.observability import metrics

    metrics.init_app(app)
