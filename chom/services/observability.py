"""Metrics and logs of a tenant's sites, and the backends' health, from the configured
observability backends, each call through the backend's circuit breaker with retries, and
answered from the last good value (marked degraded) while a backend is down.

Sites are looked up through the tenant scope first, so another tenant's site is a 404 before
any backend is asked anything; what reaches a backend is built from our rows, never from ids
the client sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from flask import current_app

from chom.models import Site, VpsServer
from chom.models.scoping import unscoped
from chom.plugin_api import BackendError, ObservabilityBackend, SiteRef, Window
from chom.reliability.breakers import backend_breaker, guarded_backend, state_name
from chom.reliability.degradation import Answer, cache_key, with_fallback
from chom.reliability.retry import with_retries
from chom.services import fleet
from chom.services.errors import NotFound, ObservabilityUnavailable
from chom.services.lookup import get_or_not_found
from chom.services.tenancy import Actor

T = TypeVar("T")

# range name -> (seconds back from now, seconds between points): at most a few hundred points.
RANGES = {"15m": (900, 15), "1h": (3600, 60), "6h": (21600, 300), "24h": (86400, 900),
          "7d": (604800, 3600)}
MAX_LOG_LINES = 1000


def backends() -> dict[str, ObservabilityBackend]:
    """The configured backends by name."""
    return current_app.extensions.get("chom_observability", {})


def backend_of(kind: str) -> ObservabilityBackend:
    """The configured backend of `kind` ("metrics", "logs", "dashboards", "alerts")."""
    for backend in backends().values():
        if backend.kind == kind:
            return backend
    raise ObservabilityUnavailable(f"No {kind} backend is configured on this platform.")


def call_backend(backend: ObservabilityBackend, call: Callable[[], T], *,
                 retry: bool = True) -> T:
    """`call()` through the backend's breaker, retried while it fails transiently (not for
    calls that must not run twice)."""
    config = current_app.config
    attempts = config.get("CHOM_BACKEND_RETRY_ATTEMPTS", 3) if retry else 1
    return guarded_backend(backend.name, lambda: with_retries(
        call, attempts=attempts, base=config.get("CHOM_BACKEND_RETRY_BASE_SECONDS", 0.2)))


def unavailable(backend: ObservabilityBackend, error: BackendError) -> ObservabilityUnavailable:
    return ObservabilityUnavailable(f"{backend.name} is not available: {error}")


def degradable(backend: ObservabilityBackend, key: tuple, call: Callable[[], Any]) -> Answer:
    """A read: fresh when the backend answers, else the last good answer (degraded), else 503."""
    try:
        return with_fallback(cache_key(backend.name, *key), lambda: call_backend(backend, call))
    except BackendError as error:
        raise unavailable(backend, error) from error


def window_for(range_name: str, now: datetime | None = None) -> Window:
    seconds, step = RANGES[range_name]
    end = now or datetime.now(UTC)
    return Window(start=end - timedelta(seconds=seconds), end=end, step=step)


def site_ref(site: Site) -> SiteRef:
    return SiteRef(id=str(site.id), domain=site.domain, tenant_id=str(site.tenant_id),
                   vps=site.vps.name if site.vps else None)


def site_metrics(actor: Actor, site_id, range_name: str = "1h") -> Answer:
    """The site's requests, errors (per second) and p95 latency over `range_name`, as series
    `{"labels", "values": [[t, v], ...]}`; degraded when Prometheus is down."""
    actor.require("monitoring:read")
    site = get_or_not_found(Site, site_id, "Site")
    backend = backend_of("metrics")
    ref, window = site_ref(site), window_for(range_name)
    answer = degradable(backend, ("site-metrics", ref.id, range_name),
                        lambda: backend.site_series(ref, window))
    return _with_value(answer, {"site_id": ref.id, "range": range_name, "step": window.step,
                                "series": answer.value})


def vps_metrics(vps_id, range_name: str = "1h") -> Answer:
    """A VPS's CPU, memory and disk use (ratios), for the platform operator's tools: the fleet
    is the operator's, so there is no tenant scope here; callers check the operator flag."""
    with unscoped():
        vps = get_or_not_found(VpsServer, vps_id, "VPS")
    backend = backend_of("metrics")
    window = window_for(range_name)
    answer = degradable(backend, ("vps-metrics", str(vps.id), range_name),
                        lambda: backend.vps_series(vps.name, window))
    return _with_value(answer, {"vps": vps.name, "range": range_name, "step": window.step,
                                "series": answer.value})


def operator_vps_metrics(user, vps_id, range_name: str = "1h") -> Answer:
    """`vps_metrics` for a platform operator (`PermissionDenied` for anyone else)."""
    fleet.require_operator(user)
    return vps_metrics(vps_id, range_name)


def site_logs(actor: Actor, site_id, since: str = "1h", contains: str | None = None,
              limit: int = 100) -> Answer:
    """The site's log lines (nginx access and error, PHP-FPM) of the last `since`, newest
    first; `contains` keeps lines holding that literal text."""
    actor.require("monitoring:read")
    site = get_or_not_found(Site, site_id, "Site")
    backend = backend_of("logs")
    ref, window = site_ref(site), window_for(since)
    limit = max(1, min(limit, MAX_LOG_LINES))
    answer = degradable(backend, ("site-logs", ref.id, since, contains, limit),
                        lambda: backend.site_logs(ref, window, contains=contains or None,
                                                  limit=limit))
    return answer


def _with_value(answer: Answer, value: Any) -> Answer:
    return Answer(value, degraded=answer.degraded, age_seconds=answer.age_seconds,
                  reason=answer.reason)


def _component_health(backend: ObservabilityBackend) -> dict:
    started = time.perf_counter()
    try:
        found = dict(backend.health())
    except Exception as error:  # a plugin's health() must not raise; if it does, it is down
        found = {"status": "down", "error": type(error).__name__}
    found.setdefault("latency_ms", round((time.perf_counter() - started) * 1000, 2))
    found.pop("error", None)  # messages may name hosts: the endpoint is public
    found["kind"] = backend.kind
    try:
        found["breaker"] = state_name(backend_breaker(backend.name))
    except Exception:  # breaker state in Redis, and Redis down
        found["breaker"] = "unknown"
    return found


def observability_health(component: str | None = None) -> dict:
    """`{"status": "ok"|"degraded"|"none", "components": {name: {status, kind, breaker,
    latency_ms}}}`; one component's entry when `component` is given (NotFound if unknown)."""
    configured = backends()
    if component is not None:
        if component not in configured:
            raise NotFound("No such observability component.")
        return {"component": component, **_component_health(configured[component])}
    components = {name: _component_health(b) for name, b in sorted(configured.items())}
    if not components:
        status = "none"
    elif all(c["status"] == "ok" for c in components.values()):
        status = "ok"
    else:
        status = "degraded"
    return {"status": status, "components": components}
