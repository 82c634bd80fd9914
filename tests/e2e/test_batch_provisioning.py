"""Bulk work on one VPS: the ready operations are applied together, in one invocation."""

from __future__ import annotations

import re

import pytest
import requests

from chom.config import PLANS
from chom.services import fleet as fleet_service
from tests.workers import RqWorkers

BATCH = re.compile(r"applying (\w+) plan \(\d+ steps\) on \S+ \(batch (\w+) of (\d+)\)")


@pytest.fixture
def workers(clean_app, tmp_path):
    # The starter plan's quota is lifted (read in this process, where sites are created).
    workers = RqWorkers(tmp_path, CHOM_PLANS={
        **PLANS, "starter": {**PLANS["starter"], "max_sites": None}})
    try:
        yield workers
    finally:
        workers.stop()


def _get(host, domain):
    return requests.get(host.http_url, headers={"Host": domain}, timeout=10)


def test_sites_queued_for_one_vps_are_applied_in_one_batch_in_order(workers, fleet):
    host = fleet.hosts[0]
    with workers.app.app_context():
        fleet_service.add_vps(**host.add_vps_kwargs(
            settings={**host.profile, "ssh_key_path": host.client_key_path}))
    account = workers.account("Bulk Co")
    domains = [f"bulk{i}.example.com" for i in range(10)]
    # Everything is queued before a worker runs, so the first job finds all of it ready.
    created = [account.create_site(domain) for domain in domains]
    assert all(response.status_code == 202 for response in created)
    gone = account.create_site("gone.example.com")
    deleted = account.delete(f"/api/v1/sites/{gone.json['data']['id']}")
    assert deleted.status_code == 202

    workers.start(1)
    operations = [account.wait_for_operation(r.json["meta"]["operation_id"], timeout=120)
                  for r in [*created, gone]]
    last = account.wait_for_operation(deleted.json["data"]["id"], timeout=120)
    for operation in [*operations, last]:
        assert operation["status"] == "succeeded", operation["log"]
        assert operation["step_index"] == operation["step_count"] > 0
        assert re.search(r"\[\d+/\d+\] ensure nginx site|\[\d+/\d+\] remove nginx site",
                         operation["log"]), operation["log"]

    batches = [BATCH.search(operation["log"]).groups() for operation in operations]
    # All eleven creates went in ONE invocation; the delete waited for its site's create.
    assert {batch_id for _, batch_id, _ in batches} == {batches[0][1]}
    assert {size for _, _, size in batches} == {"11"}
    assert BATCH.search(last["log"]).group(2) != batches[0][1]
    assert operations[-1]["finished_at"] <= last["started_at"]

    for domain in domains:
        page = _get(host, domain)
        assert page.status_code == 200 and domain in page.text
    assert _get(host, "gone.example.com").status_code == 404
