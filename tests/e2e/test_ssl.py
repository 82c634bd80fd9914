"""Certificates from pebble (Let's Encrypt's ACME test server) through HTTP-01 on the fleet."""

from __future__ import annotations

import socket
import ssl

import pytest

from chom.services import fleet as fleet_service
from tests.workers import RqWorkers, acme_env


@pytest.fixture(scope="module")
def rq_workers(app, pebble, tmp_path_factory):
    """The worker process talks to pebble: the ACME settings live in its environment."""
    with RqWorkers(tmp_path_factory.mktemp("rq-acme"), acme_env(pebble),
                   CHOM_JOB_RETRY_INTERVALS=[1]).running() as workers:
        yield workers


def https_get(address: str, domain: str, cafile: str) -> tuple[str, dict]:
    """GET / over TLS to `address` with `domain` as SNI, verified against `cafile`."""
    context = ssl.create_default_context(cafile=cafile)
    with socket.create_connection((address, 443), timeout=10) as sock, \
            context.wrap_socket(sock, server_hostname=domain) as tls:
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {domain}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace"), tls.getpeercert()


def test_ssl_is_issued_by_pebble_and_https_answers(clean_app, register, fleet, pebble, tmp_path):
    host = fleet.hosts[0]
    with clean_app.app_context():
        fleet_service.add_vps(**host.add_vps_kwargs(
            settings={**host.profile, "ssh_key_path": host.client_key_path}))
    pebble.add_a_record("secure.example.com", host.address)
    account = register("Secure Co")
    created = account.create_site("secure.example.com",
                                  options={"index_html": "<h1>Encrypted hello</h1>\n"})
    assert account.wait_for_operation(created.json["meta"]["operation_id"], timeout=120)[
        "status"] == "succeeded"
    site_id = created.json["data"]["id"]

    issued = account.post(f"/api/v1/sites/{site_id}/ssl")
    assert issued.status_code == 202 and issued.json["data"]["kind"] == "issue_ssl"
    operation = account.wait_for_operation(issued.json["data"]["id"], timeout=120)
    assert operation["status"] == "succeeded", (operation["log"], operation["error"])
    site = account.get(f"/api/v1/sites/{site_id}").json["data"]
    assert site["ssl"]["enabled"] is True and site["ssl"]["expires_at"]
    assert site["status"] == "active"

    roots = tmp_path / "pebble-roots.pem"
    roots.write_text(pebble.issuer_roots_pem())
    body, certificate = https_get(host.address, "secure.example.com", str(roots))
    assert "Encrypted hello" in body
    assert ("DNS", "secure.example.com") in certificate["subjectAltName"]
    # The challenge file is gone once the order is done.
    challenge_dir = host.path("var/lib/chom/acme/secure.example.com")
    assert not challenge_dir.exists() or list(challenge_dir.iterdir()) == []

    # Suspending and resuming keeps HTTPS: every plan knows the site has a certificate.
    for action in ("suspend", "resume"):
        started = account.post(f"/api/v1/sites/{site_id}/{action}")
        assert account.wait_for_operation(started.json["data"]["id"], timeout=60)[
            "status"] == "succeeded"
    body, _ = https_get(host.address, "secure.example.com", str(roots))
    assert "Encrypted hello" in body


def test_a_domain_the_ca_cannot_reach_fails_the_operation_not_the_site(clean_app, register,
                                                                       fleet, pebble):
    host = fleet.hosts[0]
    with clean_app.app_context():
        fleet_service.add_vps(**host.add_vps_kwargs(
            settings={**host.profile, "ssh_key_path": host.client_key_path}))
    pebble.add_a_record("unreachable.example.com", "127.0.0.1")  # nothing of ours there
    account = register("Lost Co")
    created = account.create_site("unreachable.example.com")
    account.wait_for_operation(created.json["meta"]["operation_id"], timeout=120)
    issued = account.post(f"/api/v1/sites/{created.json['data']['id']}/ssl")
    operation = account.wait_for_operation(issued.json["data"]["id"], timeout=120)
    assert operation["status"] == "failed"
    assert "unreachable.example.com" in operation["error"]
    site = account.get(f"/api/v1/sites/{created.json['data']['id']}").json["data"]
    assert site["status"] == "active" and site["ssl"]["enabled"] is False
