"""The site page's alerts panel: the site's active alerts and its silences, from the alerts
backend (degraded answers say how old they are; no backend is an empty state, not an error)."""

from __future__ import annotations

from dataclasses import dataclass, field

from chom.services import alerts
from chom.services.errors import ObservabilityUnavailable

SILENCE_MINUTES = (15, 30, 60, 120, 240, 480, 1440)
MAX_SILENCE_MINUTES = 60 * 24 * 30


@dataclass
class AlertsPanel:
    alerts: list[dict] = field(default_factory=list)
    silences: list[dict] = field(default_factory=list)
    degraded_age: int | None = None
    unavailable: str | None = None


def alerts_panel(actor, site) -> AlertsPanel | None:
    """The site's alerts and silences, or None when the actor may not read them."""
    if not actor.may("monitoring:read"):
        return None
    panel = AlertsPanel()
    try:
        answers = [alerts.site_alerts(actor, site.id), alerts.site_silences(actor, site.id)]
    except ObservabilityUnavailable as error:
        panel.unavailable = error.detail
        return panel
    panel.alerts, panel.silences = answers[0].value, answers[1].value
    ages = [a.age_seconds or 0 for a in answers if a.degraded]
    panel.degraded_age = round(max(ages)) if ages else None
    return panel


def silence_form(form=None) -> dict:
    """The silence form's values: what was typed, else the defaults."""
    form = form or {}
    return {"minutes": form.get("minutes", "60"), "comment": form.get("comment", ""),
            "alertname": form.get("alertname", "")}
