"""Certificates: ACME HTTP-01 through the site's challenge location, then installed on its VPS.

Runs as the `issue_ssl` operation, alone, under its VPS's lock (see `provisioning.run_operation`):
1. converge the site (its server blocks carry the challenge location),
2. publish the HTTP-01 file on the VPS and let the CA fetch it,
3. finalise the order for a fresh key,
4. install the chain and key and re-apply the server blocks with HTTPS.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import InvalidToken
from flask import current_app

from chom.extensions import db
from chom.integration.acme import AcmeClient, AcmeError, generate_account_key
from chom.integration.executor import apply_plan
from chom.integration.transports.pool import transport_for
from chom.models import Operation, Site
from chom.plugin_api import EnsureDirectory, Plan, PutFile, RemovePath
from chom.plugins import current_site_types
from chom.services.site_profile import profile_of, site_context

PHASES = ("converge the site", "publish the challenge and wait for the CA",
          "install the certificate")


class CertificateFailed(RuntimeError):
    """The CA refused or could not validate: the operation fails with its message."""


def _account_key() -> str:
    """The platform's ACME account key, kept encrypted in the instance folder."""
    box = current_app.extensions["chom_secrets"]
    path = Path(current_app.instance_path) / "acme_account.key.enc"
    if not path.exists():
        path.write_text(box.encrypt(generate_account_key()))
        path.chmod(0o600)
    try:
        return box.decrypt(path.read_text())
    except InvalidToken:
        raise CertificateFailed(
            f"{path} cannot be decrypted with CHOM_ENCRYPTION_KEYS (a key was dropped?)"
        ) from None


def acme_client() -> AcmeClient:
    config = current_app.config
    return AcmeClient(
        directory_url=config["ACME_DIRECTORY_URL"],
        account_key_pem=_account_key(),
        ca_bundle=config.get("ACME_CA_BUNDLE"),
        email=config.get("ACME_CONTACT_EMAIL"),
    )


def issue_certificate(operation: Operation, site: Site, progress) -> None:
    """Obtain and install a certificate for `site`; `progress(i, phase)` reports each phase.

    Raises `CertificateFailed` when the CA does not issue; connection errors propagate
    (the job is retried: every phase is safe to run again).
    """
    box = current_app.extensions["chom_secrets"]
    site_type = current_site_types()[site.type]
    password = box.decrypt(site.db_password_encrypted) if site.db_password_encrypted else None
    transport, profile = transport_for(site.vps), profile_of(site.vps)
    context = site_context(site, site.vps, password)
    challenge_dir = context.paths.acme_challenge_dir

    progress(1, PHASES[0])
    apply_plan(transport, site_type.provision_plan(context), profile)

    def publish(path: str, content: str) -> None:
        name = path.rsplit("/", 1)[-1]
        apply_plan(transport, Plan("issue_ssl", (
            EnsureDirectory(challenge_dir), PutFile(f"{challenge_dir}/{name}", content),
        )), profile)

    def unpublish(path: str) -> None:
        name = path.rsplit("/", 1)[-1]
        apply_plan(transport, Plan("issue_ssl", (RemovePath(f"{challenge_dir}/{name}"),)),
                   profile)

    progress(2, PHASES[1])
    try:
        issued = acme_client().issue(site.domain, publish=publish, unpublish=unpublish)
    except AcmeError as error:
        raise CertificateFailed(str(error)) from error

    progress(3, PHASES[2])
    site.ssl_certificate_pem = issued.fullchain_pem
    site.ssl_key_encrypted = box.encrypt(issued.private_key_pem)
    site.ssl_enabled = True
    site.ssl_expires_at = issued.not_after
    secured = site_context(site, site.vps, password)
    tls_dir = secured.paths.tls_certificate.rsplit("/", 1)[0]
    install = (
        EnsureDirectory(tls_dir, mode="0755"),
        PutFile(secured.paths.tls_certificate, issued.fullchain_pem),
        PutFile(secured.paths.tls_key, issued.private_key_pem, mode="0600"),
    )
    apply_plan(transport, Plan("issue_ssl",
                               install + site_type.provision_plan(secured).steps), profile)
    db.session.commit()
