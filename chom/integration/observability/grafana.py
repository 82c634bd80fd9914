"""Grafana: a folder per tenant, seen by the tenant's team only, holding a dashboard of the
tenant's sites; through Grafana's HTTP API with the `grafana-client` library.

Everything is keyed by uids derived from the tenant id, so provisioning again updates in place.
The dashboard's `host` variable is a fixed list of the tenant's domains (not a query over every
host Prometheus knows, which would list other tenants' sites).
"""

from __future__ import annotations

from collections.abc import Collection

import requests
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException, GrafanaServerError

from chom.plugin_api import (
    BackendError,
    BackendUnavailable,
    DashboardsBackend,
    SiteRef,
    TenantRef,
    hookimpl,
)

VIEW = 1  # Grafana's folder permission levels: 1 view, 2 edit, 4 admin


def folder_uid(tenant_id: str) -> str:
    return "chom-" + tenant_id.replace("-", "")  # 37 characters; Grafana allows 40


def dashboard_uid(tenant_id: str) -> str:
    return "chom-sites-" + tenant_id.replace("-", "")[:29]


def sites_dashboard(tenant: TenantRef, sites: Collection[SiteRef]) -> dict:
    """The tenant's sites dashboard: requests, 5xx and p95 latency per site."""
    domains = sorted(site.domain for site in sites)
    options = [{"text": d, "value": d, "selected": i == 0} for i, d in enumerate(domains)]
    selector = 'host=~"$host"'
    panels = [
        ("Requests per second", f'sum by (host) (rate(nginx_vts_server_requests_total'
                                f'{{{selector},code!="total"}}[$__rate_interval]))', "reqps"),
        ("5xx per second", f'sum by (host) (rate(nginx_vts_server_requests_total'
                           f'{{{selector},code="5xx"}}[$__rate_interval]))', "reqps"),
        ("Latency p95", f'histogram_quantile(0.95, sum by (le, host) (rate('
                        f'nginx_vts_server_request_duration_seconds_bucket{{{selector}}}'
                        f'[$__rate_interval])))', "s"),
    ]
    return {
        "uid": dashboard_uid(tenant.id), "title": f"{tenant.name} — sites",
        "tags": ["chom"], "timezone": "utc", "schemaVersion": 39,
        "templating": {"list": [{
            "name": "host", "label": "Site", "type": "custom", "multi": True,
            "includeAll": False, "query": ",".join(domains), "options": options,
            "current": options[0] if options else {},
        }]},
        "panels": [
            {"id": i, "type": "timeseries", "title": title,
             "gridPos": {"x": 0, "y": 8 * (i - 1), "w": 24, "h": 8},
             "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
             "targets": [{"refId": "A", "expr": expr, "legendFormat": "{{host}}"}]}
            for i, (title, expr, unit) in enumerate(panels, start=1)
        ],
    }


class Grafana(DashboardsBackend):
    name = "grafana"

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 5.0) -> None:
        self.api = GrafanaApi.from_url(url, credential=token, timeout=timeout)

    def _call(self, call, *args, **kwargs):
        """A client call, its failures sorted into unavailable (retry may help) or refused."""
        try:
            return call(*args, **kwargs)
        except (GrafanaServerError, requests.ConnectionError, requests.Timeout) as error:
            raise BackendUnavailable(f"grafana did not answer ({type(error).__name__})"
                                     ) from error
        except GrafanaClientError as error:
            raise BackendError(f"grafana refused the request ({error.status_code})") from error
        except GrafanaException as error:
            raise BackendUnavailable("grafana did not answer") from error

    def health(self) -> dict:
        try:
            # Grafana's documented health endpoint (the client's `health.check()` reads the
            # frontend settings instead, which need a signed-in user on some set-ups).
            answer = self._call(self.api.client.GET, "/health")
        except BackendError as error:
            return {"status": "down", "error": str(error)}
        ok = isinstance(answer, dict) and answer.get("database") == "ok"
        return {"status": "ok" if ok else "down", "version": (answer or {}).get("version")}

    def _team_id(self, tenant: TenantRef) -> int:
        name = f"chom-tenant-{tenant.id}"
        found = self._call(self.api.teams.search_teams, query=name)
        for team in found or []:
            if team.get("name") == name:
                return team["id"]
        return self._call(self.api.teams.add_team, {"name": name})["teamId"]

    def _folder(self, tenant: TenantRef) -> str:
        uid = folder_uid(tenant.id)
        try:
            self._call(self.api.folder.get_folder, uid)
        except BackendError as error:
            if isinstance(error, BackendUnavailable):
                raise
            self._call(self.api.folder.create_folder, title=tenant.name, uid=uid)
        return uid

    def provision_tenant(self, tenant: TenantRef, sites: Collection[SiteRef]) -> dict:
        uid = self._folder(tenant)
        team_id = self._team_id(tenant)
        # Setting the list replaces Grafana's defaults (every Viewer and Editor of the org):
        # only the tenant's team (and Grafana admins) can open the folder.
        self._call(self.api.folder.update_folder_permissions, uid,
                   {"items": [{"teamId": team_id, "permission": VIEW}]})
        dashboard = sites_dashboard(tenant, sites)
        self._call(self.api.dashboard.update_dashboard, {
            "dashboard": dashboard, "folderUid": uid, "overwrite": True,
            "message": "provisioned by CHOM"})
        return {"folder": uid, "dashboards": [dashboard["uid"]], "team_id": team_id}


@hookimpl
def chom_register_observability_backends(config):
    url = config.get("GRAFANA_URL")
    if not url:
        return []
    return [Grafana(url, token=config.get("GRAFANA_TOKEN") or None,
                    timeout=float(config.get("CHOM_BACKEND_TIMEOUT_SECONDS", 5)))]
