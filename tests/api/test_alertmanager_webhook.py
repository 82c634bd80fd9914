"""Alertmanager's webhook: a firing SiteDown alert is announced once to the site's
organization; bad tokens, resolved alerts, other alerts and unknown sites change nothing."""

from __future__ import annotations

import time

import pytest

from tests.api.test_notifications import _channel, _verify
from tests.http_receiver import Receiver

TOKEN = "am-webhook-token"


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def with_token(clean_app, monkeypatch):
    monkeypatch.setitem(clean_app.config, "CHOM_ALERTMANAGER_WEBHOOK_TOKEN", TOKEN)


def _payload(*alerts):
    """The body Alertmanager (webhook_configs, version 4) sends."""
    return {"version": "4", "groupKey": "{}:{alertname=\"SiteDown\"}", "truncatedAlerts": 0,
            "status": "firing", "receiver": "chom", "groupLabels": {"alertname": "SiteDown"},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093",
            "alerts": list(alerts)}


def _alert(site_id, *, status="firing", name="SiteDown", fingerprint="f1"):
    return {"status": status, "labels": {"alertname": name, "site_id": site_id,
                                         "severity": "critical", "instance": "https://x"},
            "annotations": {"summary": "https://x does not answer"},
            "startsAt": "2026-11-22T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph", "fingerprint": fingerprint}


def _post(client, body, token=TOKEN):
    return client.post("/api/v1/webhooks/alertmanager", json=body,
                       headers={"Authorization": f"Bearer {token}"} if token else {})


def test_a_firing_site_down_alert_is_announced_once(client, register, local_vps, receiver,
                                                    with_token):
    owner = register("Watched")
    site = owner.create_site("watched.example.com").json["data"]
    channel = _channel(owner, receiver.url + "/down", events=["site.down"])
    other = register("Bystander")
    _channel(other, receiver.url + "/bystander")

    first = _post(client, _payload(_alert(site["id"])))
    assert first.status_code == 200 and first.json["announced"] == 1
    (request,) = receiver.wait_for(1)
    event = _verify(channel["secret"], request)
    assert event["type"] == "site.down" and event["data"]["domain"] == "watched.example.com"
    assert event["tenant_id"] == owner.tenant_id

    # Alertmanager repeats the group while it fires: announced once per firing.
    assert _post(client, _payload(_alert(site["id"]))).json["announced"] == 0
    resolved = _post(client, _payload(_alert(site["id"], status="resolved")))
    assert resolved.json["announced"] == 0
    time.sleep(0.3)
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("alert", [
    _alert("not-a-uuid"), _alert("00000000-0000-0000-0000-000000000000"),
    {"status": "firing", "labels": {"alertname": "SiteDown"}},
])
def test_alerts_naming_no_known_site_are_ignored(client, with_token, alert):
    answer = _post(client, _payload(alert))
    assert answer.status_code == 200 and answer.json["announced"] == 0


def test_other_alerts_are_not_site_down(client, register, local_vps, receiver, with_token):
    owner = register("Quiet")
    site = owner.create_site("quiet.example.com").json["data"]
    _channel(owner, receiver.url + "/all")
    assert _post(client, _payload(_alert(site["id"], name="SiteErrors"))).json["announced"] == 0


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_missing_or_wrong_token_is_401(client, with_token, token):
    answer = _post(client, _payload(), token=token)
    assert answer.status_code == 401 and answer.mimetype == "application/problem+json"


def test_with_no_token_configured_every_call_is_refused(client):
    assert _post(client, _payload(), token="anything").status_code == 401


def test_a_body_without_alerts_is_422(client, with_token):
    answer = _post(client, {"version": "4"})
    assert answer.status_code == 422 and "alerts" in answer.json["errors"]
