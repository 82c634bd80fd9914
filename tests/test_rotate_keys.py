"""`flask chom rotate-keys`: every secret re-encrypted under the newest key, none lost."""

from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from chom import create_app
from chom.extensions import db
from chom.integration.secrets import SecretBox
from chom.models import Site, VpsServer
from tests.conftest import base_config


def test_rotation_moves_every_secret_to_the_newest_key(clean_app, register, local_vps,
                                                       tmp_path):
    account = register("Keys Co")
    created = account.create_site("keys.example.com", type="wordpress")
    wp = created.json["data"]
    # Nothing else may write these rows while the test rewrites them.
    account.wait_for_operation(created.json["meta"]["operation_id"])
    old_key = clean_app.config["CHOM_ENCRYPTION_KEYS"]
    old_box = SecretBox([old_key])
    with clean_app.app_context():
        vps = db.session.scalar(select(VpsServer).where(VpsServer.id == local_vps["id"]))
        vps.ssh_private_key_encrypted = old_box.encrypt("-----BEGIN KEY-----")
        site = db.session.scalar(select(Site).where(Site.domain == "keys.example.com"))
        site.ssl_key_encrypted = old_box.encrypt("tls private key")
        password = old_box.decrypt(site.db_password_encrypted)
        db.session.commit()
    instance = tmp_path / "rotated-instance"
    instance.mkdir()
    (instance / "acme_account.key.enc").write_text(old_box.encrypt("acme account key"))

    new_key = Fernet.generate_key().decode()
    rotated_app = create_app(base_config(tmp_path, CHOM_ENCRYPTION_KEYS=f"{new_key},{old_key}",
                                         INSTANCE_PATH=str(instance)))
    result = rotated_app.test_cli_runner().invoke(args=["chom", "rotate-keys"])
    assert result.exit_code == 0, result.output
    assert "sites.db_password_encrypted: 1 re-encrypted" in result.output
    assert "acme_account.key.enc: 1 re-encrypted" in result.output

    new_only, old_only = SecretBox([new_key]), SecretBox([old_key])
    with clean_app.app_context():
        site = db.session.scalar(select(Site).where(Site.id == wp["id"]))
        vps = db.session.scalar(select(VpsServer).where(VpsServer.id == local_vps["id"]))
        values = [site.db_password_encrypted, site.ssl_key_encrypted,
                  vps.ssh_private_key_encrypted,
                  Path(instance / "acme_account.key.enc").read_text()]
    assert [new_only.decrypt(v) for v in values] == [
        password, "tls private key", "-----BEGIN KEY-----", "acme account key"]
    for value in values:
        with pytest.raises(InvalidToken):
            old_only.decrypt(value)
    # Running it again is harmless.
    assert rotated_app.test_cli_runner().invoke(args=["chom", "rotate-keys"]).exit_code == 0
