"""Issuing a certificate (pebble, HTTP-01 on the fleet) is one trace too, phase by phase."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from chom import tracing
from chom.extensions import db
from chom.models import Site
from chom.services import fleet as fleet_service
from tests.workers import RqWorkers, acme_env

CONSUMER = 5


@pytest.fixture(scope="module")
def acme_workers(app, pebble, traced_env, tmp_path_factory):
    with RqWorkers(tmp_path_factory.mktemp("rq-acme-traced"), acme_env(pebble),
                   CHOM_JOB_RETRY_INTERVALS=[1]).running() as workers:
        yield workers


def test_issuing_a_certificate_is_traced_phase_by_phase(clean_app, acme_workers, fleet, pebble,
                                                        collector):
    host = fleet.hosts[0]
    with clean_app.app_context():
        fleet_service.add_vps(**host.add_vps_kwargs(
            settings={**host.profile, "ssh_key_path": host.client_key_path}))
    pebble.add_a_record("traced-tls.example.com", host.address)
    account = acme_workers.account("Traced TLS Co")
    created = account.create_site("traced-tls.example.com")
    assert account.wait_for_operation(created.json["meta"]["operation_id"], timeout=120)[
        "status"] == "succeeded"
    site_id = created.json["data"]["id"]
    issued = account.post(f"/api/v1/sites/{site_id}/ssl")
    operation = account.wait_for_operation(issued.json["data"]["id"], timeout=120)
    assert operation["status"] == "succeeded", (operation["log"], operation["error"])

    trace_id = operation["trace_id"]
    tracing.flush()
    spans = collector.wait_for(lambda got: sum(
        s.trace_id == trace_id and s.name.startswith("phase ") for s in got) == 3
        and any(s.trace_id == trace_id and s.kind == CONSUMER for s in got))
    mine = {s.span_id: s for s in spans if s.trace_id == trace_id}
    job = next(s for s in mine.values() if s.kind == CONSUMER)
    phases = sorted((s for s in mine.values() if s.name.startswith("phase ")),
                    key=lambda s: s.attributes["chom.step.index"])
    assert [p.attributes["chom.step.index"] for p in phases] == [1, 2, 3]
    for phase in phases:
        assert phase.parent_span_id == job.span_id
        assert phase.attributes["chom.site_id"] == site_id
        assert phase.attributes["chom.step.result"] == "done"
    invocations = [s for s in mine.values() if s.name.startswith("vps.run")]
    # Converge, publish and remove the challenge, install: each under its phase.
    assert {mine[s.parent_span_id].attributes["chom.step.index"] for s in invocations} == {1, 2, 3}
    for invocation in invocations:
        assert invocation.attributes["chom.site.ids"] == [site_id]
        assert invocation.attributes["chom.vps.name"] == host.name
    # The ACME client's HTTP calls to the CA are traced under the issuing phase.
    assert any(s.kind == 3 and s.attributes.get("http.method") in ("GET", "POST", "HEAD")
               and s.parent_span_id == phases[1].span_id for s in mine.values())

    with acme_workers.app.app_context():
        site = db.session.scalar(select(Site).where(Site.id == uuid.UUID(site_id)))
        key_pem = acme_workers.app.extensions["chom_secrets"].decrypt(site.ssl_key_encrypted)
    key_body = "".join(key_pem.strip().splitlines()[1:-1])
    for span in collector.received():
        for value in [span.name, span.status_message, *map(str, span.attributes.values())]:
            assert key_body[:40] not in value.replace("\n", "")
