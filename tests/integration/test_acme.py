"""ACME issuance (chom.integration.acme) against pebble, HTTP-01 through a fleet host's nginx."""

from __future__ import annotations

import datetime
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key

from chom.integration.acme import AcmeClient, AcmeError, generate_account_key


class WebRoot:
    """A plain nginx server block for `domain` on a fleet host, and publish/unpublish into its
    web root (the callbacks CHOM's SSL step gives the client)."""

    def __init__(self, host, domain: str, *, serve: bool = True) -> None:
        self.host, self.domain = host, domain
        self.root = host.path(f"var/www/acme-test/{domain}")
        self.conf = Path(host.profile["nginx_sites_dir"]) / f"acme-test-{domain}.conf"
        self.root.mkdir(parents=True, exist_ok=True)
        self.published: list[str] = []
        if serve:
            self.conf.write_text(
                f"server {{\n    listen 80;\n    server_name {domain};\n"
                f"    root {self.root};\n    location / {{ try_files $uri =404; }}\n}}\n")
            self.reload()

    def reload(self) -> None:
        self.host.run(self.host.profile["commands"]["nginx_reload"])

    def publish(self, path: str, content: str) -> None:
        self.published.append(path)
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        target.chmod(0o644)

    def unpublish(self, path: str) -> None:
        (self.root / path).unlink(missing_ok=True)

    def challenge_files(self) -> list[Path]:
        directory = self.root / ".well-known/acme-challenge"
        return sorted(directory.iterdir()) if directory.exists() else []

    def remove(self) -> None:
        if self.conf.exists():
            self.conf.unlink()
            self.reload()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def site(fleet, pebble):
    """Factory: a web root for a domain on fleet host 1, the domain's A record pointing there
    (or nowhere: `address=None`); everything removed afterwards."""
    made: list[WebRoot] = []

    def make(domain: str, *, serve: bool = True, address: str | None = "fleet") -> WebRoot:
        web = WebRoot(fleet[0], domain, serve=serve)
        made.append(web)
        if address is not None:
            pebble.add_a_record(domain, fleet[0].address if address == "fleet" else address)
        return web

    yield make
    for web in made:
        pebble.clear_a_record(web.domain)
        web.remove()


@pytest.fixture(scope="module")
def account_key() -> str:
    return generate_account_key()


@pytest.fixture
def acme(pebble, account_key) -> AcmeClient:
    return AcmeClient(pebble.directory_url, account_key, ca_bundle=pebble.ca_bundle,
                      email="ops@chom.test", timeout=30)


def _verify_chain(fullchain_pem: str, roots_pem: str, domain: str, tmp_path: Path) -> None:
    """`openssl verify` the leaf against pebble's root, its intermediates untrusted."""
    certs = x509.load_pem_x509_certificates(fullchain_pem.encode())
    assert len(certs) >= 2, "the full chain carries the leaf and its intermediate(s)"
    (tmp_path / "root.pem").write_text(roots_pem)
    (tmp_path / "leaf.pem").write_bytes(certs[0].public_bytes(Encoding.PEM))
    (tmp_path / "chain.pem").write_bytes(b"".join(c.public_bytes(Encoding.PEM)
                                                  for c in certs[1:]))
    result = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "root.pem"),
         "-untrusted", str(tmp_path / "chain.pem"), "-purpose", "sslserver",
         "-verify_hostname", domain, str(tmp_path / "leaf.pem")],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_issues_a_certificate_through_the_web_root(site, acme, pebble, tmp_path):
    domain = "shop.acme-ok.test"
    web = site(domain)
    issued = acme.issue(domain, web.publish, web.unpublish)

    assert web.published, "the challenge went through publish()"
    assert all(p.startswith(".well-known/acme-challenge/") for p in web.published)
    assert web.challenge_files() == [], "challenge files are removed afterwards"

    leaf = x509.load_pem_x509_certificate(issued.fullchain_pem.encode())
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [domain]
    assert issued.not_after == leaf.not_valid_after_utc
    assert issued.not_after > datetime.datetime.now(datetime.UTC)
    private = load_pem_private_key(issued.private_key_pem.encode(), password=None)
    assert private.public_key().public_numbers() == leaf.public_key().public_numbers()
    _verify_chain(issued.fullchain_pem, pebble.issuer_roots_pem(), domain, tmp_path)


def test_account_is_reused_for_the_same_key(pebble, account_key):
    first = AcmeClient(pebble.directory_url, account_key, ca_bundle=pebble.ca_bundle)
    second = AcmeClient(pebble.directory_url, account_key, ca_bundle=pebble.ca_bundle)
    other = AcmeClient(pebble.directory_url, generate_account_key(), ca_bundle=pebble.ca_bundle)
    assert first.register() == second.register()
    assert other.register() != first.register()


def test_domain_resolving_nowhere_fails_clearly(site, acme):
    domain = "lost.acme-fail.test"
    web = site(domain, address=None)  # no A record at all
    with pytest.raises(AcmeError, match=rf"challenge for {domain} failed: \S") as failure:
        acme.issue(domain, web.publish, web.unpublish)
    print(failure.value)
    assert web.published and web.challenge_files() == []


def test_web_root_not_served_fails_clearly(site, acme):
    domain = "unserved.acme-fail.test"
    web = site(domain, serve=False)  # resolves to the host, whose nginx answers 404
    with pytest.raises(AcmeError, match=rf"challenge for {domain} failed: .*404") as failure:
        acme.issue(domain, web.publish, web.unpublish)
    print(failure.value)
    assert web.published and web.challenge_files() == []


def test_unreachable_ca_is_an_acme_error(account_key):
    client = AcmeClient("https://127.0.0.1:9/dir", account_key, timeout=5)
    with pytest.raises(AcmeError, match="ACME account at https://127.0.0.1:9/dir"):
        client.register()
