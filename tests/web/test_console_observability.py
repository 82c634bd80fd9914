"""Console pages over the real observability stack: the site page's charts (real Prometheus
with backfilled nginx series and a live node exporter), its alerts and silences (real
Alertmanager), the logs page (the Loki fake), the dashboard's alerts panel and the platform
health page — fresh, degraded (a backend cut off, the answer from the shared cache) and
unavailable (nothing kept: a box, never a 500)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from chom import create_app
from chom.extensions import db
from chom.services import fleet, operators
from tests.conftest import PASSWORD, TEST_REDIS_URL, base_config
from tests.stack import VPS_NAME, free_port
from tests.web.console import log_in, member_client


@pytest.fixture
def observed_vps(clean_app, tmp_path):
    """A `local`-transport VPS named as the node exporter's target, so its load is charted."""
    with clean_app.app_context():
        settings = operators.local_vps_settings(str(tmp_path / "vps"))
        settings["commands"] = {**settings["commands"], "mysql": ["true"]}
        vps = fleet.add_vps(name=VPS_NAME, host="localhost", transport="local", capacity=100,
                            ssh_user="", settings=settings)
        return str(vps.id)


@pytest.fixture
def cut_off_app(observed_client, tmp_path):
    """An app whose backends are a closed port, sharing the stack-connected app's Redis (its
    breakers and its cache of good answers)."""
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = create_app(base_config(
        tmp_path / "cut-off", CHOM_JOB_MODE="rq", REDIS_URL=TEST_REDIS_URL,
        CHOM_QUEUE_NAME="chom-test-console-cut-off", CHOM_BACKEND_RETRY_ATTEMPTS=1,
        PROMETHEUS_URL=dead, LOKI_URL=dead, ALERTMANAGER_URL=dead))
    yield app
    with app.app_context():
        db.engine.dispose()


def _site(account, domain):
    created = account.create_site(domain)
    assert created.status_code == 202, created.json
    account.wait_for_operation(created.json["meta"]["operation_id"])
    return created.json["data"]["id"]


def _console(app, account):
    client = app.test_client()
    log_in(client, account.email)
    return client


