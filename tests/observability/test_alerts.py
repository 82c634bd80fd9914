"""Alerts and silences of a tenant's sites, against a real Alertmanager."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from chom.extensions import db
from chom.models import AuditLog


def _fire(alertmanager_url: str, alerts: list[dict]) -> None:
    """Send alerts as Prometheus does (`POST /api/v2/alerts`)."""
    now = datetime.now(UTC)
    body = [{"labels": labels, "annotations": {"summary": f"{labels['alertname']} fired"},
             "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat()}
            for labels in alerts]
    answer = requests.post(f"{alertmanager_url}/api/v2/alerts", json=body, timeout=5)
    assert answer.status_code == 200, answer.text


def _site(account, domain):
    created = account.create_site(domain)
    account.wait_for_operation(created.json["meta"]["operation_id"])
    return created.json["data"]["id"]


def test_alerts_and_silences_of_the_tenants_sites(observed_app, observed_client,
                                                  observability_stack, register, local_vps):
    alice, bob = register("Alice Co"), register("Bob Co")
    site_a1, site_a2 = _site(alice, "al-1.example.com"), _site(alice, "al-2.example.com")
    site_b = _site(bob, "bob.example.com")
    am = observability_stack.config["ALERTMANAGER_URL"]
    _fire(am, [
        {"alertname": "SiteDown", "site_id": site_a1, "severity": "critical"},
        {"alertname": "SslExpiring", "site_id": site_a2, "severity": "warning"},
        {"alertname": "SiteDown", "site_id": site_b, "severity": "critical"},
        {"alertname": "DiskFilling", "vps": "vps-1", "severity": "warning"},  # no site
    ])

    mine = observed_client.get("/api/v1/alerts", headers=alice.headers)
    assert mine.status_code == 200, mine.json
    assert mine.json["meta"] == {"degraded": False}
    assert sorted((a["site_id"], a["name"]) for a in mine.json["data"]) == sorted(
        [(site_a1, "SiteDown"), (site_a2, "SslExpiring")])
    assert {a["state"] for a in mine.json["data"]} == {"active"}
    assert [a["site_id"] for a in observed_client.get(
        "/api/v1/alerts", headers=bob.headers).json["data"]] == [site_b]
    one = observed_client.get(f"/api/v1/sites/{site_a1}/alerts", headers=alice.headers).json
    assert [(a["name"], a["severity"], a["summary"]) for a in one["data"]] == [
        ("SiteDown", "critical", "SiteDown fired")]

    # Silence the site's SiteDown for 30 minutes: the alert leaves the active list.
    created = observed_client.post(f"/api/v1/sites/{site_a1}/silences", headers=alice.headers,
                                   json={"minutes": 30, "comment": "maintenance",
                                         "alertname": "SiteDown"})
    assert created.status_code == 201, created.json
    silence = created.json["data"]
    assert (silence["site_id"], silence["alertname"], silence["state"]) == (
        site_a1, "SiteDown", "active")
    assert silence["created_by"] == alice.email and silence["comment"] == "maintenance"
    listed = observed_client.get(f"/api/v1/sites/{site_a1}/silences", headers=alice.headers)
    assert [s["id"] for s in listed.json["data"]] == [silence["id"]]
    assert [a["site_id"] for a in observed_client.get(
        "/api/v1/alerts", headers=alice.headers).json["data"]] == [site_a2]

    # Expired through another of her sites: 404; through its own: 204, and the alert is back.
    wrong = observed_client.delete(f"/api/v1/sites/{site_a2}/silences/{silence['id']}",
                                   headers=alice.headers)
    assert wrong.status_code == 404
    assert observed_client.delete(f"/api/v1/sites/{site_a1}/silences/not-a-uuid",
                                  headers=alice.headers).status_code == 404
    expired = observed_client.delete(f"/api/v1/sites/{site_a1}/silences/{silence['id']}",
                                     headers=alice.headers)
    assert expired.status_code == 204
    assert observed_client.get(f"/api/v1/sites/{site_a1}/silences",
                               headers=alice.headers).json["data"] == []
    back = observed_client.get("/api/v1/alerts", headers=alice.headers).json["data"]
    assert sorted(a["site_id"] for a in back) == sorted([site_a1, site_a2])

    with observed_app.app_context():
        from chom.models.scoping import unscoped

        with unscoped():
            actions = [a.action for a in db.session.query(AuditLog)
                       .filter(AuditLog.action.like("alerts.%"))
                       .order_by(AuditLog.created_at)]
    assert actions == ["alerts.silence.create", "alerts.silence.expire"]


def test_silence_input_is_validated(observed_client, register, local_vps):
    alice = register("Alice Co")
    site = _site(alice, "al-v.example.com")
    answer = observed_client.post(f"/api/v1/sites/{site}/silences", headers=alice.headers,
                                  json={"minutes": 0, "comment": "", "alertname": "a b"})
    assert answer.status_code == 422
    assert set(answer.json["errors"]) == {"minutes", "comment", "alertname"}
