"""Prometheus HTTP service discovery from CHOM's rows: the shape and the whitelist, then a real
Prometheus running the deploy config's jobs against it and labelling targets as the alert
rules expect."""

from __future__ import annotations

import threading
import time

import pytest
import requests
import yaml
from werkzeug.serving import make_server

from chom import PROJECT_ROOT
from tests.observability.conftest import LOOPBACK
from tests.stack import PROMETHEUS, Daemon, free_port


def _site(account, domain):
    created = account.create_site(domain)
    account.wait_for_operation(created.json["meta"]["operation_id"])
    return created.json["data"]["id"]


def test_targets_for_sites_and_exporters(client, register, local_vps):
    alice = register("Alice Co")
    site = _site(alice, "probe-me.example.com")
    sites = client.get("/prometheus/sd/sites", environ_base=LOOPBACK)
    assert sites.status_code == 200
    assert sites.json == [{"targets": ["http://probe-me.example.com/"],
                           "labels": {"site_id": site, "vps": "local-test"}}]
    nodes = client.get("/prometheus/sd/nodes", environ_base=LOOPBACK).json
    assert nodes == [{"targets": ["localhost:9100"], "labels": {"vps": "local-test"}}]
    assert client.get("/prometheus/sd/nginx", environ_base=LOOPBACK).json[0]["targets"] == [
        "localhost:9913"]
    assert client.get("/prometheus/sd/other", environ_base=LOOPBACK).status_code == 404
    outsider = client.get("/prometheus/sd/sites", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert outsider.status_code == 403 and outsider.mimetype == "application/problem+json"


@pytest.fixture
def served(clean_app):
    server = make_server("127.0.0.1", 0, clean_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_real_prometheus_discovers_and_labels_the_sites(served, register, local_vps,
                                                          tmp_path):
    alice = register("Alice Co")
    site = _site(alice, "discovered.example.com")
    deploy = yaml.safe_load((PROJECT_ROOT / "deploy/observability-stack/prometheus.yml")
                            .read_text())
    jobs = [job for job in deploy["scrape_configs"] if job["job_name"] in ("site_probe", "node")]
    for job in jobs:  # the deploy config's jobs, pointed at this CHOM
        for sd in job["http_sd_configs"]:
            sd["url"] = sd["url"].replace("chom:8000", served)
            sd["refresh_interval"] = "1s"
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"scrape_interval": "1h"},
                                      "scrape_configs": jobs}))
    port = free_port()
    daemon = Daemon("prometheus", [PROMETHEUS, f"--config.file={config}",
                                   f"--storage.tsdb.path={tmp_path / 'data'}",
                                   f"--web.listen-address=127.0.0.1:{port}"],
                    f"http://127.0.0.1:{port}/-/ready", tmp_path / "prometheus.log").start()
    try:
        deadline = time.monotonic() + 30
        while True:
            targets = requests.get(f"http://127.0.0.1:{port}/api/v1/targets", timeout=5
                                   ).json()["data"]["activeTargets"]
            if {t["labels"]["job"] for t in targets} >= {"site_probe", "node"} or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        daemon.stop()
    by_job = {t["labels"]["job"]: t for t in targets}
    probe = by_job["site_probe"]
    assert probe["labels"]["instance"] == "http://discovered.example.com/"
    assert probe["labels"]["site_id"] == site and probe["labels"]["vps"] == "local-test"
    assert probe["scrapeUrl"].startswith("http://blackbox:9115/probe?")
    assert by_job["node"]["labels"]["vps"] == "local-test"