def _fire(alertmanager_url: str, alerts: list[dict]) -> None:
    now = datetime.now(UTC)
    body = [{"labels": labels, "annotations": {"summary": f"{labels['alertname']} fired"},
             "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat()}
            for labels in alerts]
    assert requests.post(f"{alertmanager_url}/api/v2/alerts", json=body,
                         timeout=5).status_code == 200


def _values(page: str, chart_id: str) -> list[str]:
    """The values in a chart's table."""
    figure = page.split(f'id="chart-{chart_id}"', 1)[1].split("</figure>", 1)[0]
    return re.findall(r'<td data-label="Value">([^<]+)</td>', figure)


def test_site_page_charts_the_sites_traffic_and_its_vps_load(observed_app, observed_client,
                                                            register, observed_vps):
    owner = register("Charts Co")
    site = _site(owner, "site-a.example.com")
    client = _console(observed_app, owner)

    deadline = time.monotonic() + 30
    while True:  # the node exporter's first scrape may not have happened yet
        answer = client.get(f"/sites/{site}?range=1h")
        page = answer.get_data(as_text=True)
        if _values(page, "vps-memory") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert answer.status_code == 200
    assert '<option value="1h" selected>' in page
    assert page.count('<svg viewBox="0 0 480 180" role="img"') == 6
    # The backfilled site: 0.8 requests/s answered 2xx and 0.2/s 5xx, each in 50-100 ms.
    assert "1.00/s" in _values(page, "site-requests")
    assert "0.20/s" in _values(page, "site-errors")
    assert "98 ms" in _values(page, "site-latency_p95")
    assert re.search(r'<desc id="site-requests-svg-desc">Requests: latest [0-9.]+/s', page)
    assert page.count("<polyline points=") >= 4  # three of the site, memory and disk at least
    assert f"Load of its VPS ({VPS_NAME})" in page
    assert all(value.endswith("%") for value in _values(page, "vps-memory"))
    assert "Degraded" not in page and "unavailable" not in page

    seven_days = client.get(f"/sites/{site}?range=7d").get_data(as_text=True)
    assert '<option value="7d" selected>' in seven_days and "last 7 days" in seven_days
    # A range we do not offer is the default one, not an error.
    assert '<option value="1h" selected>' in client.get(
        f"/sites/{site}?range=2y").get_data(as_text=True)

    quiet = _site(owner, "quiet.example.com")
    quiet_page = client.get(f"/sites/{quiet}").get_data(as_text=True)
    for name in ("requests", "errors", "latency_p95"):
        figure = quiet_page.split(f'id="chart-site-{name}"', 1)[1].split("</figure>", 1)[0]
        assert "No data in this range" in figure and "<polyline" not in figure, name


def test_metrics_degraded_then_unavailable_never_an_error(observed_app, observed_client,
                                                          cut_off_app, register, observed_vps):
    owner = register("Degraded Co")
    site = _site(owner, "site-b.example.com")
    connected = _console(observed_app, owner)
    assert connected.get("/dashboard").status_code == 200  # its alerts panel, kept
    fresh = connected.get(f"/sites/{site}?range=15m")
    assert fresh.status_code == 200
    # site-b's own series (3 requests/s; site-a's never exceeds 1/s). Not "no 1.00/s": a rate at
    # the edge of the backfilled samples is extrapolated from part of its window.
    rates = [float(v.removesuffix("/s")) for v in _values(fresh.get_data(as_text=True),
                                                         "site-requests")]
    assert rates and max(rates) == 3.0

    cut_off = _console(cut_off_app, owner)
    degraded = cut_off.get(f"/sites/{site}?range=15m")
    assert degraded.status_code == 200
    page = degraded.get_data(as_text=True)
    assert re.search(r"Degraded: data from \d+ s ago", page)
    assert "3.00/s" in _values(page, "site-requests")  # the kept answer, drawn

    never_asked = cut_off.get(f"/sites/{site}?range=6h")
    assert never_asked.status_code == 200
    text = never_asked.get_data(as_text=True)
    assert "Metrics unavailable." in text and "prometheus is not available" in text
    assert "<svg" not in text
    # The alerts fetched for the page before are answered from the cache too.
    assert text.count("Degraded: data from") >= 1

    # The dashboard's alerts panel: the kept answer, marked; another tenant's never fetched.
    panel = cut_off.get("/dashboard").get_data(as_text=True).split(
        'id="active-alerts"', 1)[1].split("</section>", 1)[0]
    assert re.search(r"Degraded: data from \d+ s ago", panel) and "No active alerts." in panel
    newcomer = register("Newcomer Co")
    cold = _console(cut_off_app, newcomer).get("/dashboard")
    assert cold.status_code == 200
    assert "No alerts to show: alertmanager is not available" in cold.get_data(as_text=True)

    # The console's failed calls opened Prometheus's breaker: the health page shows it.
    health = cut_off.get("/platform/health").get_data(as_text=True)
    backend = health.split('id="backend-prometheus"', 1)[1].split("</tr>", 1)[0]
    assert "badge-health-down" in backend and "open (calls refused)" in backend


def test_logs_page_searches_and_keeps_the_query(observed_app, observed_client, cut_off_app,
                                                observability_stack, register, observed_vps):
    owner = register("Logs Co")
    site = _site(owner, "console-logs.example.com")
    now = time.time_ns()
    pushed = requests.post(f"{observability_stack.loki.url}/loki/api/v1/push", timeout=5, json={
        "streams": [{"stream": {"host": "console-logs.example.com", "job": "nginx_access"},
                     "values": [[str(now - 2000), "GET / 200"],
                                [str(now - 1000), "GET /about <b>200</b>"]]}]})
    assert pushed.status_code == 204
    client = _console(observed_app, owner)
    assert f'href="/sites/{site}/logs"' in client.get(f"/sites/{site}").get_data(as_text=True)

    everything = client.get(f"/sites/{site}/logs?since=15m").get_data(as_text=True)
    assert "<code>GET / 200</code>" in everything
    assert "<code>GET /about &lt;b&gt;200&lt;/b&gt;</code>" in everything  # escaped
    found = client.get(f"/sites/{site}/logs?since=15m&q=about")
    text = found.get_data(as_text=True)
    assert found.status_code == 200
    assert "GET /about" in text and "<code>GET / 200</code>" not in text
    assert 'value="about"' in text and '<option value="15m" selected>' in text
    assert "No log lines containing “nothing-like-this”" in client.get(
        f"/sites/{site}/logs?q=nothing-like-this").get_data(as_text=True)

    too_long = client.get(f"/sites/{site}/logs?q={'x' * 201}")
    assert too_long.status_code == 422
    assert 'aria-invalid="true"' in too_long.get_data(as_text=True)
    assert f'value="{"x" * 201}"' in too_long.get_data(as_text=True)

    cut_off = _console(cut_off_app, owner)
    degraded = cut_off.get(f"/sites/{site}/logs?since=15m&q=about").get_data(as_text=True)
    assert re.search(r"Degraded: data from \d+ s ago", degraded) and "GET /about" in degraded
    unavailable = cut_off.get(f"/sites/{site}/logs?since=24h&q=cold")
    assert unavailable.status_code == 503
    assert "Logs unavailable." in unavailable.get_data(as_text=True)
    assert 'value="cold"' in unavailable.get_data(as_text=True)


def test_alerts_silenced_and_expired_from_the_site_page(observed_app, observed_client,
                                                        observability_stack, register,
                                                        observed_vps):
    owner = register("Alerts Co")
    site, calm = _site(owner, "alerting.example.com"), _site(owner, "calm.example.com")
    _fire(observability_stack.config["ALERTMANAGER_URL"],
          [{"alertname": "SiteDown", "site_id": site, "severity": "critical"}])
    client = _console(observed_app, owner)

    dashboard = client.get("/dashboard").get_data(as_text=True)
    panel = dashboard.split('id="active-alerts"', 1)[1].split("</section>", 1)[0]
    assert "SiteDown" in panel and f'href="/sites/{site}#alerts">alerting.example.com' in panel
    assert "calm.example.com" not in panel

    page = client.get(f"/sites/{site}").get_data(as_text=True)
    assert "<strong>SiteDown</strong> · SiteDown fired" in page and "No silences." in page
    assert '<option value="SiteDown"' in page

    refused = client.post(f"/sites/{site}/silences",
                          data={"minutes": "45", "comment": " ", "alertname": "SiteDown"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'id="comment" name="comment" value=" "' in text and 'value="45"' in text
    assert re.search(r'id="comment-errors"><p class="field-error">', text)
    assert client.post(f"/sites/{site}/silences", data={
        "minutes": "0", "comment": "x", "alertname": ""}).status_code == 422

    made = client.post(f"/sites/{site}/silences", data={
        "minutes": "45", "comment": "deploying", "alertname": "SiteDown"},
        follow_redirects=True)
    text = made.get_data(as_text=True)
    assert "silenced for 45 minutes" in text
    assert "SiteDown · active until" in text and "“deploying”" in text
    assert "No active alerts." in text  # silenced alerts leave the active list
    silence_id = re.search(rf"/sites/{site}/silences/([0-9a-f-]+)/expire", text).group(1)
    assert "No active alerts." in client.get("/dashboard").get_data(as_text=True)

    # Expiring it through another of the tenant's sites is a 404.
    assert client.post(f"/sites/{calm}/silences/{silence_id}/expire").status_code == 404
    expired = client.post(f"/sites/{site}/silences/{silence_id}/expire",
                          follow_redirects=True).get_data(as_text=True)
    assert "Silence expired." in expired and "No silences." in expired
    assert "<strong>SiteDown</strong>" in expired


def test_viewers_see_alerts_but_no_silence_buttons_and_others_get_404(
        observed_app, observed_client, observability_stack, register, observed_vps):
    owner, stranger = register("Roles Co"), register("Stranger Co")
    site = _site(owner, "roles-alert.example.com")
    _fire(observability_stack.config["ALERTMANAGER_URL"],
          [{"alertname": "SiteDown", "site_id": site, "severity": "critical"}])
    client = _console(observed_app, owner)
    made = client.post(f"/sites/{site}/silences", data={"minutes": "30", "comment": "m"},
                       follow_redirects=True).get_data(as_text=True)
    silence_id = re.search(rf"/sites/{site}/silences/([0-9a-f-]+)/expire", made).group(1)

    viewer, _ = member_client(observed_app, owner, "viewer")
    page = viewer.get(f"/sites/{site}").get_data(as_text=True)
    assert "All alerts · active until" in page and "<svg" in page
    assert "Expire" not in page and "Silence alerts" not in page and "/silences" not in page
    assert viewer.post(f"/sites/{site}/silences",
                       data={"minutes": "30", "comment": "no"}).status_code == 403
    assert viewer.post(f"/sites/{site}/silences/{silence_id}/expire").status_code == 403
    assert viewer.get(f"/sites/{site}/logs").status_code == 200

    member, _ = member_client(observed_app, owner, "member")
    assert "Silence alerts" in member.get(f"/sites/{site}").get_data(as_text=True)

    other = _console(observed_app, stranger)
    assert other.get(f"/sites/{site}").status_code == 404
    assert other.get(f"/sites/{site}/logs").status_code == 404
    assert other.post(f"/sites/{site}/silences",
                      data={"minutes": "30", "comment": "x"}).status_code == 404
    assert other.post(f"/sites/{site}/silences/{silence_id}/expire").status_code == 404
    # Nothing of the owner's shows on the stranger's dashboard.
    assert "roles-alert.example.com" not in other.get("/dashboard").get_data(as_text=True)


def test_dashboard_alerts_panel_empty_states(observed_app, observed_client, clean_app,
                                             register, observed_vps):
    owner = register("Empty Co")
    _site(owner, "no-alerts.example.com")
    panel = _console(observed_app, owner).get("/dashboard").get_data(as_text=True)
    assert "Active alerts" in panel and "No active alerts." in panel
    # The embedded default has no Alertmanager: an empty panel saying so.
    plain = _console(clean_app, owner).get("/dashboard")
    assert plain.status_code == 200
    assert "No alerts to show: No alerts backend is configured" in plain.get_data(as_text=True)


def test_health_page_for_operators_admins_and_owners(observed_app, observed_client, register):
    owner = register("Health Co")
    client = _console(observed_app, owner)
    assert 'href="/platform/health"' in client.get("/dashboard").get_data(as_text=True)
    page = client.get("/platform/health")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for name in ("prometheus", "loki", "grafana", "alertmanager"):
        row = text.split(f'id="backend-{name}"', 1)[1].split("</tr>", 1)[0]
        assert "badge-health-ok" in row and "closed (calls pass)" in row, name
    for check in ("database", "redis", "queue"):
        assert f'id="check-{check}"' in text
    assert "mode: rq" in text

    admin, _ = member_client(observed_app, owner, "admin")
    assert admin.get("/platform/health").status_code == 200
    for role in ("member", "viewer"):
        other, _ = member_client(observed_app, owner, role)
        assert 'href="/platform/health"' not in other.get("/dashboard").get_data(as_text=True)
        assert other.get("/platform/health").status_code == 403

    with observed_app.app_context():  # an operator with no organization
        operators.create_operator(email="ops@platform.test", name="Ops", password=PASSWORD)
    ops = observed_app.test_client()
    log_in(ops, "ops@platform.test")
    assert ops.get("/platform/health").status_code == 200
