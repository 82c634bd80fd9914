"""What an observability backend plugin implements: health, and the queries of its kind.

A backend does the talking (HTTP, its query language, its answer shapes) and says how a call
failed: `BackendUnavailable` for what a retry may fix (no connection, a timeout, a 5xx), and
`BackendError` for what it will not (a rejected query). The core wraps every call in the
service's circuit breaker, retries `BackendUnavailable` with backoff, and answers from its cache
(marked degraded) when the backend stays down — a backend never does any of that itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar


class BackendError(RuntimeError):
    """The backend answered, with an error a retry will not fix (a bad query, a 4xx)."""


class BackendUnavailable(BackendError):
    """The backend could not be reached, timed out, or answered a 5xx: a retry may succeed.
    Only these count as failures for the service's circuit breaker."""


@dataclass(frozen=True)
class SiteRef:
    """A site as a backend sees it: validated values only. `vps` is the VPS's name."""

    id: str
    domain: str
    tenant_id: str
    vps: str | None = None


@dataclass(frozen=True)
class TenantRef:
    id: str
    name: str


@dataclass(frozen=True)
class Window:
    """A time range and the resolution asked of it (seconds between points)."""

    start: datetime
    end: datetime
    step: float


class ObservabilityBackend(ABC):
    """Metrics, logs, dashboards or alerts for the fleet. Subclass one of the kinds below."""

    #: component name shown in `/api/v1/observability/health/{component}`; also the name of
    #: its circuit breaker
    name: str
    #: "metrics", "logs", "dashboards" or "alerts": what the core uses it for
    kind: ClassVar[str]

    @abstractmethod
    def health(self) -> dict[str, Any]:
        """Return `{"status": "ok"|"down", ...}` without raising."""


class MetricsBackend(ObservabilityBackend):
    kind = "metrics"

    @abstractmethod
    def site_series(self, site: SiteRef, window: Window) -> dict[str, list[dict]]:
        """The site's `requests`, `errors` (per second) and `latency_p95` (seconds): each a
        list of `{"labels": {...}, "values": [[unix_seconds, value], ...]}`."""

    @abstractmethod
    def vps_series(self, vps_name: str, window: Window) -> dict[str, list[dict]]:
        """The VPS's `cpu`, `memory` and `disk` use (ratios 0..1), in the same shape."""


class LogsBackend(ObservabilityBackend):
    kind = "logs"

    @abstractmethod
    def site_logs(self, site: SiteRef, window: Window, *, contains: str | None,
                  limit: int) -> list[dict]:
        """The site's log lines (web server access and error, PHP), newest first, at most
        `limit`, each `{"timestamp": datetime, "source": str, "line": str}`; `contains` keeps
        only lines holding that text (a literal, never a pattern)."""


class DashboardsBackend(ObservabilityBackend):
    kind = "dashboards"

    @abstractmethod
    def provision_tenant(self, tenant: TenantRef, sites: Collection[SiteRef]) -> dict:
        """Create or update the tenant's folder and dashboards, showing `sites` only and seen
        by the tenant only. Idempotent. Returns `{"folder": uid, "dashboards": [uid, ...]}`."""


class AlertsBackend(ObservabilityBackend):
    kind = "alerts"

    @abstractmethod
    def alerts(self, site_ids: Collection[str]) -> list[dict]:
        """Active alerts of these sites only, each `{"fingerprint", "name", "site_id",
        "severity", "state", "summary", "starts_at", "labels"}`."""

    @abstractmethod
    def silences(self, site_ids: Collection[str]) -> list[dict]:
        """Silences (active and pending) of these sites only; see `get_silence`."""

    @abstractmethod
    def get_silence(self, silence_id: str) -> dict | None:
        """`{"id", "site_id", "alertname", "state", "starts_at", "ends_at", "created_by",
        "comment"}`, `site_id` None when it does not silence exactly one site; None when
        there is no such silence."""

    @abstractmethod
    def create_silence(self, site: SiteRef, *, ends_at: datetime, created_by: str,
                       comment: str, alertname: str | None = None) -> str:
        """Silence the site's alerts (or only `alertname`) until `ends_at`; returns its id."""

    @abstractmethod
    def expire_silence(self, silence_id: str) -> None:
        """End the silence now."""
