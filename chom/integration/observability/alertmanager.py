"""Alertmanager: active alerts and silences through its API v2.

Alerts about a site carry a `site_id` label (the alert rules keep it from the series, whose
targets CHOM labels). Only alerts and silences of the site ids the caller passes come back, and
a silence is made for exactly one site (`site_id="<id>"`, an equality matcher).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from chom.integration.observability.http_json import JsonHttp, Refused
from chom.plugin_api import AlertsBackend, SiteRef, hookimpl

SITE_LABEL = "site_id"


def _site_of(matchers: list[dict]) -> str | None:
    """The one site a silence's matchers name by equality, else None."""
    sites = [m for m in matchers if m.get("name") == SITE_LABEL]
    if len(sites) != 1 or sites[0].get("isRegex") or not sites[0].get("isEqual", True):
        return None
    return sites[0].get("value")


def _silence_out(raw: dict) -> dict:
    matchers = raw.get("matchers", [])
    names = [m.get("value") for m in matchers
             if m.get("name") == "alertname" and not m.get("isRegex")]
    return {"id": raw["id"], "site_id": _site_of(matchers),
            "alertname": names[0] if names else None,
            "state": raw.get("status", {}).get("state"), "starts_at": raw.get("startsAt"),
            "ends_at": raw.get("endsAt"), "created_by": raw.get("createdBy"),
            "comment": raw.get("comment")}


class Alertmanager(AlertsBackend):
    name = "alertmanager"

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.http = JsonHttp(self.name, url, timeout=timeout)

    def health(self) -> dict:
        return self.http.probe("/-/ready")

    def alerts(self, site_ids: Collection[str]) -> list[dict]:
        wanted = set(site_ids)
        if not wanted:
            return []
        raw = self.http.call("GET", "/api/v2/alerts", params={
            "active": "true", "silenced": "false", "inhibited": "false",
            "filter": f'{SITE_LABEL}=~".+"'}) or []
        found = []
        for alert in raw:
            labels = alert.get("labels", {})
            if labels.get(SITE_LABEL) not in wanted:
                continue
            found.append({
                "fingerprint": alert.get("fingerprint"), "name": labels.get("alertname"),
                "site_id": labels[SITE_LABEL], "severity": labels.get("severity"),
                "state": alert.get("status", {}).get("state"),
                "summary": alert.get("annotations", {}).get("summary"),
                "starts_at": alert.get("startsAt"), "labels": labels,
            })
        return sorted(found, key=lambda a: (a["starts_at"] or "", a["fingerprint"] or ""),
                      reverse=True)

    def silences(self, site_ids: Collection[str]) -> list[dict]:
        wanted = set(site_ids)
        raw = self.http.call("GET", "/api/v2/silences") or []
        found = [_silence_out(s) for s in raw if s.get("status", {}).get("state") != "expired"]
        return [s for s in found if s["site_id"] in wanted]

    def get_silence(self, silence_id: str) -> dict | None:
        try:
            raw = self.http.call("GET", f"/api/v2/silence/{silence_id}")
        except Refused as error:
            if error.status in (400, 404):  # not a silence id / no such silence
                return None
            raise
        return _silence_out(raw) if raw else None

    def create_silence(self, site: SiteRef, *, ends_at: datetime, created_by: str,
                       comment: str, alertname: str | None = None) -> str:
        matchers = [{"name": SITE_LABEL, "value": site.id, "isRegex": False, "isEqual": True}]
        if alertname:
            matchers.append({"name": "alertname", "value": alertname, "isRegex": False,
                             "isEqual": True})
        answer = self.http.call("POST", "/api/v2/silences", json={
            "matchers": matchers, "startsAt": datetime.now(UTC).isoformat(),
            "endsAt": ends_at.isoformat(), "createdBy": created_by, "comment": comment,
        })
        return answer["silenceID"]

    def expire_silence(self, silence_id: str) -> None:
        self.http.call("DELETE", f"/api/v2/silence/{silence_id}", expect_json=False)


@hookimpl
def chom_register_observability_backends(config):
    url = config.get("ALERTMANAGER_URL")
    if not url:
        return []
    return [Alertmanager(url, timeout=float(config.get("CHOM_BACKEND_TIMEOUT_SECONDS", 5)))]
