"""Pebble, Let's Encrypt's ACME test server (Debian's `pebble` package), for tests.

Two processes on 127.0.0.1 of the root namespace:

- `pebble-challtestsrv`, as a DNS server only (its HTTP-01/HTTPS/TLS-ALPN servers are off):
  tests point a domain at a fleet host with `add_a_record(domain, "10.231.1.2")`; a domain
  without a record resolves to nothing.
- `pebble` itself: the ACME directory at `directory_url` (HTTPS with a certificate for
  127.0.0.1/localhost signed by a CA made here, whose PEM is at `ca_bundle`), asking
  challtestsrv for DNS and validating HTTP-01 on port 80 of the address a domain resolves to.

    pebble = Pebble.start()
    pebble.add_a_record("shop.example.test", fleet[0].address)
    ...  # an ACME client with directory_url and verify=ca_bundle
    roots = pebble.issuer_roots_pem()  # what pebble's issued chains lead to
    pebble.stop()

Pebble makes new roots on every start. Usage outside pytest: `python -m tests.fleet.pebble`
starts it and prints the directory URL until interrupted.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PEBBLE = "/usr/bin/pebble"
CHALLTESTSRV = "/usr/bin/pebble-challtestsrv"
HOST = "127.0.0.1"
START_TIMEOUT = 20.0

# Preferred ports (pebble's and challtestsrv's defaults); a busy one is replaced by a free one.
ACME_PORT, MANAGEMENT_PORT, DNS_PORT, DNS_MANAGEMENT_PORT = 14000, 15000, 8053, 8055


class PebbleError(RuntimeError):
    """Pebble could not be started, or one of its management calls failed."""


def missing_binaries() -> list[str]:
    return [path for path in (PEBBLE, CHALLTESTSRV) if not os.access(path, os.X_OK)]


def _port_free(port: int, *, udp: bool = False) -> bool:
    kinds = [socket.SOCK_STREAM, socket.SOCK_DGRAM] if udp else [socket.SOCK_STREAM]
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                return False
    return True


def _pick_port(preferred: int, taken: set[int], *, udp: bool = False) -> int:
    """`preferred` when it is free (TCP, and UDP too for DNS), else a free port near it."""
    for port in [preferred, *range(preferred + 100, preferred + 1100)]:
        if port not in taken and _port_free(port, udp=udp):
            taken.add(port)
            return port
    raise PebbleError(f"no free port near {preferred} on {HOST}")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_tls_material(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1/localhost signed by it: (ca, cert, key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("CHOM test pebble CA")
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(paths[2], 0o600)
    return paths


@dataclass
class Pebble:
    """A running pebble + challtestsrv pair (see the module docstring)."""

    directory_url: str
    ca_bundle: str
    management_url: str
    dns_address: str
    dns_management_url: str
    workdir: Path
    _procs: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False)

    @classmethod
    def start(cls) -> Pebble:
        missing = missing_binaries()
        if missing:
            raise PebbleError(f"missing {', '.join(missing)}: run scripts/ensure-fleet.sh")
        taken: set[int] = set()
        acme = _pick_port(ACME_PORT, taken)
        management = _pick_port(MANAGEMENT_PORT, taken)
        dns = _pick_port(DNS_PORT, taken, udp=True)
        dns_management = _pick_port(DNS_MANAGEMENT_PORT, taken)
        workdir = Path(tempfile.mkdtemp(prefix="chom-pebble-"))
        ca, cert, key = _write_tls_material(workdir)
        config = {"pebble": {
            "listenAddress": f"{HOST}:{acme}", "managementListenAddress": f"{HOST}:{management}",
            "certificate": str(cert), "privateKey": str(key), "httpPort": 80, "tlsPort": 443,
            "ocspResponderURL": "", "externalAccountBindingRequired": False,
        }}
        (workdir / "pebble-config.json").write_text(json.dumps(config, indent=2))
        pebble = cls(directory_url=f"https://{HOST}:{acme}/dir", ca_bundle=str(ca),
                     management_url=f"https://{HOST}:{management}",
                     dns_address=f"{HOST}:{dns}",
                     dns_management_url=f"http://{HOST}:{dns_management}", workdir=workdir)
        try:
            pebble._spawn("challtestsrv", [
                CHALLTESTSRV, "-http01", "", "-https01", "", "-tlsalpn01", "",
                "-dns01", f"{HOST}:{dns}", "-management", f"{HOST}:{dns_management}",
                "-defaultIPv4", "", "-defaultIPv6", "",
            ])
            pebble._wait("pebble-challtestsrv", lambda: requests.post(
                f"{pebble.dns_management_url}/clear-a", json={"host": "probe.invalid"},
                timeout=1).ok)
            env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0",
                   "PEBBLE_VA_ALWAYS_VALID": "0",
                   "PEBBLE_AUTHZREUSE": "0"}  # every order proves control afresh
            pebble._spawn("pebble", [PEBBLE, "-config", str(workdir / "pebble-config.json"),
                                     "-dnsserver", pebble.dns_address], env=env)
            pebble._wait("pebble", lambda: requests.get(
                pebble.directory_url, verify=pebble.ca_bundle, timeout=1).ok)
        except BaseException:
            pebble.stop()
            raise
        return pebble

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        with open(self.workdir / f"{name}.log", "ab") as log:
            self._procs[name] = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})}, cwd=self.workdir, start_new_session=True)

    def _wait(self, name: str, ready) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            proc = self._procs[name.removeprefix("pebble-")]
            if proc.poll() is not None:
                raise PebbleError(f"{name} exited with {proc.returncode}:\n{self.log(name)}")
            with contextlib.suppress(requests.RequestException):
                if ready():
                    return
            if time.monotonic() > deadline:
                raise PebbleError(f"{name} did not answer within {START_TIMEOUT:.0f} s:\n"
                                  f"{self.log(name)}")
            time.sleep(0.05)

    def log(self, name: str) -> str:
        """The tail of a process's output ("pebble" or "challtestsrv")."""
        path = self.workdir / f"{name.removeprefix('pebble-')}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    # --- DNS --------------------------------------------------------------------------------

    def _dns(self, endpoint: str, payload: dict) -> None:
        response = requests.post(f"{self.dns_management_url}/{endpoint}", json=payload,
                                 timeout=5)
        if not response.ok:
            raise PebbleError(f"challtestsrv {endpoint} {payload}: {response.status_code} "
                              f"{response.text.strip()}")

    def add_a_record(self, domain: str, address: str) -> None:
        """`domain` resolves (for pebble) to the IPv4 `address`."""
        self._dns("add-a", {"host": domain, "addresses": [address]})

    def clear_a_record(self, domain: str) -> None:
        self._dns("clear-a", {"host": domain})

    # --- issuer -----------------------------------------------------------------------------

    def issuer_roots_pem(self) -> str:
        """PEM of the root pebble's issued chains lead to (new on every pebble start)."""
        response = requests.get(f"{self.management_url}/roots/0", verify=self.ca_bundle,
                                timeout=5)
        response.raise_for_status()
        return response.text

    # --- shutdown ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop both processes and remove the working directory. Idempotent."""
        procs, self._procs = self._procs, {}
        for proc in procs.values():
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if os.environ.get("CHOM_FLEET_KEEP") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)


if __name__ == "__main__":
    running = Pebble.start()
    print(f"pebble: {running.directory_url} (CA bundle {running.ca_bundle}, DNS "
          f"{running.dns_address}, DNS management {running.dns_management_url}); Ctrl-C stops")
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
