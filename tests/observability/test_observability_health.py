"""`/api/v1/observability/health[/{component}]`: each backend's health and breaker state."""

from __future__ import annotations


def test_every_configured_backend_reports(observed_client):
    answer = observed_client.get("/api/v1/observability/health")
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "ok"
    components = answer.json["components"]
    assert {name: (c["kind"], c["status"], c["breaker"]) for name, c in components.items()} == {
        "prometheus": ("metrics", "ok", "closed"), "loki": ("logs", "ok", "closed"),
        "grafana": ("dashboards", "ok", "closed"), "alertmanager": ("alerts", "ok", "closed")}
    assert all(c["latency_ms"] >= 0 for c in components.values())
    assert components["grafana"]["version"] == "10.4.0"


def test_one_component_and_an_unknown_one(observed_client):
    one = observed_client.get("/api/v1/observability/health/alertmanager")
    assert one.status_code == 200
    assert (one.json["component"], one.json["status"], one.json["breaker"]) == (
        "alertmanager", "ok", "closed")
    unknown = observed_client.get("/api/v1/observability/health/nagios")
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"


def test_nothing_configured(client, register, local_vps):
    """The embedded default has no backend: health says so, and the data endpoints are 503."""
    assert client.get("/api/v1/observability/health").json == {"status": "none",
                                                               "components": {}}
    alice = register("Alice Co")
    site = alice.create_site("plain.example.com").json["data"]["id"]
    for path in (f"/api/v1/sites/{site}/metrics", f"/api/v1/sites/{site}/logs", "/api/v1/alerts"):
        answer = alice.get(path)
        assert answer.status_code == 503, path
        assert answer.json["type"].endswith("/observability-unavailable")


def test_backends_that_are_down_are_reported_down(make_app, observed_client):
    from tests.stack import free_port

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = make_app(PROMETHEUS_URL=dead, GRAFANA_URL=dead, GRAFANA_TOKEN="t")
    for component in ("prometheus", "grafana"):
        answer = app.test_client().get(f"/api/v1/observability/health/{component}").json
        assert (answer["status"], answer["breaker"]) == ("down", "closed"), component
        assert "error" not in answer  # the endpoint is public: no hosts or messages
    # Provisioning dashboards with Grafana down is a clear error, not a crash.
    registered = app.test_client().post("/api/v1/auth/register", json={
        "organization": "Dark Co", "name": "O", "email": "o@dark.test",
        "password": "correct horse battery staple"})
    assert registered.status_code == 201
    result = app.test_cli_runner().invoke(args=["chom", "dashboards"])
    assert result.exit_code == 1
    assert "grafana is not available: grafana did not answer (ConnectionError)" in result.output
