"""ACME certificates (RFC 8555) over certbot's `acme` library, validated by HTTP-01.

    client = AcmeClient(directory_url, account_key_pem, ca_bundle=None, email="ops@example.com")
    issued = client.issue("shop.example.com", publish, unpublish)

`publish(path, content)` must make `http://<domain>/<path>` answer `content` (path is relative to
the site's web root: ".well-known/acme-challenge/<token>"); `unpublish(path)` removes it, and is
called for every published path at the end, on failure too. The account key (from
`generate_account_key()`, stored by the caller) identifies the ACME account: registering with a
key the CA already knows re-uses that account. Every failure is an `AcmeError`.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

import josepy as jose
import requests
from acme import challenges, client, crypto_util, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

log = logging.getLogger(__name__)

Publish = Callable[[str, str], None]
Unpublish = Callable[[str], None]
_EC_ALGS = {"secp256r1": jose.ES256, "secp384r1": jose.ES384, "secp521r1": jose.ES512}


class AcmeError(RuntimeError):
    """Issuing a certificate failed; the message says where and why."""


@dataclass(frozen=True)
class IssuedCertificate:
    fullchain_pem: str
    private_key_pem: str
    not_after: datetime.datetime


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def generate_account_key() -> str:
    """A new ACME account key (EC P-256), as PKCS#8 PEM."""
    return _pem(ec.generate_private_key(ec.SECP256R1()))


def _problem(error: messages.Error | None) -> str:
    if error is None:
        return "no detail given by the CA"
    return error.detail or error.description or error.typ or str(error)


class AcmeClient:
    """One ACME account at one CA. `ca_bundle`: PEM file to verify the CA's HTTPS with
    (None: the system's); `timeout`: bound on the whole validation + issuance, in seconds."""

    def __init__(self, directory_url: str, account_key_pem: str, *, ca_bundle: str | None = None,
                 email: str | None = None, timeout: float = 90.0,
                 network_timeout: int = 30) -> None:
        try:
            key = serialization.load_pem_private_key(account_key_pem.encode(), password=None)
        except (ValueError, TypeError) as error:
            raise AcmeError(f"the ACME account key is not a usable PEM key: {error}") from error
        if isinstance(key, rsa.RSAPrivateKey):
            self._key, alg = jose.JWKRSA(key=key), jose.RS256
        elif isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _EC_ALGS:
            self._key, alg = jose.JWKEC(key=key), _EC_ALGS[key.curve.name]
        else:
            raise AcmeError("the ACME account key must be RSA or EC P-256/384/521")
        self.directory_url, self.email, self.timeout = directory_url, email, timeout
        self._net = client.ClientNetwork(self._key, alg=alg, verify_ssl=ca_bundle or True,
                                         user_agent="chom-acme", timeout=network_timeout)
        self._client: client.ClientV2 | None = None

    def register(self) -> str:
        """Create the account, or find the one this key already has; returns its URL."""
        return self._connect()[1]

    def _connect(self) -> tuple[client.ClientV2, str]:
        if self._client is not None and self._net.account is not None:
            return self._client, self._net.account.uri
        try:
            directory = client.ClientV2.get_directory(self.directory_url, self._net)
            acme = client.ClientV2(directory, self._net)
            registration = messages.NewRegistration.from_data(
                email=self.email, terms_of_service_agreed=True)
            try:
                account = acme.new_account(registration)
            except errors.ConflictError as existing:  # this key already has an account
                account = messages.RegistrationResource(uri=existing.location,
                                                        body=messages.Registration())
                self._net.account = account
        except (errors.Error, messages.Error, requests.RequestException, ValueError) as error:
            raise AcmeError(f"ACME account at {self.directory_url}: {error}") from error
        self._client = acme
        return acme, account.uri

    def issue(self, domain: str, publish: Publish, unpublish: Unpublish) -> IssuedCertificate:
        """A certificate for `domain` (fresh EC P-256 key), proven by HTTP-01 through
        `publish`; published challenge files are unpublished whatever happens. Exceptions of
        `publish` itself (a lost connection to the server, say) propagate unchanged."""
        acme, _ = self._connect()
        key = ec.generate_private_key(ec.SECP256R1())
        key_pem = _pem(key)
        csr = crypto_util.make_csr(key_pem.encode(), [domain])
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=self.timeout)
        published: list[str] = []
        try:
            order = acme.new_order(csr)
            for authz in order.authorizations:
                if authz.body.status == messages.STATUS_VALID:
                    continue  # the CA re-used an earlier proof
                challenge = next((c for c in authz.body.challenges
                                  if isinstance(c.chall, challenges.HTTP01)), None)
                if challenge is None:
                    raise AcmeError(f"the CA offers no HTTP-01 challenge for {domain}")
                response, validation = challenge.response_and_validation(self._key)
                path = challenge.chall.path.lstrip("/")
                publish(path, validation)
                published.append(path)
                acme.answer_challenge(challenge, response)
            order = acme.poll_authorizations(order, deadline)
            order = acme.finalize_order(order, deadline)
        except errors.ValidationError as error:
            details = "; ".join(_problem(c.error) for authz in error.failed_authzrs
                                for c in authz.body.challenges if c.error is not None)
            raise AcmeError(f"challenge for {domain} failed: {details}") from error
        except errors.TimeoutError as error:
            raise AcmeError(f"certificate for {domain}: the CA did not finish within "
                            f"{self.timeout:.0f} s") from error
        except errors.IssuanceError as error:
            raise AcmeError(f"certificate for {domain} refused: {_problem(error.error)}") \
                from error
        except messages.Error as error:
            raise AcmeError(f"certificate for {domain}: {_problem(error)}") from error
        except (errors.Error, requests.RequestException, ValueError) as error:
            raise AcmeError(f"certificate for {domain}: {error}") from error
        finally:
            for path in published:
                try:
                    unpublish(path)
                except Exception:  # never mask the outcome of the order
                    log.warning("could not remove the challenge file %s of %s", path, domain,
                                exc_info=True)
        fullchain = order.fullchain_pem
        leaf = x509.load_pem_x509_certificate(fullchain.encode())
        return IssuedCertificate(fullchain_pem=fullchain, private_key_pem=key_pem,
                                 not_after=leaf.not_valid_after_utc)
