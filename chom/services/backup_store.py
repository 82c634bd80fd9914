"""The app's backup storage, built once per app from its settings."""

from __future__ import annotations

from flask import current_app

from chom.integration.backup_storage import DirectoryStorage, S3Storage, storage_from_config


def storage() -> S3Storage | DirectoryStorage:
    """S3 when `S3_BUCKET` is set, else the directory `CHOM_BACKUP_DIR`."""
    extensions = current_app.extensions
    if "chom_backup_storage" not in extensions:
        extensions["chom_backup_storage"] = storage_from_config(current_app.config)
    return extensions["chom_backup_storage"]
