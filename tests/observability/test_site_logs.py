"""Site logs through LogQL, against the Loki fake (which parses LogQL as Loki does)."""

from __future__ import annotations

import time

import requests

from chom.integration.observability.loki import site_query
from tests.fakes.loki import parse


def _push(loki_url: str, host: str, job: str, lines: list[str]) -> None:
    now = time.time_ns()
    values = [[str(now - (len(lines) - i) * 1_000_000), line] for i, line in enumerate(lines)]
    answer = requests.post(f"{loki_url}/loki/api/v1/push", timeout=5, json={
        "streams": [{"stream": {"host": host, "job": job}, "values": values}]})
    assert answer.status_code == 204


def _site(account, domain):
    created = account.create_site(domain)
    account.wait_for_operation(created.json["meta"]["operation_id"])
    return created.json["data"]["id"]


def test_a_sites_logs_newest_first_and_only_its_own(observed_client, observability_stack,
                                                   register, local_vps):
    alice = register("Alice Co")
    site = _site(alice, "logs-a.example.com")
    loki = observability_stack.loki.url
    _push(loki, "logs-a.example.com", "nginx_access", ['GET / 200', 'GET /about 200'])
    _push(loki, "logs-a.example.com", "php_fpm", ["PHP Warning: undefined index"])
    _push(loki, "logs-b.example.com", "nginx_access", ["GET /secret-of-b 200"])
    _push(loki, "logs-a.example.com", "unrelated_job", ["not a site log"])

    answer = observed_client.get(f"/api/v1/sites/{site}/logs?since=15m", headers=alice.headers)
    assert answer.status_code == 200, answer.json
    lines = answer.json["data"]
    assert answer.json["meta"] == {"degraded": False}
    assert {line["line"] for line in lines} == {"GET / 200", "GET /about 200",
                                                 "PHP Warning: undefined index"}
    stamps = [line["timestamp"] for line in lines]
    assert stamps == sorted(stamps, reverse=True)
    assert {line["source"] for line in lines} == {"nginx_access", "php_fpm"}

    only = observed_client.get(f"/api/v1/sites/{site}/logs?q=about&limit=5",
                               headers={**alice.headers, "X-Correlation-ID": "trace-logs-1"})
    assert [line["line"] for line in only.json["data"]] == ["GET /about 200"]
    # The request's correlation id went along to Loki.
    assert observability_stack.loki.server.correlation_ids[-1] == "trace-logs-1"


def test_the_line_filter_stays_a_literal(observed_client, observability_stack, register,
                                         local_vps):
    """Quotes, backslashes, braces and newlines in `q` are text to find, never LogQL."""
    alice = register("Alice Co")
    site = _site(alice, "logs-q.example.com")
    tricky = 'say "hi" \\ } |= "x" {job=~".+"}\n'
    _push(observability_stack.loki.url, "logs-q.example.com", "nginx_error",
          [f"error: {tricky} end", "plain line"])
    answer = observed_client.get(f"/api/v1/sites/{site}/logs", query_string={"q": tricky},
                                 headers=alice.headers)
    assert answer.status_code == 200, answer.json
    assert [line["line"] for line in answer.json["data"]] == [f"error: {tricky} end"]
    # What reached Loki: one selector on the site's host, and the text as one filter.
    matchers, filters = parse(site_query("logs-q.example.com", tricky))
    assert ("host", "=", "logs-q.example.com") in matchers
    assert filters == [("|=", tricky)]


def test_q_too_long_is_422(observed_client, register, local_vps):
    alice = register("Alice Co")
    site = _site(alice, "logs-l.example.com")
    answer = observed_client.get(f"/api/v1/sites/{site}/logs", query_string={"q": "x" * 201},
                                 headers=alice.headers)
    assert answer.status_code == 422 and "q" in answer.json["errors"]
