"""The site page's metrics: the site's traffic and its VPS's load as server-drawn charts, over
a range chosen on the page; degraded answers say how old they are, and a backend that cannot
answer at all is a box on the page, never an error page."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from chom.services import observability
from chom.services.errors import ObservabilityUnavailable
from chom.web.charts import Chart, line_chart, milliseconds, per_second, percent

RANGE_LABELS = {"15m": "15 minutes", "1h": "1 hour", "6h": "6 hours", "24h": "24 hours",
                "7d": "7 days"}
DEFAULT_RANGE = "1h"

# series name -> (chart title, value format, fixed top of the scale)
SITE_CHARTS = {"requests": ("Requests", per_second, None),
               "errors": ("5xx errors", per_second, None),
               "latency_p95": ("Latency (95th percentile)", milliseconds, None)}
VPS_CHARTS = {"cpu": ("CPU", percent, 1.0), "memory": ("Memory", percent, 1.0),
              "disk": ("Disk", percent, 1.0)}


@dataclass
class MetricsPanel:
    """One group of charts, or why there are none."""

    charts: list[Chart] = field(default_factory=list)
    degraded_age: int | None = None
    unavailable: str | None = None


def chosen_range(asked: str | None) -> str:
    """The range asked for when it is one we offer, else the default."""
    return asked if asked in observability.RANGES else DEFAULT_RANGE


def _panel(prefix: str, fetch, charts: dict, range_name: str) -> MetricsPanel:
    try:
        answer = fetch()
    except ObservabilityUnavailable as error:
        return MetricsPanel(unavailable=error.detail)
    end = time.time()
    start = end - observability.RANGES[range_name][0]
    series = answer.value["series"]
    drawn = [line_chart(f"{prefix}-{name}", title, series.get(name, []), start=start, end=end,
                        format_value=fmt, y_max=top)
             for name, (title, fmt, top) in charts.items()]
    age = round(answer.age_seconds or 0) if answer.degraded else None
    return MetricsPanel(drawn, degraded_age=age)


def metrics_context(actor, site, range_name: str) -> dict:
    """What `_site_metrics.html` needs: the range choice, the site's charts and its VPS's."""
    context = {"metrics_range": range_name, "metric_ranges": RANGE_LABELS,
               "site_metrics": None, "vps_metrics": None}
    if not actor.may("monitoring:read"):
        return context
    context["site_metrics"] = _panel(
        "site", lambda: observability.site_metrics(actor, site.id, range_name), SITE_CHARTS,
        range_name)
    # The VPS is reached through the site, which the tenant scope has already let through.
    if site.vps is not None:
        context["vps_metrics"] = _panel(
            "vps", lambda: observability.vps_metrics(site.vps.id, range_name), VPS_CHARTS,
            range_name)
    return context
