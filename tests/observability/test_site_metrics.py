"""Per-site and per-VPS metrics from a real Prometheus: backfilled nginx series (known rates)
and a live node exporter."""

from __future__ import annotations

import time

import pytest

from chom.services import fleet, observability, operators
from tests.stack import EXPECTED_P95, NGINX_SITES, VPS_NAME


def _points(series: list[dict]) -> list[float]:
    assert len(series) == 1, series
    return [value for _, value in series[0]["values"]]


def _settled(series: list[dict], stack, window: float = 120) -> list[float]:
    """The points whose rate window lies inside the backfilled data (at its ends Prometheus
    extrapolates from a part of the window)."""
    first, last = stack.backfilled
    assert len(series) == 1, series
    values = [v for t, v in series[0]["values"] if t - window >= first and t <= last]
    assert values, series
    return values


def _site(account, domain):
    created = account.create_site(domain)
    assert created.status_code == 202, created.json
    account.wait_for_operation(created.json["meta"]["operation_id"])
    return created.json["data"]["id"]


def test_site_metrics_answer_the_sites_own_series(observed_client, register, local_vps,
                                                  observability_stack):
    alice = register("Alice Co")
    site_a, site_b = _site(alice, "site-a.example.com"), _site(alice, "site-b.example.com")

    answer = observed_client.get(f"/api/v1/sites/{site_a}/metrics?range=1h",
                                 headers=alice.headers)
    assert answer.status_code == 200, answer.json
    assert answer.json["meta"] == {"degraded": False}
    data = answer.json["data"]
    assert data["site_id"] == site_a and data["range"] == "1h" and data["step"] == 60
    ok, failed = NGINX_SITES["site-a.example.com"]
    assert len(_points(data["series"]["requests"])) >= 45  # 49 minutes of data, a point a minute
    requests, errors, latency = (_settled(data["series"][name], observability_stack)
                                 for name in ("requests", "errors", "latency_p95"))
    assert all(v == pytest.approx(ok + failed, rel=1e-3) for v in requests), requests
    assert all(v == pytest.approx(failed, rel=1e-3) for v in errors)
    assert all(v == pytest.approx(EXPECTED_P95, rel=1e-3) for v in latency), latency

    other = observed_client.get(f"/api/v1/sites/{site_b}/metrics?range=15m",
                                headers=alice.headers).json["data"]
    assert other["step"] == 15
    assert all(v == pytest.approx(sum(NGINX_SITES["site-b.example.com"]), rel=1e-3)
               for v in _settled(other["series"]["requests"], observability_stack))
    assert _points(other["series"]["errors"]) and not any(_points(other["series"]["errors"]))


def test_a_site_without_traffic_has_no_series(observed_client, register, local_vps):
    alice = register("Alice Co")
    quiet = _site(alice, "quiet.example.com")
    data = observed_client.get(f"/api/v1/sites/{quiet}/metrics", headers=alice.headers).json
    assert data["data"]["series"] == {"requests": [], "errors": [], "latency_p95": []}


def test_range_is_validated(observed_client, register, local_vps):
    alice = register("Alice Co")
    site = _site(alice, "site-a.example.com")
    answer = observed_client.get(f"/api/v1/sites/{site}/metrics?range=2y", headers=alice.headers)
    assert answer.status_code == 422
    assert answer.mimetype == "application/problem+json" and "range" in answer.json["errors"]


def test_vps_metrics_from_the_node_exporter(observed_app, observed_client):
    """CPU, memory and disk of a VPS (operator tools) from the live node exporter."""
    with observed_app.app_context():
        vps = fleet.add_vps(name=VPS_NAME, host="203.0.113.9", transport="local",
                            capacity=10, ssh_user="", settings={})
        deadline = time.monotonic() + 30
        while True:  # the live scrape needs a few seconds before rate() has two samples
            series = observability.vps_metrics(vps.id, "15m").value["series"]
            if all(series.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert set(series) == {"cpu", "memory", "disk"}
    for name, found in series.items():
        values = _points(found)
        assert values and all(0.0 <= v <= 1.0 for v in values), (name, values)


def test_operators_read_a_vps_load_through_the_api(observed_app, observed_client, register):
    account = register("Platform Co")
    with observed_app.app_context():
        operators.create_operator(email=account.email, name="Ops", password=account.password)
        vps_id = fleet.add_vps(name=VPS_NAME, host="203.0.113.9", transport="local",
                               capacity=10, ssh_user="", settings={}).id
    url = f"/api/v1/fleet/{vps_id}/metrics?range=15m"
    headers = {"Authorization": f"Bearer {account.token}"}
    deadline = time.monotonic() + 30
    while True:  # the live scrape needs a few seconds before rate() has two samples
        answer = observed_client.get(url, headers=headers)
        assert answer.status_code == 200, answer.json
        if all(answer.json["data"]["series"].values()) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert answer.json["meta"] == {"degraded": False}
    assert answer.json["data"]["vps"] == VPS_NAME and answer.json["data"]["range"] == "15m"
    for name in ("cpu", "memory", "disk"):
        values = _points(answer.json["data"]["series"][name])
        assert values and all(0.0 <= v <= 1.0 for v in values), (name, values)
