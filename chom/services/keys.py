"""Secrets at rest: re-encrypting everything under the newest of `CHOM_ENCRYPTION_KEYS`.

Rotation without downtime: put the new key first in `CHOM_ENCRYPTION_KEYS` (old ones after it)
and restart, so new secrets use it while old ones still decrypt; run `flask chom rotate-keys`;
then drop the old keys.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from sqlalchemy import select

from chom.extensions import db
from chom.models import NotificationChannel, Site, User, VpsServer
from chom.models.scoping import unscoped

# Every encrypted column: (model, attribute).
ENCRYPTED_COLUMNS = (
    (Site, "db_password_encrypted"),
    (Site, "ssl_key_encrypted"),
    (VpsServer, "ssh_private_key_encrypted"),
    (User, "totp_secret_encrypted"),
    (NotificationChannel, "secret_encrypted"),
)
# Encrypted files in the instance folder.
ENCRYPTED_FILES = ("acme_account.key.enc",)
BATCH = 500


def rotate_encryption_keys() -> dict[str, int]:
    """Re-encrypt every secret under the newest key; returns how many per column and file.

    Safe to run again, and while the app serves: every value stays decryptable throughout.
    """
    box = current_app.extensions["chom_secrets"]
    counts: dict[str, int] = {}
    with unscoped():
        for model, attribute in ENCRYPTED_COLUMNS:
            column = getattr(model, attribute)
            name = f"{model.__tablename__}.{attribute}"
            counts[name] = 0
            last_id = None
            while True:
                query = select(model).where(column.is_not(None)).order_by(model.id).limit(BATCH)
                if last_id is not None:
                    query = query.where(model.id > last_id)
                rows = db.session.scalars(query).all()
                if not rows:
                    break
                for row in rows:
                    setattr(row, attribute, box.rotate(getattr(row, attribute)))
                db.session.commit()
                counts[name] += len(rows)
                last_id = rows[-1].id
    for filename in ENCRYPTED_FILES:
        path = Path(current_app.instance_path) / filename
        counts[filename] = 0
        if path.exists():
            path.write_text(box.rotate(path.read_text()))
            counts[filename] = 1
    return counts
