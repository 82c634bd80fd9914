"""`GET /prometheus/metrics`: access, request metrics by rule, business metrics from the DB."""

from __future__ import annotations

import json
import uuid

from prometheus_client.parser import text_string_to_metric_families

from tests.observability.conftest import samples, scrape, value


def test_loopback_gets_prometheus_text(client):
    response = scrape(client)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert "version=" in response.headers["Content-Type"]
    families = samples(response.get_data(as_text=True))
    assert "chom_sites" in families
    assert "chom_http_request_duration_seconds" in families or "chom_exporter_info" in families
    assert value(response.get_data(as_text=True), "chom_metrics_source_up", source="database") == 1


def test_openmetrics_when_asked(client):
    response = scrape(client, headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.status_code == 200
    assert response.mimetype == "application/openmetrics-text"
    assert response.get_data(as_text=True).rstrip().endswith("# EOF")


def test_an_address_outside_the_whitelist_gets_403_problem_json(client):
    response = scrape(client, remote_addr="203.0.113.7")
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    body = json.loads(response.get_data(as_text=True))
    assert body["status"] == 403 and body["type"].endswith("/forbidden")
    assert "chom_" not in response.get_data(as_text=True)


def test_cidr_and_ipv6_entries(make_app):
    client = make_app(METRICS_IP_WHITELIST="10.0.0.0/8, 2001:db8::/32, 192.0.2.5").test_client()
    assert scrape(client, "10.20.30.40").status_code == 200
    assert scrape(client, "2001:db8::5").status_code == 200
    assert scrape(client, "192.0.2.5").status_code == 200
    assert scrape(client, "192.0.2.6").status_code == 403
    assert scrape(client, "11.0.0.1").status_code == 403
    assert scrape(client, "127.0.0.1").status_code == 403
    assert scrape(client, "2001:db9::1").status_code == 403


def test_empty_whitelist_refuses_everyone(make_app):
    client = make_app(METRICS_IP_WHITELIST="").test_client()
    assert scrape(client, "127.0.0.1").status_code == 403


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(make_app):
    scraper = "198.51.100.7"
    plain = make_app(METRICS_IP_WHITELIST=scraper).test_client()
    forged = {"X-Forwarded-For": scraper}
    assert scrape(plain, "127.0.0.1", headers=forged).status_code == 403
    assert scrape(plain, scraper, headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200

    proxied = make_app(METRICS_IP_WHITELIST=scraper,
                       CHOM_TRUSTED_PROXIES="127.0.0.0/8, ::1").test_client()
    assert scrape(proxied, "127.0.0.1", headers=forged).status_code == 200
    assert scrape(proxied, "::1", headers=forged).status_code == 200
    # Not from the proxy: the header means nothing.
    assert scrape(proxied, "192.0.2.1", headers=forged).status_code == 403
    # The client prepended the whitelisted address; the proxy appended the real one.
    spoofed = {"X-Forwarded-For": f"{scraper}, 203.0.113.9"}
    assert scrape(proxied, "127.0.0.1", headers=spoofed).status_code == 403
    assert scrape(proxied, "127.0.0.1", headers={"X-Forwarded-For": "junk"}).status_code == 403
    # The proxy itself is not whitelisted.
    assert scrape(proxied, "127.0.0.1").status_code == 403


def test_request_metrics_are_labelled_by_rule_not_path(make_app):
    app = make_app()
    client = app.test_client()
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for site_id in ids:
        client.get(f"/api/v1/sites/{site_id}")
    client.get(f"/no/such/{uuid.uuid4()}")
    client.get(f"/no/such/{uuid.uuid4()}")
    text = scrape(client).get_data(as_text=True)
    assert not any(site_id in text for site_id in ids)
    assert "/no/such" not in text
    durations = samples(text)["chom_http_request_duration_seconds"]
    counts = [s for s in durations if s.name.endswith("_count")]
    by_rule = {s.labels["url_rule"]: s for s in counts}
    assert by_rule["/api/v1/sites/<site_id>"].value == 3
    assert by_rule["<unmatched>"].value == 2
    assert len([s for s in counts if s.labels["url_rule"] == "/api/v1/sites/<site_id>"]) == 1
    # The scrape does not count itself.
    assert "/prometheus/metrics" not in by_rule
    scrape(client)
    again = samples(scrape(client).get_data(as_text=True))["chom_http_request"]
    assert sum(s.value for s in again if s.name == "chom_http_request_total") == 5


def test_namespace_comes_from_the_setting(make_app):
    client = make_app(METRICS_NAMESPACE="hosting").test_client()
    client.get("/api/v1/health")
    names = set(samples(scrape(client).get_data(as_text=True)))
    assert {"hosting_sites", "hosting_http_request_duration_seconds",
            "hosting_queue_depth"} <= names
    assert not any(name.startswith("chom_") for name in names)


def test_many_apps_in_one_process_do_not_collide(make_app):
    first, second = make_app().test_client(), make_app().test_client()
    first.get("/api/v1/health")
    assert value(scrape(first).get_data(as_text=True), "chom_http_request_total",
                 method="GET", status="200") == 1
    assert value(scrape(second).get_data(as_text=True), "chom_http_request_total",
                 method="GET", status="200") is None


def test_business_metrics_reflect_the_database(client, register, local_vps):
    acme, globex = register("Acme"), register("Globex")
    created = []
    for account, domain in ((acme, "one.acme.test"), (acme, "two.acme.test"),
                            (globex, "www.globex.test")):
        response = account.create_site(domain)
        assert response.status_code == 202, response.json
        created.append((account, response.json["data"], response.json["meta"]["operation_id"]))
    for account, _site, operation_id in created:
        assert account.wait_for_operation(operation_id)["status"] == "succeeded"

    text = scrape(client).get_data(as_text=True)
    assert value(text, "chom_sites", type="html", status="active") == 3
    assert value(text, "chom_sites", type="html", status="failed") == 0
    assert value(text, "chom_sites", type="wordpress", status="active") == 0
    assert value(text, "chom_operations", kind="provision", status="succeeded") == 3
    assert value(text, "chom_operations", kind="provision", status="failed") == 0
    assert value(text, "chom_operation_duration_seconds_count",
                 kind="provision", status="succeeded") == 3
    assert value(text, "chom_operation_duration_seconds_bucket",
                 kind="provision", status="succeeded", le="+Inf") == 3
    assert value(text, "chom_operation_duration_seconds_sum",
                 kind="provision", status="succeeded") >= 0
    assert value(text, "chom_vps_capacity_sites", vps="local-test") == 100
    assert value(text, "chom_vps_used_sites", vps="local-test") == 3
    assert value(text, "chom_vps_servers", status="active") == 1
    assert value(text, "chom_queue_depth", queue="chom") == 0
    assert value(text, "chom_queue_failed_jobs", queue="chom") == 0
    assert value(text, "chom_metrics_source_up", source="queue") == 1

    # No label anywhere names a tenant, organization, user, site or domain.
    private = {acme.tenant_id, globex.tenant_id, acme.organization_id, globex.organization_id,
               acme.user_id, globex.user_id, acme.email, globex.email}
    private |= {site["id"] for _a, site, _o in created}
    private |= {site["domain"] for _a, site, _o in created}
    labels = {name: v for family in text_string_to_metric_families(text)
              for s in family.samples for name, v in s.labels.items()}
    label_values = {v for family in text_string_to_metric_families(text)
                    for s in family.samples for v in s.labels.values()}
    assert not label_values & private
    assert not any(secret in v for v in label_values for secret in ("acme", "globex"))
    assert not {"tenant", "tenant_id", "domain", "user", "organization", "site"} & set(labels)


def test_histogram_buckets_are_cumulative_and_bounded(client, register, local_vps):
    account = register("Acme")
    response = account.create_site("a.acme.test")
    account.wait_for_operation(response.json["meta"]["operation_id"])
    text = scrape(client).get_data(as_text=True)
    buckets = [s for s in samples(text)["chom_operation_duration_seconds"]
               if s.name.endswith("_bucket") and s.labels["kind"] == "provision"]
    values = [s.value for s in buckets]
    assert values == sorted(values) and values[-1] == 1
    assert len(buckets) == 11


def test_a_failing_source_is_reported_down_and_the_scrape_still_answers(make_app):
    app = make_app()

    class BrokenQueue:
        def depth(self):
            raise ConnectionError("redis is down")

        failed_count = depth

    app.extensions["chom_queue"] = BrokenQueue()
    response = scrape(app.test_client())
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert value(text, "chom_metrics_source_up", source="queue") == 0
    assert value(text, "chom_metrics_source_up", source="database") == 1
    assert value(text, "chom_queue_depth", queue="chom") is None
    assert value(text, "chom_sites", type="html", status="active") == 0


def test_refused_requests_are_counted_too(make_app):
    """Refusals by the hooks before any view (rate limit, authentication, unstorable input)
    are requests like any other: counted under their rule with their status."""
    client = make_app(CHOM_RATE_LIMIT_AUTH="1/minute").test_client()
    client.get(f"/api/v1/sites/{uuid.uuid4()}")  # no token: 401
    client.get("/api/v1/sites?type=a%00")  # NUL: 422, before authentication
    for _ in range(2):  # the second is over the limit: 429
        client.post("/api/v1/auth/login", json={"email": "x@example.com", "password": "x"})
    counts = [s for s in samples(scrape(client).get_data(as_text=True))[
        "chom_http_request_duration_seconds"] if s.name.endswith("_count")]
    seen = {(s.labels["url_rule"], s.labels["status"]): s.value for s in counts}
    assert seen[("/api/v1/sites/<site_id>", "401")] == 1
    assert seen[("/api/v1/sites", "422")] == 1
    assert seen[("/api/v1/auth/login", "401")] == 1
    assert seen[("/api/v1/auth/login", "429")] == 1
