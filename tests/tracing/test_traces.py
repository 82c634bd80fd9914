"""One trace from the API request to every step on the VPS, over the real OTLP wire format."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import select

from chom import create_app, tracing
from chom.extensions import db
from chom.models import Site
from chom.services import fleet as fleet_service
from tests.conftest import PASSWORD, Account, base_config

SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5  # OTLP's Span.SpanKind numbers
WORDPRESS = {"site_title": "Traced Blog", "admin_user": "editor",
             "admin_email": "editor@example.com", "admin_password": "a traced admin passphrase"}


@pytest.fixture
def fleet_vps(clean_app, fleet):
    with clean_app.app_context():
        for host in fleet.hosts:
            fleet_service.add_vps(**host.add_vps_kwargs(
                settings={**host.profile, "ssh_key_path": host.client_key_path}))
    return fleet.hosts


def _provisioned(account, response, timeout=240):
    assert response.status_code == 202, response.json
    operation = account.wait_for_operation(response.json["meta"]["operation_id"],
                                           timeout=timeout)
    assert operation["status"] == "succeeded", operation["log"]
    return response.json["data"], operation


def _complete(spans, trace_id, step_count):
    mine = [s for s in spans if s.trace_id == trace_id]
    return (sum(s.name.startswith("step ") for s in mine) >= step_count
            and any(s.name.startswith("job ") for s in mine)
            and any(s.name == "apply batch" for s in mine))


def _ancestors(span, by_id):
    chain = []
    while span.parent_span_id:
        span = by_id[span.parent_span_id]  # a KeyError is a broken parent link
        chain.append(span)
    return chain


def test_creating_a_site_is_one_trace_from_request_to_every_step(
        register_traced, fleet_vps, collector, traced_workers):
    account = register_traced("Traced Co")
    site, operation = _provisioned(account, account.create_site(
        "traced.example.com", type="wordpress", options=WORDPRESS))
    trace_id = operation["trace_id"]
    assert trace_id and len(trace_id) == 32
    tracing.flush()
    spans = collector.wait_for(lambda got: _complete(got, trace_id, operation["step_count"]))
    mine = [s for s in spans if s.trace_id == trace_id]
    by_id = {s.span_id: s for s in mine}

    request = next(s for s in mine if s.kind == SERVER and s.name == "POST /api/v1/sites")
    assert request.parent_span_id == ""  # the trace's root
    assert request.service == "chom-web"
    assert request.attributes["chom.correlation_id"] == operation["correlation_id"]
    enqueue = next(s for s in mine if s.kind == PRODUCER)
    assert request in _ancestors(enqueue, by_id)
    job = next(s for s in mine if s.kind == CONSUMER)
    assert job.service == "chom-worker"
    assert job.parent_span_id == enqueue.span_id
    assert job.attributes["chom.site_id"] == site["id"]
    assert job.attributes["chom.correlation_id"] == operation["correlation_id"]
    batch = next(s for s in mine if s.name == "apply batch")
    assert batch.parent_span_id == job.span_id
    assert batch.attributes["chom.site.ids"] == [site["id"]]
    invocations = [s for s in mine if s.name.startswith("vps.run")]
    program = next(s for s in invocations if s.parent_span_id == batch.span_id)
    assert program.kind == CLIENT
    assert program.attributes["chom.vps.name"] == site["vps"]["name"]
    assert program.attributes["chom.exit_status"] == 0
    assert program.attributes["chom.duration_ms"] > 0

    steps = sorted((s for s in mine if s.name.startswith("step ")),
                   key=lambda s: s.attributes["chom.step.index"])
    assert [s.attributes["chom.step.index"] for s in steps] == \
        list(range(1, operation["step_count"] + 1))
    for step in steps:
        assert step.parent_span_id == program.span_id
        assert step.attributes["chom.site_id"] == site["id"]
        assert step.attributes["chom.vps_name"] == site["vps"]["name"]
        assert step.attributes["chom.step.result"] in ("changed", "unchanged")
        assert step.attributes["chom.step.exit_status"] == 0
        assert step.attributes["chom.step.duration_ms"] >= 0
        assert program.start_ns <= step.start_ns <= step.end_ns <= program.end_ns
    assert {"EnsureDatabase", "EnsureNginxSite"} <= {s.attributes["chom.step.name"]
                                                     for s in steps}
    # The libraries' own spans hang in the same tree: SQL in the request, Redis in the enqueue.
    assert any(s.attributes.get("db.system") == "postgresql"
               and request in _ancestors(s, by_id) for s in mine)
    assert any(s.attributes.get("db.system") == "redis" and enqueue in _ancestors(s, by_id)
               for s in mine)
    # ...and in the worker, whose engine was made before its own tracing set-up.
    assert any(s.service == "chom-worker" and s.attributes.get("db.system") == "postgresql"
               and job in _ancestors(s, by_id) for s in mine)
    # Statements, not the pool's checkouts (no remote call): no "connect" spans.
    assert not [s for s in mine if s.name == "connect"]
    for span in mine:
        assert span is request or request in _ancestors(span, by_id), span.name

    _no_secret_anywhere(collector.received(), traced_workers.app, site["id"])


def _no_secret_anywhere(spans, app, site_id):
    with app.app_context():
        site = db.session.scalar(select(Site).where(Site.id == uuid.UUID(site_id)))
        password = app.extensions["chom_secrets"].decrypt(site.db_password_encrypted)
    secrets = [password, WORDPRESS["admin_password"],
               *app.config["CHOM_ENCRYPTION_KEYS"].split(",")]
    assert len(password) >= 16
    for span in spans:
        texts = [span.name, span.status_message, *map(str, span.attributes.values()),
                 *(str(event) for event in span.events)]
        for text in texts:
            for secret in secrets:
                assert secret not in text, f"a secret in {span.name}"


def test_a_vps_out_of_reach_shows_each_retry_in_the_same_trace(
        register_traced, fleet_vps, collector, traced_workers):
    account = register_traced("Unreachable Co")
    host = fleet_vps[0]
    for other in fleet_vps[1:]:
        other.kill_sshd()  # the site goes to the host whose sshd is down
    host.kill_sshd()
    try:
        created = account.create_site("unreachable.example.com")
        operation = account.wait_for_operation(created.json["meta"]["operation_id"], timeout=60)
    finally:
        for each in fleet_vps:
            each.start_sshd()
    assert operation["status"] == "failed"
    tracing.flush()
    trace_id = operation["trace_id"]
    runs = 1 + len(traced_workers.config["CHOM_JOB_RETRY_INTERVALS"])
    spans = collector.wait_for(lambda got: sum(
        s.trace_id == trace_id and s.kind == CONSUMER for s in got) == runs)
    mine = {s.span_id: s for s in spans if s.trace_id == trace_id}
    enqueue = next(s for s in mine.values() if s.kind == PRODUCER)
    jobs = [s for s in mine.values() if s.kind == CONSUMER]
    assert {job.parent_span_id for job in jobs} == {enqueue.span_id}  # every retry continues
    failed = [s for s in mine.values() if s.name.startswith("vps.run")]
    assert failed and all(s.status_code == 2 for s in failed)  # STATUS_CODE_ERROR
    for span in failed:
        # The error's type, never its message (which names hosts, ports, output).
        assert span.status_message == span.attributes["error.type"]
        assert span.status_message in ("TransportUnavailable", "CircuitOpen")
        assert span.events == []
    for span in mine.values():  # the batch's and the jobs' spans too: no message, no output
        assert ":" not in span.status_message and host.address not in span.status_message


def test_an_incoming_traceparent_is_continued(register_traced, traced_workers, collector):
    account = register_traced("Caller Co")
    trace_id, parent_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    response = account.get("/api/v1/sites",
                           headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})
    assert response.status_code == 200
    tracing.flush()
    spans = collector.wait_for(lambda got: any(s.trace_id == trace_id and s.kind == SERVER
                                               for s in got))
    server = next(s for s in spans if s.trace_id == trace_id and s.kind == SERVER)
    assert server.name == "GET /api/v1/sites"
    assert server.parent_span_id == parent_id
    assert server.attributes["chom.correlation_id"] == response.headers["X-Correlation-ID"]


def test_the_console_links_an_operation_to_its_trace(register_traced, local_vps,
                                                     traced_workers, monkeypatch):
    account = register_traced("Linked Co")
    created = account.create_site("linked.example.com")
    operation = account.wait_for_operation(created.json["meta"]["operation_id"])
    site_id = created.json["data"]["id"]
    browser = traced_workers.app.test_client()
    assert browser.post("/login", data={"email": account.email,
                                        "password": account.password}).status_code == 302
    plain = browser.get(f"/sites/{site_id}/progress").get_data(as_text=True)
    assert "Jaeger" not in plain  # no JAEGER_UI_URL, no link
    monkeypatch.setitem(traced_workers.app.config, "JAEGER_UI_URL", "http://jaeger.test:16686/")
    linked = browser.get(f"/sites/{site_id}/progress").get_data(as_text=True)
    assert f'href="http://jaeger.test:16686/trace/{operation["trace_id"]}"' in linked


def test_a_job_run_in_process_continues_its_request_trace(clean_app, local_vps, traced_env,
                                                           collector, tmp_path):
    in_process = create_app(base_config(tmp_path, CHOM_JOB_MODE="thread"))
    account = Account(in_process.test_client(), in_process.test_client().post(
        "/api/v1/auth/register", json={"organization": "Thread Co", "name": "T",
                                       "email": "t@thread.test", "password": PASSWORD},
    ).json["data"], PASSWORD)
    created = account.create_site("thread.example.com")
    operation = account.wait_for_operation(created.json["meta"]["operation_id"])
    assert operation["status"] == "succeeded", operation["log"]
    tracing.flush()
    spans = collector.wait_for(lambda got: _complete(got, operation["trace_id"],
                                                     operation["step_count"]))
    mine = {s.span_id: s for s in spans if s.trace_id == operation["trace_id"]}
    job = next(s for s in mine.values() if s.kind == CONSUMER)
    assert mine[job.parent_span_id].kind == PRODUCER
    assert job.service == "chom-web"
    program = next(s for s in mine.values() if s.name.startswith("vps.run"))
    assert program.attributes["chom.transport"] == "local"
    assert job in _ancestors(program, mine)


def _dropped(samples_from) -> float:
    return sum(sample.value for family in samples_from.collect() for sample in family.samples
               if sample.name.endswith("tracing_spans_dropped_total")
               and sample.labels.get("reason") == "export_failed")


def _scraped_drops(account) -> float:
    body = account.client.get("/prometheus/metrics").get_data(as_text=True)
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
               if line.startswith("chom_tracing_spans_dropped_total{")
               and 'reason="export_failed"' in line)


def _worker_drops(metrics_dir) -> float:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))
    return _dropped(registry)


def test_a_collector_that_is_down_fails_nothing_and_drops_are_counted(
        register_traced, local_vps, collector, traced_workers):
    account = register_traced("Dark Co")
    scrape = account.client.get("/prometheus/metrics").get_data(as_text=True)
    for reason in ("queue_full", "export_failed"):  # zero series from the start
        assert f'chom_tracing_spans_dropped_total{{reason="{reason}"}}' in scrape
    web_before = _scraped_drops(account)
    worker_before = _worker_drops(traced_workers.metrics_dir)
    collector.down()
    try:
        response = account.create_site("dark.example.com")
        assert response.status_code == 202
        operation = account.wait_for_operation(response.json["meta"]["operation_id"])
        assert operation["status"] == "succeeded", operation["log"]
        assert account.get("/api/v1/sites").status_code == 200
        tracing.flush()  # the exports of this process fail now
        assert _scraped_drops(account) > web_before
        collector.wait_for(lambda _: _worker_drops(traced_workers.metrics_dir) > worker_before)
    finally:
        collector.up()

